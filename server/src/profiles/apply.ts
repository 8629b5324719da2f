/**
 * The profile update of one call, as a pure function of (rules, stored profile, events, now):
 * stores run it inside their per-uid transaction (and may run it again after a conflict), so
 * counting, de-duplication, expiry and qualification changes are decided in one place and
 * persisted together. Private (`p_`) signals are matched here and go no further.
 */
import type { WireEvent } from 'segtag/protocol';
import type { Engine } from '../rules/compile';
import { DAY_MS, dayOf, emptyProfile, type Buckets, type Profile, type TraitBuckets } from './profile';

/** Event ids kept per visitor for de-duplication: the most recent `maxIds`, none older than `maxAgeMs`. */
export interface DedupWindow {
  maxIds: number;
  maxAgeMs: number;
}
export const DEDUP_WINDOW: DedupWindow = { maxIds: 500, maxAgeMs: 7 * DAY_MS };

/** Segment membership changes of one update: what a delivery outbox records. */
export interface SegmentChanges {
  entered: string[];
  exited: string[];
}

export interface Applied {
  profile: Profile;
  /** When a store may forget the profile: its buckets have left every window and its event ids the de-duplication window. */
  expiresAt: number;
  segments: string[];
  changes: SegmentChanges;
  /** Distinct ids of the call's events, in request order (including ones seen before). */
  ack: string[];
  counted: number;
  duplicates: number;
}

/**
 * Counts the call's new events toward the traits they match (on today's bucket), drops what no
 * rule can look at any more, and evaluates the segments. An event with an empty id (an `/event`
 * call, which has none) is always counted and never remembered.
 */
export function applyEvents(
  engine: Engine,
  before: Profile | undefined,
  events: readonly WireEvent[],
  now: number,
  dedup: DedupWindow = DEDUP_WINDOW,
): Applied {
  const today = dayOf(now);
  const oldest = today - engine.keepDays; // this bucket and older count in no window

  // Copies: the caller's profile is never changed (a store may run this again on fresh data).
  const traits: TraitBuckets = new Map();
  for (const [id, buckets] of before?.traits ?? []) {
    if (!engine.hasTrait(id)) continue; // a trait the rules no longer define
    const kept: Buckets = new Map();
    // A bucket after today (another server's clock is ahead) is kept; it counts once its day comes.
    for (const [day, n] of buckets) if (day > oldest) kept.set(day, n);
    if (kept.size) traits.set(id, kept);
  }
  const seen = new Map<string, number>();
  for (const [id, at] of before?.seen ?? []) if (at > now - dedup.maxAgeMs) seen.set(id, at);

  const ack: string[] = [];
  const inCall = new Set<string>();
  let counted = 0;
  let duplicates = 0;
  for (const event of events) {
    if (event.id) {
      if (inCall.has(event.id)) continue; // the same id twice in one call counts once
      inCall.add(event.id);
      ack.push(event.id);
      if (seen.has(event.id)) {
        duplicates++;
        continue;
      }
      seen.set(event.id, now);
    }
    counted++;
    for (const id of engine.traitsFor(event)) {
      let buckets = traits.get(id);
      if (!buckets) traits.set(id, (buckets = new Map()));
      buckets.set(today, (buckets.get(today) ?? 0) + 1);
    }
  }
  // Map order is insertion order: drop the oldest ids beyond the cap.
  for (const id of seen.keys()) {
    if (seen.size <= dedup.maxIds) break;
    seen.delete(id);
  }

  const segments = engine.segmentsFor(traits, today);
  const previous = new Set(before?.segments ?? []);
  const current = new Set(segments);
  const changes = {
    entered: segments.filter((s) => !previous.has(s)),
    exited: [...previous].filter((s) => !current.has(s)),
  };
  const expiresAt = Math.max((today + engine.keepDays) * DAY_MS, now + dedup.maxAgeMs);
  return {
    profile: { ...emptyProfile(), traits, segments, lastSeen: now, seen },
    expiresAt,
    segments,
    changes,
    ack,
    counted,
    duplicates,
  };
}
