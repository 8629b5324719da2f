/**
 * In-process store (tests, demos, a single instance that may forget on restart). Profiles are
 * kept encoded, as the other stores keep them, so nothing outside can change a stored profile
 * and the memory store behaves exactly like the others. Bounded: once full, the least recently
 * updated visitor is forgotten.
 */
import { decodeProfile, encodeProfile, type Profile } from '../profiles/profile';
import type { Change, ProfileStore, StoreOptions } from './types';

export const DEFAULT_MAX_PROFILES = 100_000;

export interface MemoryStoreOptions extends StoreOptions {
  maxProfiles?: number;
}

export interface MemoryProfileStore extends ProfileStore {
  /** Profiles held now, expired ones included until they are touched. */
  readonly size: number;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryProfileStore {
  const now = options.now ?? Date.now;
  const max = options.maxProfiles ?? DEFAULT_MAX_PROFILES;
  const rows = new Map<string, { text: string; expiresAt: number }>();

  const read = (uid: string): Profile | undefined => {
    const row = rows.get(uid);
    if (!row) return;
    if (row.expiresAt <= now()) return void rows.delete(uid);
    return decodeProfile(row.text);
  };

  return {
    kind: 'memory',
    get size() {
      return rows.size;
    },
    async update<T>(uid: string, change: Change<T>): Promise<T> {
      // Synchronous from read to write: nothing can interleave for this uid.
      const { write, result } = change(read(uid));
      if (write) {
        // Re-inserting moves the uid to the end of the Map's order: the first key is the stalest.
        rows.delete(uid);
        rows.set(uid, { text: encodeProfile(write.profile), expiresAt: write.expiresAt });
        if (rows.size > max) rows.delete(rows.keys().next().value!);
      }
      return result;
    },
    async get(uid) {
      return read(uid);
    },
    async ping() {},
    async close() {},
  };
}
