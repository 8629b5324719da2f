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
import type { SegmentChanges } from '../profiles/apply';
import type { Profile } from '../profiles/profile';

export interface ProfileWrite {
  profile: Profile;
  /** When the store may forget the profile (ms since the epoch). */
  expiresAt: number;
  /** Segments entered and left by this update. */
  changes: SegmentChanges;
}

/**
 * Given the stored profile (undefined: none, or expired), says what to write (nothing when
 * `write` is absent) and what `update` resolves with. Must be pure: it may run more than once.
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
  close(): Promise<void>;
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
