/**
 * The embedded store: one SQLite file (better-sqlite3 12, WAL). Profiles survive restarts.
 * Each update is one `BEGIN IMMEDIATE` transaction, so it is atomic per uid even when several
 * processes open the same file (they then wait on each other's writes: for several instances,
 * Redis is the better fit). A later outbox table belongs in the same transaction.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { decodeProfile, encodeProfile, type Profile } from '../profiles/profile';
import { StoreUnavailableError, type Change, type ProfileStore, type StoreOptions } from './types';

export interface SqliteStoreOptions extends StoreOptions {
  /** How often expired profiles are deleted (ms). Default 10 minutes. */
  purgeEveryMs?: number;
}

const SCHEMA_VERSION = 1;
const PURGE_BATCH = 10_000;

async function loadDriver(): Promise<typeof BetterSqlite3> {
  try {
    return (await import('better-sqlite3')).default;
  } catch (e) {
    throw new Error(`the sqlite store needs the better-sqlite3 package (npm install better-sqlite3@12): ${(e as Error).message}`);
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

  const select = db.prepare<[string], { data: string; expires_at: number }>(
    'SELECT data, expires_at FROM profiles WHERE uid = ?',
  );
  const upsert = db.prepare<[string, string, number]>(
    'INSERT INTO profiles (uid, data, expires_at) VALUES (?, ?, ?) ' +
      'ON CONFLICT (uid) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at',
  );
  const purge = db.prepare<[number, number]>(
    'DELETE FROM profiles WHERE uid IN (SELECT uid FROM profiles WHERE expires_at <= ? LIMIT ?)',
  );

  const read = (uid: string): Profile | undefined => {
    const row = select.get(uid);
    return row && row.expires_at > now() ? decodeProfile(row.data) : undefined;
  };
  const transact = db.transaction((uid: string, change: Change<unknown>) => {
    const { write, result } = change(read(uid));
    // Issue 8's outbox rows (write.changes) go here, in this transaction.
    if (write) upsert.run(uid, encodeProfile(write.profile), write.expiresAt);
    return result;
  });

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
    async update<T>(uid: string, change: Change<T>): Promise<T> {
      return guard(() => transact.immediate(uid, change) as T);
    },
    async get(uid) {
      return guard(() => read(uid));
    },
    async ping() {
      guard(() => db.prepare('SELECT 1').get());
    },
    async close() {
      clearInterval(timer);
      if (db.open) db.close();
    },
  };
}

function migrate(db: BetterSqlite3.Database) {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`the database was written by a newer segtag (schema ${version}; this one knows ${SCHEMA_VERSION})`);
  }
  db.exec(`
    CREATE TABLE IF NOT EXISTS profiles (
      uid TEXT PRIMARY KEY,
      data TEXT NOT NULL,
      expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS profiles_expires_at ON profiles (expires_at);
    PRAGMA user_version = ${SCHEMA_VERSION};
  `);
}
