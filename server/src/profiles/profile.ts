/**
 * A visitor's profile, keyed by uid in a store: trait counts by UTC day (so "in the last 7 days"
 * is exact to the day and the size is bounded by the longest window in the rules), the segments
 * of the last evaluation, when the visitor was last seen, and the event ids already counted.
 * Signals themselves are never part of a profile.
 *
 * Profiles are values: nothing changes one once it is made (the types are read-only). A call's
 * update makes a new profile that shares what did not change with the one before (copy on
 * write), so the memory store can keep profiles as objects, and a profile handed to a change
 * function is never altered by it.
 */
import { eventKey, EventIds } from './event-ids';

export { EventIds } from './event-ids';

export const DAY_MS = 86_400_000;

/** The UTC day number of a time (days since the epoch). */
export const dayOf = (ms: number): number => Math.floor(ms / DAY_MS);

/** UTC day number -> events that matched the trait that day. */
export type Buckets = ReadonlyMap<number, number>;
/** Trait id -> its buckets. */
export type TraitBuckets = ReadonlyMap<string, Buckets>;

export interface Profile {
  readonly traits: TraitBuckets;
  /** Segment ids from the last evaluation, in rules order. */
  readonly segments: readonly string[];
  /** Server time (ms since the epoch) of the last call. */
  readonly lastSeen: number;
  /** Event ids already counted and when (ms): the de-duplication window. */
  readonly seen: EventIds;
  /**
   * The fingerprint of the rules `segments` were evaluated with (Engine.fingerprint). With the
   * same rules on the same UTC day, only segments naming a trait counted since can change.
   * Absent in profiles written before it: their next call evaluates every segment.
   */
  readonly rules?: string;
}

export const emptyProfile = (): Profile => ({ traits: new Map(), segments: [], lastSeen: 0, seen: EventIds.empty });

/** Events in the `days` days ending with `today`: buckets today - days + 1 ... today. */
export function countWithin(buckets: Buckets, today: number, days: number): number {
  let n = 0;
  for (const [day, count] of buckets) if (day > today - days && day <= today) n += count;
  return n;
}

/** A copy that shares nothing with `p` (for callers outside the update path, e.g. a store's `get`). */
export const copyProfile = (p: Profile): Profile => decodeProfile(encodeProfile(p))!;

// Stored form: compact JSON with arrays instead of objects, so ids from the rules file or the
// network never become object keys (no `__proto__` surprises) and the text stays small.
// Version 3 keeps the event ids' keys (event-ids.ts: `eventKey`) as one string, with the rules
// fingerprint; version 2 (the same with the ids themselves) and version 1 (`e`: [id, time] pairs)
// are still read, their ids turned into keys, and rewritten as version 3 on the next call.
interface StoredV1 {
  v: 1;
  t: [string, [number, number][]][];
  s: string[];
  l: number;
  e: [string, number][];
}
interface Stored {
  v: 2 | 3;
  t: [string, [number, number][]][];
  s: readonly string[];
  l: number;
  /** The event ids' keys (version 2: the ids), in EventIds' stored form, and how many. */
  i: string;
  n: number;
  /** Profile.rules, when known. */
  r?: string;
}

export function encodeProfile(p: Profile): string {
  const stored: Stored = {
    v: 3,
    t: [...p.traits].map(([id, buckets]) => [id, [...buckets]]),
    s: p.segments,
    l: p.lastSeen,
    i: p.seen.toString(),
    n: p.seen.size,
    ...(p.rules !== undefined && { r: p.rules }),
  };
  return JSON.stringify(stored);
}

const isPair = <A, B>(x: unknown, a: (x: unknown) => x is A, b: (x: unknown) => x is B): x is [A, B] =>
  Array.isArray(x) && x.length == 2 && a(x[0]) && b(x[1]);
const isString = (x: unknown): x is string => typeof x == 'string';
const isNumber = (x: unknown): x is number => Number.isFinite(x);
const isBuckets = (x: unknown): x is [number, number][] =>
  Array.isArray(x) && x.every((b) => isPair(b, isNumber, isNumber));

/** Parses a stored profile (version 3, or 2 or 1 from before); undefined when the text is not one (the caller starts afresh). */
export function decodeProfile(text: string): Profile | undefined {
  let s: Partial<Stored> | Partial<StoredV1>;
  try {
    s = JSON.parse(text);
  } catch {
    return;
  }
  if (!s || (s.v !== 1 && s.v !== 2 && s.v !== 3) || !Array.isArray(s.t) || !Array.isArray(s.s) || !isNumber(s.l))
    return;
  if (!s.t.every((t) => isPair(t, isString, isBuckets)) || !s.s.every(isString)) return;
  let seen: EventIds | undefined;
  let rules: string | undefined;
  if (s.v == 1) {
    if (!Array.isArray(s.e) || !s.e.every((e) => isPair(e, isString, isNumber))) return;
    seen = keyed(s.e);
  } else {
    const v23 = s as Partial<Stored>;
    seen = EventIds.parse(v23.i, v23.n);
    if (seen && v23.v == 2) seen = keyed(seen);
    if (v23.r !== undefined && !isString(v23.r)) return;
    rules = v23.r;
  }
  if (!seen) return;
  return {
    traits: new Map(s.t.map(([id, buckets]) => [id, new Map(buckets)])),
    segments: s.s,
    lastSeen: s.l,
    seen,
    ...(rules !== undefined && { rules }),
  };
}

/** Ids remembered before version 3, as the keys version 3 remembers. */
const keyed = (pairs: Iterable<readonly [string, number]>) =>
  EventIds.fromPairs([...pairs].map(([id, at]) => [eventKey(id), at] as const));
