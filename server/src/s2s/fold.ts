/**
 * Folds outbox rows into one entry per visitor with the visitor's latest state: a segment
 * entered and then left in the same range is reported as removed only, never as both.
 */
import { wants } from '../rules/partners';
import type { PartnerSegments } from '../rules/types';
import type { OutboxRow } from '../stores/types';

/** One visitor in a real-time message or an incremental batch file. */
export interface UserChange {
  uid: string;
  segments: { added: string[]; removed: string[] };
  /** When the latest of the folded changes happened (ms since the epoch). */
  ts: number;
}

export interface Folder {
  /** Adds a row; false (and nothing added) when it would make more than `maxUsers` visitors. */
  add(row: OutboxRow): boolean;
  readonly users: UserChange[];
}

export function createFolder(segments: PartnerSegments, maxUsers = Infinity): Folder {
  const byUid = new Map<string, { added: Set<string>; removed: Set<string>; ts: number }>();
  return {
    add(row) {
      const entered = row.entered.filter((s) => wants(segments, s));
      const exited = row.exited.filter((s) => wants(segments, s));
      if (!entered.length && !exited.length) return true; // nothing for this partner
      let u = byUid.get(row.uid);
      if (!u) {
        if (byUid.size >= maxUsers) return false;
        byUid.set(row.uid, (u = { added: new Set(), removed: new Set(), ts: row.at }));
      }
      for (const s of entered) {
        u.removed.delete(s);
        u.added.add(s);
      }
      for (const s of exited) {
        u.added.delete(s);
        u.removed.add(s);
      }
      u.ts = Math.max(u.ts, row.at);
      return true;
    },
    get users() {
      return [...byUid].map(([uid, u]) => ({
        uid,
        segments: { added: [...u.added], removed: [...u.removed] },
        ts: u.ts,
      }));
    },
  };
}
