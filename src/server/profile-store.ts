/**
 * Visitor profiles keyed by uid. The interface is async and minimal so a SQLite or Redis store
 * can replace the memory one; callers serialize get/put per uid (see keyed-lock.ts).
 */
import type { TraitCounts } from './evaluate';

export interface Profile {
  /** Events that matched each trait, by trait id. Signals themselves are never stored. */
  counts: TraitCounts;
  /** Segment ids from the last evaluation, in rules-file order. */
  segments: string[];
  /** Server time (ms since the epoch) of the last call. */
  lastSeen: number;
}

export interface ProfileStore {
  get(uid: string): Promise<Profile | undefined>;
  put(uid: string, profile: Profile): Promise<void>;
}

export const DEFAULT_MAX_PROFILES = 100_000;

/** In-process store; forgets the least recently seen visitor once full. */
export class MemoryProfileStore implements ProfileStore {
  private readonly profiles = new Map<string, Profile>();

  constructor(readonly maxProfiles = DEFAULT_MAX_PROFILES) {}

  get size(): number {
    return this.profiles.size;
  }

  async get(uid: string): Promise<Profile | undefined> {
    return this.profiles.get(uid);
  }

  async put(uid: string, profile: Profile): Promise<void> {
    // Re-inserting moves the uid to the end of the Map's order: the first key is the stalest.
    this.profiles.delete(uid);
    this.profiles.set(uid, profile);
    if (this.profiles.size > this.maxProfiles) this.profiles.delete(this.profiles.keys().next().value!);
  }
}
