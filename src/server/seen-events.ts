/**
 * Event ids already counted, per uid, so a resent event (same id after a retry or a reload) is
 * acknowledged but never counted twice. Bounded: the oldest ids are forgotten first.
 */
export const DEFAULT_SEEN_EVENTS = 10_000;

export class SeenEvents {
  private readonly keys = new Set<string>();

  constructor(readonly capacity = DEFAULT_SEEN_EVENTS) {}

  has(uid: string, eventId: string): boolean {
    return this.keys.has(key(uid, eventId));
  }

  add(uid: string, eventId: string): void {
    const k = key(uid, eventId);
    this.keys.delete(k);
    this.keys.add(k);
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.values().next().value!);
  }
}

// Neither part may contain a newline (both are validated against allowlists), so keys cannot collide.
const key = (uid: string, eventId: string) => `${uid}\n${eventId}`;
