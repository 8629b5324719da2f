/**
 * A visitor's profile, keyed by uid in a store: trait counts by UTC day (so "in the last 7 days"
 * is exact to the day and the size is bounded by the longest window in the rules), the segments
 * of the last evaluation, when the visitor was last seen, and the event ids already counted.
 * Signals themselves are never part of a profile.
 */
export const DAY_MS = 86_400_000;

/** The UTC day number of a time (days since the epoch). */
export const dayOf = (ms: number): number => Math.floor(ms / DAY_MS);

/** UTC day number -> events that matched the trait that day. */
export type Buckets = Map<number, number>;
/** Trait id -> its buckets. */
export type TraitBuckets = Map<string, Buckets>;

export interface Profile {
  traits: TraitBuckets;
  /** Segment ids from the last evaluation, in rules order. */
  segments: string[];
  /** Server time (ms since the epoch) of the last call. */
  lastSeen: number;
  /** Event id -> when it was counted (ms): the de-duplication window. */
  seen: Map<string, number>;
}

export const emptyProfile = (): Profile => ({ traits: new Map(), segments: [], lastSeen: 0, seen: new Map() });

/** Events in the `days` days ending with `today`: buckets today - days + 1 ... today. */
export function countWithin(buckets: Buckets, today: number, days: number): number {
  let n = 0;
  for (const [day, count] of buckets) if (day > today - days && day <= today) n += count;
  return n;
}

// Stored form: compact JSON with arrays instead of objects, so ids from the rules file or the
// network never become object keys (no `__proto__` surprises) and the text stays small.
interface Stored {
  v: 1;
  t: [string, [number, number][]][];
  s: string[];
  l: number;
  e: [string, number][];
}

export function encodeProfile(p: Profile): string {
  const stored: Stored = {
    v: 1,
    t: [...p.traits].map(([id, buckets]) => [id, [...buckets]]),
    s: p.segments,
    l: p.lastSeen,
    e: [...p.seen],
  };
  return JSON.stringify(stored);
}

const isPair = <A, B>(x: unknown, a: (x: unknown) => x is A, b: (x: unknown) => x is B): x is [A, B] =>
  Array.isArray(x) && x.length == 2 && a(x[0]) && b(x[1]);
const isString = (x: unknown): x is string => typeof x == 'string';
const isNumber = (x: unknown): x is number => Number.isFinite(x);
const isBuckets = (x: unknown): x is [number, number][] =>
  Array.isArray(x) && x.every((b) => isPair(b, isNumber, isNumber));

/** Parses a stored profile; undefined when the text is not one (the caller starts afresh). */
export function decodeProfile(text: string): Profile | undefined {
  let s: Partial<Stored>;
  try {
    s = JSON.parse(text);
  } catch {
    return;
  }
  if (!s || s.v !== 1 || !Array.isArray(s.t) || !Array.isArray(s.s) || !isNumber(s.l) || !Array.isArray(s.e)) return;
  if (!s.t.every((t) => isPair(t, isString, isBuckets))) return;
  if (!s.s.every(isString) || !s.e.every((e) => isPair(e, isString, isNumber))) return;
  return {
    traits: new Map(s.t.map(([id, buckets]) => [id, new Map(buckets)])),
    segments: s.s,
    lastSeen: s.l,
    seen: new Map(s.e),
  };
}
