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
  segments: {
    added: string[];
    removed: string[];
    /** All the partner's segments the visitor is in after the latest folded change. */
    current: string[];
  };
  /** When the latest of the folded changes happened (ms since the epoch). */
  ts: number;
  /** The visitor's version after the latest folded change: partners keep the highest per visitor. */
  v: number;
}

export interface Folder {
  /** Adds a row; false (and nothing added) when it would make more than `maxUsers` visitors. */
  add(row: OutboxRow): boolean;
  readonly users: UserChange[];
}

export function createFolder(segments: PartnerSegments, maxUsers = Infinity): Folder {
  const byUid = new Map<
    string,
    { added: Set<string>; removed: Set<string>; ts: number; v: number; current: string[] }
  >();
  return {
    add(row) {
      const entered = row.entered.filter((s) => wants(segments, s));
      const exited = row.exited.filter((s) => wants(segments, s));
      if (!entered.length && !exited.length) return true; // nothing for this partner
      let u = byUid.get(row.uid);
      if (!u) {
        if (byUid.size >= maxUsers) return false;
        byUid.set(row.uid, (u = { added: new Set(), removed: new Set(), ts: row.at, v: row.v, current: [] }));
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
      // Rows come in seq order, which is each visitor's version order.
      if (row.v >= u.v) {
        u.v = row.v;
        u.current = row.segments.filter((s) => wants(segments, s));
      }
      return true;
    },
    get users() {
      return [...byUid].map(([uid, u]) => ({
        uid,
        segments: { added: [...u.added], removed: [...u.removed], current: u.current },
        ts: u.ts,
        v: u.v,
      }));
    },
  };
}
