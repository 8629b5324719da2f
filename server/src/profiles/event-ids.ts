/**
 * The event ids a profile remembers for de-duplication, in a compact, immutable form: one string
 * of entries `,<id> <time in base 36>`, oldest first. Checking an id is one substring search and
 * remembering more is one concatenation, so a visitor with 500 remembered ids costs about what a
 * new one does: nothing is parsed into a Map or copied entry by entry on each call, and the stored
 * form is that same string (one JSON string, nothing to escape).
 *
 * Ids are those of protocol v1 (`EVENT_ID`: no `,` and no space, so an entry can never match
 * across its neighbours); an id with either character is never remembered.
 */
const SEP = ',';
const TIME = ' ';

/** The bound on what is remembered: the most recent `maxIds`, none older than `maxAgeMs`, at most `maxChars` in all. */
export interface IdBounds {
  maxIds: number;
  maxAgeMs: number;
  maxChars: number;
}

export class EventIds implements Iterable<[string, number]> {
  static readonly empty = new EventIds('', 0);

  /** `text`: entries oldest first; `size`: how many. */
  private constructor(
    private readonly text: string,
    readonly size: number,
  ) {}

  /** From `[id, time]` pairs, oldest first (the stored form before version 2). */
  static fromPairs(pairs: Iterable<readonly [string, number]>): EventIds {
    let text = '';
    let size = 0;
    for (const [id, at] of pairs) {
      if (!EventIds.canRemember(id) || !Number.isFinite(at)) continue;
      text += entry(id, at);
      size++;
    }
    return new EventIds(text, size);
  }

  /** From the stored form; undefined when it is not one. */
  static parse(text: unknown, size: unknown): EventIds | undefined {
    if (typeof text != 'string' || !Number.isSafeInteger(size) || (size as number) < 0) return;
    if (text ? !text.startsWith(SEP) : size !== 0) return;
    return new EventIds(text, size as number);
  }

  static canRemember(id: string): boolean {
    return id != '' && !id.includes(SEP) && !id.includes(TIME);
  }

  /** The stored form (with `size`). */
  toString(): string {
    return this.text;
  }

  /** Characters the stored form takes (ASCII: also its bytes). */
  get chars(): number {
    return this.text.length;
  }

  has(id: string): boolean {
    return EventIds.canRemember(id) && this.text.includes(SEP + id + TIME);
  }

  /** When the id was remembered (ms), if it is. */
  get(id: string): number | undefined {
    if (!EventIds.canRemember(id)) return;
    const at = this.text.indexOf(SEP + id + TIME);
    return at < 0 ? undefined : timeOf(this.text, at);
  }

  /** These ids remembered at `at` (callers pass ids not remembered yet), then trimmed to `bounds` as of `at`. */
  with(ids: readonly string[], at: number, bounds: IdBounds): EventIds {
    let text = this.text;
    let size = this.size;
    for (const id of ids) {
      if (!EventIds.canRemember(id)) continue;
      text += entry(id, at);
      size++;
    }
    return EventIds.trim(text, size, at - bounds.maxAgeMs, bounds);
  }

  /** Forgets ids remembered at or before `oldest` and the oldest beyond the bounds. */
  trimmed(now: number, bounds: IdBounds): EventIds {
    return EventIds.trim(this.text, this.size, now - bounds.maxAgeMs, bounds);
  }

  /**
   * Drops entries from the front (the oldest): while the first was remembered at or before
   * `oldest`, and while there are more than `maxIds` or more than `maxChars` characters. Only the
   * dropped entries are looked at. (Entries are in the order they were remembered; with clocks
   * that disagree between servers an entry can outlive the 7 days by that disagreement.)
   */
  private static trim(text: string, size: number, oldest: number, { maxIds, maxChars }: IdBounds): EventIds {
    let start = 0;
    while (start < text.length) {
      const time = timeOf(text, start);
      const tooOld = !(time > oldest);
      if (!tooOld && size <= maxIds && text.length - start <= maxChars) break;
      const next = text.indexOf(SEP, start + 1);
      start = next < 0 ? text.length : next;
      size--;
    }
    return start == 0
      ? new EventIds(text, size)
      : start >= text.length
        ? EventIds.empty
        : new EventIds(text.slice(start), size);
  }

  *[Symbol.iterator](): Iterator<[string, number]> {
    for (let at = 0; at < this.text.length; at = this.next(at)) {
      const space = this.text.indexOf(TIME, at);
      yield [this.text.slice(at + 1, space), timeOf(this.text, at)];
    }
  }

  private next(at: number): number {
    const i = this.text.indexOf(SEP, at + 1);
    return i < 0 ? this.text.length : i;
  }
}

const entry = (id: string, at: number) => SEP + id + TIME + Math.trunc(at).toString(36);

/** The time of the entry starting at `at` (NaN when unreadable: then it counts as expired). */
function timeOf(text: string, at: number): number {
  const space = text.indexOf(TIME, at);
  let end = text.indexOf(SEP, space);
  if (end < 0) end = text.length;
  return space < 0 ? NaN : parseInt(text.slice(space + 1, end), 36);
}
