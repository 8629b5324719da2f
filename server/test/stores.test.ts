/**
 * One contract, three stores: memory, SQLite (a real file) and Redis (a real redis-server on a
 * free loopback port, started here). Plus what only shared stores promise: profiles survive a
 * restart, two store instances on one backend stay atomic per uid, and a Redis outage fails
 * fast and recovers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEDUP_WINDOW } from '../src/profiles/apply';
import { DAY_MS, emptyProfile, type Profile } from '../src/profiles/profile';
import { createMemoryStore } from '../src/stores/memory';
import { openRedisStore } from '../src/stores/redis';
import { openSqliteStore } from '../src/stores/sqlite';
import { parseStoreSpec, describeStore } from '../src/stores/open';
import { StoreUnavailableError, type ProfileStore, type ProfileWrite } from '../src/stores/types';
import { startRedis, type RedisServer } from './support/redis-server';

const T0 = Date.UTC(2030, 0, 10, 12);
const clock = { now: T0 };
const now = () => clock.now;
const noChanges = { entered: [], exited: [] };

/** A write that adds one to trait `t` today and remembers an event id. */
function bump(current: Profile | undefined, eventId = `e${Math.random()}`): ProfileWrite {
  const p = current ?? emptyProfile();
  const traits = new Map([...p.traits].map(([k, v]) => [k, new Map(v)]));
  const day = Math.floor(clock.now / DAY_MS);
  const t = traits.get('t') ?? new Map<number, number>();
  t.set(day, (t.get(day) ?? 0) + 1);
  traits.set('t', t);
  const seen = p.seen.with([eventId], clock.now, DEDUP_WINDOW);
  return {
    profile: { traits, segments: ['s1'], lastSeen: clock.now, seen },
    expiresAt: clock.now + 30 * DAY_MS,
    changes: noChanges,
  };
}
const countOf = (p: Profile | undefined) => [...(p?.traits.get('t')?.values() ?? [])].reduce((a, b) => a + b, 0);
const increment = (store: ProfileStore, uid: string) =>
  store.update(uid, (cur) => ({ write: bump(cur), result: countOf(cur) + 1 }));

let seq = 0;
const uid = () => `uid-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;

interface Backend {
  name: string;
  /** A store on the shared backend (each call: a new instance, as a new process would have). */
  open(): Promise<ProfileStore>;
  shared: boolean;
}

const dir = mkdtempSync(join(tmpdir(), 'segtag-stores-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
}, 20_000);
afterAll(() => redis?.stop());

const memoryStore = createMemoryStore({ now });
const backends: Backend[] = [
  { name: 'memory', shared: false, open: async () => memoryStore },
  { name: 'sqlite', shared: true, open: () => openSqliteStore(join(dir, 'contract.db'), { now }) },
  { name: 'redis', shared: true, open: () => openRedisStore(redis.url, { now, prefix: `test:${process.pid}:` }) },
];

describe.each(backends)('store contract: $name', (backend) => {
  let store: ProfileStore;
  const opened: ProfileStore[] = [];
  const open = async () => {
    const s = await backend.open();
    opened.push(s);
    return s;
  };
  beforeAll(async () => {
    clock.now = T0;
    store = await open();
  });
  afterAll(async () => {
    for (const s of new Set(opened)) await s.close();
  });

  it('knows its kind and answers ping', async () => {
    expect(store.kind).toBe(backend.name);
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('an unknown uid has no profile; the change sees undefined', async () => {
    const id = uid();
    expect(await store.get(id)).toBeUndefined();
    let seen: unknown = 'not called';
    await store.update(id, (cur) => ((seen = cur), { result: null }));
    expect(seen).toBeUndefined();
  });

  it('writes what the change returns, reads it back equal, and resolves with its result', async () => {
    const id = uid();
    const write = bump(undefined, 'event-1');
    // ids from the rules file are data
    write.profile = { ...write.profile, traits: new Map([...write.profile.traits, ['__proto__', new Map([[5, 2]])]]) };
    expect(await store.update(id, () => ({ write, result: 'done' }))).toBe('done');
    const back = (await store.get(id))!;
    expect(back).toEqual(write.profile);
    expect(back.traits.get('__proto__')!.get(5)).toBe(2);
    expect(back.seen.get('event-1')).toBe(T0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('each update sees the previous write', async () => {
    const id = uid();
    expect([await increment(store, id), await increment(store, id), await increment(store, id)]).toEqual([1, 2, 3]);
    expect(countOf(await store.get(id))).toBe(3);
  });

  it('no write leaves the stored profile as it was', async () => {
    const id = uid();
    await increment(store, id);
    await store.update(id, () => ({ result: 0 }));
    expect(countOf(await store.get(id))).toBe(1);
  });

  it('concurrent updates of one uid are applied one after another', async () => {
    const id = uid();
    const results = await Promise.all(Array.from({ length: 25 }, () => increment(store, id)));
    expect(results.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(countOf(await store.get(id))).toBe(25);
  });

  it('an error thrown by the change propagates as is and nothing is written', async () => {
    const id = uid();
    await increment(store, id);
    const bug = new TypeError('a bug in the caller');
    await expect(
      store.update(id, () => {
        throw bug;
      }),
    ).rejects.toBe(bug);
    expect(countOf(await store.get(id))).toBe(1);
  });

  it('a profile past its expiresAt is gone, for get and for update', async () => {
    const id = uid();
    await store.update(id, () => ({ write: { ...bump(undefined), expiresAt: clock.now + 1000 }, result: null }));
    clock.now += 999;
    expect(await store.get(id)).toBeDefined();
    clock.now += 1;
    expect(await store.get(id)).toBeUndefined();
    expect(await increment(store, id)).toBe(1);
    clock.now = T0;
  });

  // What only a shared backend promises (several processes on one database or server).
  if (backend.shared) {
    it('another instance on the same backend sees the profiles (a restart)', async () => {
      const id = uid();
      await increment(store, id);
      await increment(store, id);
      const other = await open();
      expect(other).not.toBe(store);
      expect(countOf(await other.get(id))).toBe(2);
      expect(await increment(other, id)).toBe(3);
      expect(countOf(await store.get(id))).toBe(3);
    });

    it('two instances updating one uid concurrently lose nothing', async () => {
      const id = uid();
      const [a, b] = [store, await open()];
      await Promise.all(Array.from({ length: 30 }, (_, i) => increment(i % 2 ? a : b, id)));
      expect(countOf(await a.get(id))).toBe(30);
    });
  }
});

describe('sqlite: a restart keeps profiles', () => {
  it('close, reopen the file: the profile is there', async () => {
    const path = join(dir, 'restart.db');
    const first = await openSqliteStore(path, { now });
    await increment(first, 'visitor-1');
    await increment(first, 'visitor-1');
    await first.close();
    const second = await openSqliteStore(path, { now });
    expect(countOf(await second.get('visitor-1'))).toBe(2);
    await second.close();
  });

  it('deletes expired profiles from the file in the background', async () => {
    const path = join(dir, 'purge.db');
    const store = await openSqliteStore(path, { now, purgeEveryMs: 20 });
    try {
      await store.update('short-lived', () => ({
        write: { ...bump(undefined), expiresAt: clock.now + 1000 },
        result: null,
      }));
      await increment(store, 'long-lived');
      const rows = () => {
        const db = new Database(path, { readonly: true });
        try {
          return (db.prepare('SELECT uid FROM profiles ORDER BY uid').all() as { uid: string }[]).map((r) => r.uid);
        } finally {
          db.close();
        }
      };
      expect(rows()).toEqual(['long-lived', 'short-lived']);
      clock.now += 1000;
      await new Promise((r) => setTimeout(r, 200));
      expect(rows()).toEqual(['long-lived']);
    } finally {
      clock.now = T0;
      await store.close();
    }
  });

  it('upgrades a schema 2 file: its dead letters are kept, under the column renamed to partner', async () => {
    const path = join(dir, 'schema2.db');
    const old = new Database(path);
    old.exec(`
      CREATE TABLE dead_letters (destination TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, error TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (destination, id)) WITHOUT ROWID;
      INSERT INTO dead_letters VALUES ('rt', 'rt:1-2', '{}', 'HTTP 503', 5);
      PRAGMA user_version = 2;
    `);
    old.close();
    const store = await openSqliteStore(path, { now });
    try {
      expect(await store.outbox!.deadLetters('rt')).toEqual([
        { partner: 'rt', id: 'rt:1-2', body: '{}', error: 'HTTP 503', at: 5 },
      ]);
    } finally {
      await store.close();
    }
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(4);
    db.close();
  });

  it('creates missing directories; reports a path it cannot open', async () => {
    const store = await openSqliteStore(join(dir, 'a/b/c.db'), { now });
    await store.close();
    writeFileSync(join(dir, 'a-file'), '');
    await expect(openSqliteStore(join(dir, 'a-file/x.db'))).rejects.toThrow(/cannot open the SQLite database .*a-file/);
    writeFileSync(join(dir, 'not-a-db'), 'plain text, not SQLite '.repeat(100));
    await expect(openSqliteStore(join(dir, 'not-a-db'))).rejects.toThrow(/cannot open the SQLite database .*not-a-db/);
  });
});

describe('redis: an outage answers fast and recovers', () => {
  it('stop redis-server: updates reject with StoreUnavailableError within a second or so; start it: updates succeed again', async () => {
    const store = await openRedisStore(redis.url, { now, prefix: `outage:${process.pid}:` });
    try {
      expect(await increment(store, 'v')).toBe(1);
      await redis.stop();
      const started = Date.now();
      await expect(increment(store, 'v')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(Date.now() - started).toBeLessThan(2500);
      await redis.start();
      // ioredis reconnects within its retry delay (at most 1 s apart).
      const deadline = Date.now() + 10_000;
      let result: number | undefined;
      while (Date.now() < deadline && result === undefined) {
        result = await increment(store, 'v').catch(() => undefined);
        if (result === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      expect(result).toBe(1); // the server kept nothing (no persistence): a fresh profile
    } finally {
      await store.close();
    }
  }, 30_000);

  it('opening against a port where nothing listens fails with StoreUnavailableError', async () => {
    await expect(openRedisStore('redis://127.0.0.1:1', { connectTimeoutMs: 1000 })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
  });
});

describe('store specs', () => {
  it.each([
    ['memory', { kind: 'memory' }],
    ['sqlite:data/x.db', { kind: 'sqlite', path: '/srv/data/x.db' }],
    ['sqlite:/abs/x.db', { kind: 'sqlite', path: '/abs/x.db' }],
    ['sqlite::memory:', { kind: 'sqlite', path: ':memory:' }],
    ['redis://127.0.0.1:6379', { kind: 'redis', url: 'redis://127.0.0.1:6379' }],
    ['rediss://u:secret@cache.example:6380/2', { kind: 'redis', url: 'rediss://u:secret@cache.example:6380/2' }],
  ])('%s', (spec, parsed) => {
    expect(parseStoreSpec(spec, '/srv')).toEqual(parsed);
  });

  it.each([
    ['sqlite:', '--store sqlite:PATH needs a file path'],
    ['postgres://x', '--store: expected memory, sqlite:PATH or redis://HOST:PORT'],
    ['', '--store: expected'],
  ])('%j is rejected', (spec, message) => {
    expect(() => parseStoreSpec(spec)).toThrow(message);
  });

  it('describes a Redis URL without its password', () => {
    expect(describeStore(parseStoreSpec('redis://user:secret@cache.example:6379/1'))).toBe(
      'redis://user:***@cache.example:6379/1',
    );
  });
});
