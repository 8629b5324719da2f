/**
 * Where profiles live. One interface, three stores (memory, sqlite, redis), one contract test
 * suite (test/server-stores.test.ts).
 *
 * The store owns persistence and atomicity: `update` reads a uid's profile, runs the caller's
 * pure `change` on it and writes what it returns, as one unit per uid — also across processes
 * for the shared stores (a SQLite transaction; a compare-and-set script in Redis). Everything an
 * update decides travels in the `ProfileWrite`, including the segment changes, so a durable
 * delivery outbox can be written in the same transaction as the profile.
 */
import type { Redis } from 'ioredis';
import type { SegmentChanges } from '../profiles/apply';
import type { Profile } from '../profiles/profile';

export interface ProfileWrite {
  profile: Profile;
  /** When the store may forget the profile (ms since the epoch). */
  expiresAt: number;
  /** Segments entered and left by this update. */
  changes: SegmentChanges;
  /**
   * The changes server-to-server partners receive (the segments some partner maps):
   * written to the outbox in the same transaction as the profile. Absent or empty: no row.
   */
  deliver?: SegmentChanges;
}

/** One outbox row: a visitor's segment changes from one update, in write order. */
export interface OutboxRow {
  /** Increases with every row and is never reused, also after rows are pruned. */
  seq: number;
  uid: string;
  entered: string[];
  exited: string[];
  /** When the update happened (ms since the epoch). */
  at: number;
  /**
   * The visitor's version after this update: increases with every write of the visitor's
   * profile and never goes back, also after the store lost its data (`max(previous + 1,
   * now * 1000)`). Partners keep the entry with the highest version per visitor.
   */
  v: number;
  /** All the visitor's segments after this update (partners receive the ones they map). */
  segments: string[];
  /**
   * The outbox epoch the row was written in: a random id the store creates with its outbox and
   * creates anew when it lost its data (a Redis restart without persistence), so seqs that start
   * again at 1 never make a message id that was used before.
   */
  epoch: string;
}

/** Proof of holding a partner's lease, checked by the store when delivery state is committed. */
export interface Fence {
  /** The lease name (the partner id). */
  name: string;
  /** This process's owner id. */
  owner: string;
  /** The fencing token the lease was granted with (increases with every new grant). */
  token: number;
}

/** A commit was refused: the lease it was made under is no longer held by this owner and token. */
export class LeaseLostError extends Error {
  constructor(name: string) {
    super(`the lease on "${name}" was lost: another instance delivers it now`);
    this.name = 'LeaseLostError';
  }
}

export interface SegmentsPage {
  rows: { uid: string; segments: string[] }[];
  next?: string;
  mayRepeat?: boolean;
}

/** A message that failed every retry, kept until `segtag-server s2s retry PARTNER` delivers it. */
export interface DeadLetter {
  partner: string;
  /** The message id (the partner de-duplicates on it). */
  id: string;
  /** The message body as it was sent. */
  body: string;
  error: string;
  at: number;
}

/**
 * The durable side of server-to-server delivery, kept in the profile store so an outbox row is
 * committed with the profile change that caused it. Partners keep a cursor (the last seq
 * they are done with) and other small state under string keys.
 */
export interface Outbox {
  /** Up to `limit` rows with seq > `afterSeq`, oldest first. */
  after(afterSeq: number, limit: number): Promise<OutboxRow[]>;
  /** The highest seq written so far (0: none). */
  lastSeq(): Promise<number>;
  /** How many rows have seq > `afterSeq`, and when the oldest of them was written. */
  pending(afterSeq: number): Promise<{ count: number; oldestAt?: number }>;
  /** Forgets rows with seq <= `upTo` (every partner is done with them). */
  prune(upTo: number): Promise<void>;
  getState(key: string): Promise<string | undefined>;
  /**
   * Sets a state value and, in the same transaction, records a dead letter when given. With a
   * `fence`, the write happens only while the lease is still held by that owner with that token
   * (checked atomically with the write); otherwise it rejects with LeaseLostError.
   */
  setState(key: string, value: string, dead?: DeadLetter, fence?: Fence): Promise<void>;
  /**
   * Takes or renews the lease `name` for `owner` for `ttlMs`: resolves with the fencing token
   * (a new, higher one when the lease is newly granted; the same one on renewal), or 0 while
   * another owner holds it.
   */
  lease(name: string, owner: string, ttlMs: number): Promise<number>;
  /** Gives the lease up when `owner` holds it (a clean stop: another instance takes over at once). */
  releaseLease(name: string, owner: string): Promise<void>;
  /** Who holds the lease now (`owner`), if anyone. */
  leaseHolder(name: string): Promise<string | undefined>;
  /** The outbox's current epoch (see OutboxRow.epoch). */
  epoch(): Promise<string>;
  deadLetters(partner: string): Promise<DeadLetter[]>;
  removeDeadLetter(partner: string, id: string): Promise<void>;
  /**
   * Pages through live profiles' segments: start with cursor `''`, pass the `next` returned,
   * stop when it is undefined. `mayRepeat`: a visitor can appear on two pages (Redis SCAN).
   */
  segmentsPage(cursor: string, limit: number): Promise<SegmentsPage>;
}

/**
 * Given the stored profile (undefined: none, or expired), says what to write (nothing when
 * `write` is absent) and what `update` resolves with. Must be pure: it may run more than once,
 * and it never changes `current` (the memory store hands it the stored object itself); the
 * profile it writes is the store's from then on, and nothing changes it afterwards either.
 */
export type Change<T> = (current: Profile | undefined) => { write?: ProfileWrite; result: T };

export interface ProfileStore {
  /** `memory`, `sqlite` or `redis`, for logs. */
  readonly kind: string;
  update<T>(uid: string, change: Change<T>): Promise<T>;
  /** The stored profile, or undefined when there is none or it expired. */
  get(uid: string): Promise<Profile | undefined>;
  /** Resolves when the store answers; rejects with StoreUnavailableError when it does not. */
  ping(): Promise<void>;
  /** Settings of the store that delivery needs and that are missing, as warnings naming them (Redis). */
  checkSettings?(): Promise<string[]>;
  close(): Promise<void>;
  /** Server-to-server delivery state; absent when the store cannot keep one. */
  readonly outbox?: Outbox;
  /**
   * The Redis store's connection and key prefix, so the server keeps its rate-limit counts there
   * too (shared by every instance); absent for the other stores.
   */
  readonly redis?: { client: Redis; prefix: string };
}

/** The store cannot be reached or failed to read or write: the server answers 503 and the client retries. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

export interface StoreOptions {
  /** The clock used for expiry (tests inject one). Default Date.now. */
  now?: () => number;
}
