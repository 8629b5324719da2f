/**
 * The embedded store: one SQLite file (better-sqlite3 12, WAL). Profiles survive restarts.
 * Updates are committed in groups: those asked for in one turn of the event loop run, one after
 * the other, in one `BEGIN IMMEDIATE` transaction at the end of that turn (group commit), and
 * each resolves only once that transaction has committed, so no answer goes out before its
 * write is in the file. One transaction per turn instead of one per call: under load most of
 * a transaction's cost (taking the write lock, appending the commit to the WAL) is shared.
 * It is atomic per uid even when several processes open the same file (they then wait on each
 * other's writes: for several instances, Redis is the better fit). The server-to-server outbox
 * row is written in the same transaction as its profile.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { decodeProfile, encodeProfile, type Profile } from '../profiles/profile';
import {
  LeaseLostError,
  StoreUnavailableError,
  type Change,
  type DeadLetter,
  type Fence,
  type Outbox,
  type ProfileStore,
  type StoreOptions,
} from './types';

export interface SqliteStoreOptions extends StoreOptions {
  /** How often expired profiles are deleted (ms). Default 10 minutes. */
  purgeEveryMs?: number;
  /** Called after each group of updates has committed, with how many it held (tests, diagnostics). */
  onCommit?: (updates: number) => void;
}

/** An update waiting for its group's transaction. */
interface Pending {
  uid: string;
  change: Change<unknown>;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * 2: the server-to-server tables; 3: `dead_letters.destination` renamed to `partner`;
 * 4: visitor versions (`profiles.v`, `outbox.v`), `outbox.segments`, leases, the outbox epoch.
 */
const SCHEMA_VERSION = 4;
const PURGE_BATCH = 10_000;

async function loadDriver(): Promise<typeof BetterSqlite3> {
  try {
    return (await import('better-sqlite3')).default;
  } catch (e) {
    // A dependency of segtag-server, so a failure here is a broken install (its native addon).
    throw new Error(`the sqlite store cannot load better-sqlite3 (reinstall segtag-server): ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** Opens (creating when needed) the database file at `path`; `:memory:` for a private in-memory one. */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<ProfileStore> {
  const Database = await loadDriver();
  const now = options.now ?? Date.now;
  let db: BetterSqlite3.Database;
  try {
    if (path != ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { timeout: 5000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db);
  } catch (e) {
    throw new StoreUnavailableError(`cannot open the SQLite database ${path}: ${(e as Error).message}`, { cause: e });
  }

  const select = db.prepare<[string], { data: string; expires_at: number; v: number }>(
    'SELECT data, expires_at, v FROM profiles WHERE uid = ?',
  );
  const upsert = db.prepare<[string, string, number, number]>(
    'INSERT INTO profiles (uid, data, expires_at, v) VALUES (?, ?, ?, ?) ' +
      'ON CONFLICT (uid) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at, v = excluded.v',
  );
  const purge = db.prepare<[number, number]>(
    'DELETE FROM profiles WHERE uid IN (SELECT uid FROM profiles WHERE expires_at <= ? LIMIT ?)',
  );

  const live = (row: { data: string; expires_at: number } | undefined): Profile | undefined =>
    row && row.expires_at > now() ? decodeProfile(row.data) : undefined;
  const read = (uid: string): Profile | undefined => live(select.get(uid));
  const insertOutbox = db.prepare<[string, string, string, number, number, string]>(
    'INSERT INTO outbox (uid, entered, exited, at, v, segments) VALUES (?, ?, ?, ?, ?, ?)',
  );
  /** One update inside the group's transaction: read the row, run the change, write what it says. */
  const updateRow = (uid: string, change: Change<unknown>) => {
    const row = select.get(uid); // one read: the profile and its version
    const { write, result } = change(live(row));
    if (write) {
      // The visitor's version: never goes back, also when the file was replaced by an empty one.
      const v = Math.max((row?.v ?? 0) + 1, now() * 1000);
      upsert.run(uid, encodeProfile(write.profile), write.expiresAt, v);
      // The outbox row commits with the profile, or neither does.
      const d = write.deliver;
      if (d && (d.entered.length || d.exited.length)) {
        insertOutbox.run(
          uid,
          JSON.stringify(d.entered),
          JSON.stringify(d.exited),
          now(),
          v,
          JSON.stringify(write.profile.segments),
        );
      }
    }
    return result;
  };
  /**
   * Runs a group in one transaction. A change that throws (a bug, not the database) fails its own
   * call only: it throws before its update wrote anything. A database error fails the whole
   * group: the transaction rolls back and every call in it is answered 503.
   */
  const runGroup = db.transaction((group: Pending[]) =>
    group.map(({ uid, change }) => {
      try {
        return { ok: true as const, value: updateRow(uid, change) };
      } catch (error) {
        if (error instanceof Database.SqliteError) throw error;
        return { ok: false as const, error };
      }
    }),
  );
  let queue: Pending[] = [];
  const flush = () => {
    const group = queue;
    queue = [];
    if (!group.length) return; // close() committed it already
    let outcomes;
    try {
      outcomes = guard(() => runGroup.immediate(group));
    } catch (error) {
      for (const p of group) p.reject(error);
      return;
    }
    // Committed: now every call of the group may answer.
    options.onCommit?.(group.length);
    outcomes.forEach((o, i) => (o.ok ? group[i].resolve(o.value) : group[i].reject(o.error)));
  };
  const outbox = sqliteOutbox(db, now, <T>(step: () => T) => guard(step));

  /** Runs a database step; SQLite's own failures (disk full, I/O, locked too long) become StoreUnavailableError. */
  const guard = <T>(step: () => T): T => {
    try {
      return step();
    } catch (e) {
      if (e instanceof Database.SqliteError) throw new StoreUnavailableError(`sqlite: ${e.message}`, { cause: e });
      throw e;
    }
  };

  const purgeExpired = () => {
    try {
      while (purge.run(now(), PURGE_BATCH).changes == PURGE_BATCH);
    } catch {
      // Retried at the next interval; reads ignore expired rows meanwhile.
    }
  };
  purgeExpired();
  const timer = setInterval(purgeExpired, options.purgeEveryMs ?? 10 * 60_000);
  timer.unref();

  return {
    kind: 'sqlite',
    update<T>(uid: string, change: Change<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        // The first update of a turn schedules the group's commit after the turn's I/O callbacks,
        // so the calls whose requests arrived in this turn join it.
        if (!queue.length) setImmediate(flush);
        queue.push({ uid, change: change as Change<unknown>, resolve: resolve as (r: unknown) => void, reject });
      });
    },
    async get(uid) {
      return guard(() => read(uid));
    },
    async ping() {
      guard(() => db.prepare('SELECT 1').get());
    },
    async close() {
      clearInterval(timer);
      if (queue.length && db.open) flush(); // updates asked for before close still commit
      if (db.open) db.close();
    },
    outbox,
  };
}

function sqliteOutbox(db: BetterSqlite3.Database, now: () => number, guard: <T>(step: () => T) => T): Outbox {
  type Row = { seq: number; uid: string; entered: string; exited: string; at: number; v: number; segments: string };
  const after = db.prepare<[number, number], Row>(
    'SELECT seq, uid, entered, exited, at, v, segments FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?',
  );
  const epoch = db.prepare<[], { value: string }>("SELECT value FROM s2s_state WHERE key = 'outbox:epoch'").get()!
    .value;
  type Lease = { owner: string; token: number; until: number };
  const getLease = db.prepare<[string], Lease>('SELECT owner, token, until FROM leases WHERE name = ?');
  const putLease = db.prepare<[string, string, number, number]>(
    'INSERT INTO leases (name, owner, token, until) VALUES (?, ?, ?, ?) ' +
      'ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, token = excluded.token, until = excluded.until',
  );
  const holds = (name: string, owner: string, token?: number) => {
    const l = getLease.get(name);
    return !!l && l.until > now() && l.owner == owner && (token === undefined || l.token == token);
  };
  const lease = db.transaction((name: string, owner: string, ttlMs: number) => {
    const l = getLease.get(name);
    const live = !!l && l.until > now();
    if (live && l.owner != owner) return 0;
    const token = live ? l.token : (l?.token ?? 0) + 1;
    putLease.run(name, owner, token, now() + ttlMs);
    return token;
  });
  const release = db.transaction((name: string, owner: string) => {
    const l = getLease.get(name);
    if (l && l.owner == owner) putLease.run(name, '', l.token, 0);
  });
  // AUTOINCREMENT: sqlite_sequence remembers the highest seq even when the table is empty.
  const last = db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'");
  const count = db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM outbox WHERE seq > ?');
  const oldest = db.prepare<[number], { at: number }>('SELECT at FROM outbox WHERE seq > ? ORDER BY seq LIMIT 1');
  const prune = db.prepare<[number]>('DELETE FROM outbox WHERE seq <= ?');
  const getState = db.prepare<[string], { value: string }>('SELECT value FROM s2s_state WHERE key = ?');
  const putState = db.prepare<[string, string]>(
    'INSERT INTO s2s_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  const putDead = db.prepare<[string, string, string, string, number]>(
    'INSERT OR REPLACE INTO dead_letters (partner, id, body, error, at) VALUES (?, ?, ?, ?, ?)',
  );
  const listDead = db.prepare<[string], DeadLetter>(
    'SELECT partner, id, body, error, at FROM dead_letters WHERE partner = ? ORDER BY at, id',
  );
  const delDead = db.prepare<[string, string]>('DELETE FROM dead_letters WHERE partner = ? AND id = ?');
  const page = db.prepare<[string, number, number], { uid: string; data: string }>(
    'SELECT uid, data FROM profiles WHERE uid > ? AND expires_at > ? ORDER BY uid LIMIT ?',
  );
  const setState = db.transaction((key: string, value: string, dead?: DeadLetter, fence?: Fence) => {
    if (fence && !holds(fence.name, fence.owner, fence.token)) throw new LeaseLostError(fence.name);
    putState.run(key, value);
    if (dead) putDead.run(dead.partner, dead.id, dead.body, dead.error, dead.at);
  });
  return {
    async after(afterSeq, limit) {
      return guard(() => after.all(afterSeq, limit)).map((r) => ({
        seq: r.seq,
        uid: r.uid,
        entered: JSON.parse(r.entered),
        exited: JSON.parse(r.exited),
        at: r.at,
        v: r.v,
        segments: JSON.parse(r.segments),
        epoch,
      }));
    },
    async lastSeq() {
      return guard(() => last.get()?.seq ?? 0);
    },
    async pending(afterSeq) {
      return guard(() => ({ count: count.get(afterSeq)!.n, oldestAt: oldest.get(afterSeq)?.at }));
    },
    async prune(upTo) {
      guard(() => prune.run(upTo));
    },
    async getState(key) {
      return guard(() => getState.get(key)?.value);
    },
    async setState(key, value, dead, fence) {
      guard(() => setState.immediate(key, value, dead, fence));
    },
    async lease(name, owner, ttlMs) {
      return guard(() => lease.immediate(name, owner, ttlMs));
    },
    async releaseLease(name, owner) {
      guard(() => release.immediate(name, owner));
    },
    async leaseHolder(name) {
      const l = guard(() => getLease.get(name));
      return l && l.until > now() ? l.owner : undefined;
    },
    async epoch() {
      return epoch;
    },
    async deadLetters(partner) {
      return guard(() => listDead.all(partner));
    },
    async removeDeadLetter(partner, id) {
      guard(() => delDead.run(partner, id));
    },
    async segmentsPage(cursor, limit) {
      const out: { uid: string; segments: string[] }[] = [];
      // Paged by uid rather than one long iterator: no statement stays open between pages, so
      // calls keep being answered while a long export runs.
      const rows = guard(() => page.all(cursor, now(), limit));
      for (const r of rows) {
        const segments = decodeProfile(r.data)?.segments;
        if (segments) out.push({ uid: r.uid, segments: [...segments] });
      }
      return { rows: out, next: rows.length == limit ? rows[rows.length - 1].uid : undefined };
    },
  };
}

function migrate(db: BetterSqlite3.Database) {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`the database was written by a newer segtag (schema ${version}; this one knows ${SCHEMA_VERSION})`);
  }
  // One transaction: a failed upgrade leaves the file as it was.
  db.transaction(() => {
    if (version == 2) db.exec('ALTER TABLE dead_letters RENAME COLUMN destination TO partner');
    // Columns added in 4, on tables an older file may already have.
    const columns = (table: string) =>
      (db.prepare(`SELECT name FROM pragma_table_info('${table}')`).all() as { name: string }[]).map((c) => c.name);
    const profileColumns = columns('profiles');
    if (profileColumns.length && !profileColumns.includes('v'))
      db.exec('ALTER TABLE profiles ADD COLUMN v INTEGER NOT NULL DEFAULT 0');
    const outboxColumns = columns('outbox');
    if (outboxColumns.length && !outboxColumns.includes('v')) {
      db.exec('ALTER TABLE outbox ADD COLUMN v INTEGER NOT NULL DEFAULT 0');
      db.exec("ALTER TABLE outbox ADD COLUMN segments TEXT NOT NULL DEFAULT '[]'");
    }
    db.exec(`
      CREATE TABLE IF NOT EXISTS profiles (
        uid TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        v INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS profiles_expires_at ON profiles (expires_at);
      CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        uid TEXT NOT NULL,
        entered TEXT NOT NULL,
        exited TEXT NOT NULL,
        at INTEGER NOT NULL,
        v INTEGER NOT NULL DEFAULT 0,
        segments TEXT NOT NULL DEFAULT '[]'
      );
      CREATE TABLE IF NOT EXISTS leases (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        token INTEGER NOT NULL,
        until INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS s2s_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS dead_letters (
        partner TEXT NOT NULL,
        id TEXT NOT NULL,
        body TEXT NOT NULL,
        error TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (partner, id)
      ) WITHOUT ROWID;
      PRAGMA user_version = ${SCHEMA_VERSION};
    `);
    // A new file gets a new epoch: message ids never repeat those made from a lost file.
    db.prepare("INSERT OR IGNORE INTO s2s_state (key, value) VALUES ('outbox:epoch', ?)").run(
      randomBytes(6).toString('hex'),
    );
  })();
}
