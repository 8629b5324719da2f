/**
 * In-process store (tests, demos, a single instance that may forget on restart). Profiles are
 * kept as the objects updates write (no JSON per call). That is safe because profiles are values
 * (profiles/profile.ts): a change function gets the stored profile and makes a new one, sharing
 * what did not change, and never alters the one it got; `get`, for everyone else, answers a copy,
 * so nothing outside can change a stored profile. Bounded: once full, the least recently updated
 * visitor is forgotten.
 */
import { copyProfile, type Profile } from '../profiles/profile';
import { randomBytes } from 'node:crypto';
import {
  LeaseLostError,
  type Change,
  type DeadLetter,
  type Outbox,
  type OutboxRow,
  type ProfileStore,
  type StoreOptions,
} from './types';

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
  const rows = new Map<string, { profile: Profile; expiresAt: number; v: number }>();
  const epoch = randomBytes(6).toString('hex');
  const leases = new Map<string, { owner: string; token: number; until: number }>();
  let tokens = 0;
  const holds = (name: string, owner: string, token?: number) => {
    const l = leases.get(name);
    return !!l && l.until > now() && l.owner == owner && (token === undefined || l.token == token);
  };
  const outboxRows: OutboxRow[] = [];
  let lastSeq = 0;
  const state = new Map<string, string>();
  const dead = new Map<string, DeadLetter>();
  const deadKey = (partner: string, id: string) => `${partner}\n${id}`;

  const read = (uid: string): Profile | undefined => {
    const row = rows.get(uid);
    if (!row) return;
    if (row.expiresAt <= now()) return void rows.delete(uid);
    return row.profile;
  };

  const firstAfter = (seq: number) => {
    let i = 0; // rows are in seq order; a binary search keeps large backlogs cheap
    let j = outboxRows.length;
    while (i < j) {
      const m = (i + j) >> 1;
      if (outboxRows[m].seq <= seq) i = m + 1;
      else j = m;
    }
    return i;
  };
  const outbox: Outbox = {
    async after(afterSeq, limit) {
      const i = firstAfter(afterSeq);
      return outboxRows
        .slice(i, i + limit)
        .map((r) => ({ ...r, entered: [...r.entered], exited: [...r.exited], segments: [...r.segments] }));
    },
    async lastSeq() {
      return lastSeq;
    },
    async pending(afterSeq) {
      const i = firstAfter(afterSeq);
      return { count: outboxRows.length - i, oldestAt: outboxRows[i]?.at };
    },
    async prune(upTo) {
      outboxRows.splice(0, firstAfter(upTo));
    },
    async getState(key) {
      return state.get(key);
    },
    async setState(key, value, letter, fence) {
      if (fence && !holds(fence.name, fence.owner, fence.token)) throw new LeaseLostError(fence.name);
      state.set(key, value);
      if (letter) dead.set(deadKey(letter.partner, letter.id), { ...letter });
    },
    async deadLetters(partner) {
      return [...dead.values()].filter((d) => d.partner == partner).map((d) => ({ ...d }));
    },
    async removeDeadLetter(partner, id) {
      dead.delete(deadKey(partner, id));
    },
    async lease(name, owner, ttlMs) {
      const l = leases.get(name);
      if (l && l.until > now() && l.owner != owner) return 0;
      const token = l && l.until > now() ? l.token : ++tokens;
      leases.set(name, { owner, token, until: now() + ttlMs });
      return token;
    },
    async releaseLease(name, owner) {
      if (holds(name, owner)) leases.delete(name);
    },
    async leaseHolder(name) {
      const l = leases.get(name);
      return l && l.until > now() ? l.owner : undefined;
    },
    async epoch() {
      return epoch;
    },
    async segmentsPage(cursor, limit) {
      const out: { uid: string; segments: string[] }[] = [];
      const uids = [...rows.keys()]
        .filter((u) => u > cursor)
        .sort()
        .slice(0, limit);
      for (const uid of uids) {
        const p = read(uid);
        if (p) out.push({ uid, segments: [...p.segments] });
      }
      return { rows: out, next: uids.length == limit ? uids[uids.length - 1] : undefined };
    },
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
        const v = Math.max((rows.get(uid)?.v ?? 0) + 1, now() * 1000);
        rows.delete(uid);
        rows.set(uid, { profile: write.profile, expiresAt: write.expiresAt, v });
        if (rows.size > max) rows.delete(rows.keys().next().value!);
        const d = write.deliver;
        if (d && (d.entered.length || d.exited.length)) {
          outboxRows.push({
            seq: ++lastSeq,
            uid,
            entered: [...d.entered],
            exited: [...d.exited],
            at: now(),
            v,
            segments: [...write.profile.segments],
            epoch,
          });
        }
      }
      return result;
    },
    async get(uid) {
      const profile = read(uid);
      return profile && copyProfile(profile);
    },
    async ping() {},
    async close() {},
    outbox,
  };
}
