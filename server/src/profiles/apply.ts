/**
 * The profile update of one call, as a pure function of (rules, stored profile, events, now):
 * stores run it inside their per-uid transaction (and may run it again after a conflict), so
 * counting, de-duplication, expiry and qualification changes are decided in one place and
 * persisted together. Private (`p_`) signals are matched here and go no further.
 */
import type { WireEvent } from 'segtag/protocol';
import type { Engine } from '../rules/compile';
import { eventKey, type IdBounds } from './event-ids';
import { DAY_MS, dayOf, EventIds, type Buckets, type Profile } from './profile';
import { TraitCounts } from './trait-counts';

/**
 * Event ids kept per visitor for de-duplication (as keys: event-ids.ts): the most recent
 * `maxIds`, none older than `maxAgeMs`, at most `maxChars` characters of stored form (bytes: keys
 * are ASCII). A key with its time takes 21 characters, so 500 take about 10,500.
 */
export type DedupWindow = IdBounds;
export const DEDUP_WINDOW: DedupWindow = { maxIds: 500, maxAgeMs: 7 * DAY_MS, maxChars: 24_576 };

/** Segment membership changes of one update: what a delivery outbox records. */
export interface SegmentChanges {
  entered: string[];
  exited: string[];
}

export interface Applied {
  profile: Profile;
  /** When a store may forget the profile: its buckets have left every window and its event ids the de-duplication window. */
  expiresAt: number;
  /** The segments the visitor is in (never changed: it may be the profile's own list). */
  segments: readonly string[];
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
  // The same rules earlier the same UTC day: no bucket has left a window since, and only the
  // segments naming a trait counted now can change.
  const sameDay = !!before && before.rules === engine.fingerprint && dayOf(before.lastSeen) == today;
  const kept = sameDay ? TraitCounts.of(before.traits) : TraitCounts.of(keptTraits(engine, before, today));

  let seen = (before?.seen ?? EventIds.empty).trimmed(now, dedup);
  const ack: string[] = [];
  const inCall = new Set<string>();
  const fresh: string[] = []; // keys of the ids to remember
  const changed = new Map<string, Buckets>(); // traits counted in this call -> their new buckets
  let counted = 0;
  let duplicates = 0;
  for (const event of events) {
    if (event.id) {
      if (inCall.has(event.id)) continue; // the same id twice in one call counts once
      inCall.add(event.id);
      ack.push(event.id);
      const key = eventKey(event.id);
      if (seen.has(key)) {
        duplicates++;
        continue;
      }
      fresh.push(key);
    }
    counted++;
    for (const id of engine.traitsFor(event)) changed.set(id, plusOne(changed.get(id) ?? kept.get(id), today));
  }
  if (fresh.length) seen = seen.with(fresh, now, dedup);

  const traits = kept.with(changed);
  const evaluated = sameDay
    ? engine.segmentsSince(traits, today, { previous: before.segments, counts: kept, changed: changed.keys() })
    : undefined;
  const segments = evaluated?.segments ?? engine.segmentsFor(traits, today);
  const changes = evaluated
    ? { entered: evaluated.entered, exited: evaluated.exited }
    : segmentChanges(before?.segments ?? [], segments);
  const expiresAt = Math.max((today + engine.keepDays) * DAY_MS, now + dedup.maxAgeMs);
  return {
    profile: { traits, segments, lastSeen: now, seen, rules: engine.fingerprint },
    expiresAt,
    segments,
    changes,
    ack,
    counted,
    duplicates,
  };
}

/** The buckets some window can still count, of traits the rules define (new maps: the profile's are never changed). */
function keptTraits(engine: Engine, before: Profile | undefined, today: number): Map<string, Buckets> {
  const oldest = today - engine.keepDays; // this bucket and older count in no window
  const traits = new Map<string, Buckets>();
  for (const [id, buckets] of before?.traits ?? []) {
    if (!engine.hasTrait(id)) continue; // a trait the rules no longer define
    const kept = new Map<number, number>();
    // A bucket after today (another server's clock is ahead) is kept; it counts once its day comes.
    for (const [day, n] of buckets) if (day > oldest) kept.set(day, n);
    if (kept.size) traits.set(id, kept);
  }
  return traits;
}

/** `buckets` with one more event today, as a new map (copy on write: the old one may be shared). */
function plusOne(buckets: Buckets | undefined, today: number): Buckets {
  const next = new Map(buckets);
  next.set(today, (next.get(today) ?? 0) + 1);
  return next;
}

/** Segments entered and exited from `before` to `after`; most calls change nothing, which costs no sets. */
function segmentChanges(before: readonly string[], after: readonly string[]): SegmentChanges {
  if (before === after || (before.length == after.length && before.every((s, i) => s === after[i])))
    return { entered: [], exited: [] };
  const was = new Set(before);
  const is = new Set(after);
  return { entered: after.filter((s) => !was.has(s)), exited: before.filter((s) => !is.has(s)) };
}
