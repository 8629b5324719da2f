/**
 * The outbox contract on memory, SQLite and a real Redis: an outbox row is written with the
 * profile change or not at all, seqs increase and are never reused, cursors' state and dead
 * letters are kept, full exports see every profile; and real-time delivery end to end on each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app';
import { emptyProfile } from '../src/profiles/profile';
import { createMemoryStore } from '../src/stores/memory';
import { openRedisStore } from '../src/stores/redis';
import { openSqliteStore } from '../src/stores/sqlite';
import type { ProfileStore, ProfileWrite } from '../src/stores/types';
import { startRedis, type RedisServer } from './support/redis-server';
import { call, newUid, pageEvent, post, type Json } from './support/server';
import { startSink, waitFor } from './support/partner-sink';

const dir = mkdtempSync(join(tmpdir(), 'segtag-outbox-'));
let redis: RedisServer;
let n = 0;
beforeAll(async () => {
  redis = await startRedis();
}, 20_000);
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const backends: { name: string; open: () => Promise<ProfileStore> }[] = [
  { name: 'memory', open: async () => createMemoryStore() },
  { name: 'sqlite', open: () => openSqliteStore(join(dir, `db-${++n}.sqlite`)) },
  { name: 'redis', open: () => openRedisStore(redis.url, { prefix: `t${++n}:` }) },
];

const write = (segments: string[], deliver?: { entered: string[]; exited: string[] }): ProfileWrite => ({
  profile: { ...emptyProfile(), segments, lastSeen: Date.now() },
  expiresAt: Date.now() + 86_400_000,
  changes: deliver ?? { entered: [], exited: [] },
  deliver,
});

describe.each(backends)('outbox on $name', ({ open }) => {
  it('rows with the profile, increasing seqs never reused, state and dead letters, full pages', async () => {
    const store = await open();
    try {
      const outbox = store.outbox!;
      expect(await outbox.lastSeq()).toBe(0);
      await store.update('uid-aaaaaaaa', () => ({ write: write(['a'], { entered: ['a'], exited: [] }), result: 1 }));
      await store.update('uid-bbbbbbbb', () => ({ write: write(['b']), result: 1 })); // nothing to deliver: no row
      await store.update('uid-cccccccc', () => ({ write: write(['c'], { entered: [], exited: [] }), result: 1 })); // empty: no row
      await store.update('uid-aaaaaaaa', () => ({ write: write(['b'], { entered: ['b'], exited: ['a'] }), result: 1 }));
      await store.update('uid-dddddddd', () => ({ result: 1 })); // no write, no row
      // A change that throws writes neither the profile nor a row.
      await expect(
        store.update('uid-eeeeeeee', () => {
          throw new Error('bug');
        }),
      ).rejects.toThrow('bug');

      const rows = await outbox.after(0, 10);
      expect(rows.map(({ seq, uid, entered, exited }) => ({ seq, uid, entered, exited }))).toEqual([
        { seq: 1, uid: 'uid-aaaaaaaa', entered: ['a'], exited: [] },
        { seq: 2, uid: 'uid-aaaaaaaa', entered: ['b'], exited: ['a'] },
      ]);
      expect(rows[0].at).toBeGreaterThan(0);
      expect(await outbox.after(1, 10)).toHaveLength(1);
      expect(await outbox.lastSeq()).toBe(2);
      expect(await outbox.pending(0)).toEqual({ count: 2, oldestAt: rows[0].at });
      expect(await outbox.pending(2)).toEqual({ count: 0, oldestAt: undefined });

      await outbox.prune(2);
      expect(await outbox.after(0, 10)).toEqual([]);
      await store.update('uid-ffffffff', () => ({ write: write(['x'], { entered: ['x'], exited: [] }), result: 1 }));
      expect((await outbox.after(0, 10)).map((r) => r.seq)).toEqual([3]); // not 1 again

      expect(await outbox.getState('k')).toBeUndefined();
      const letter = { partner: 'd', id: 'd:1-2', body: '{"id":"d:1-2"}', error: 'HTTP 503', at: 5 };
      await outbox.setState('k', '{"cursor":2}', letter);
      expect(await outbox.getState('k')).toBe('{"cursor":2}');
      expect(await outbox.deadLetters('d')).toEqual([letter]);
      expect(await outbox.deadLetters('other')).toEqual([]);
      await outbox.removeDeadLetter('d', 'd:1-2');
      expect(await outbox.deadLetters('d')).toEqual([]);

      for (let i = 0; i < 25; i++)
        await store.update(`uid-page-${String(i).padStart(4, '0')}`, () => ({ write: write([`s${i}`]), result: 1 }));
      const seen = new Map<string, string[]>();
      for (let cursor: string | undefined = ''; cursor !== undefined;) {
        const page = await outbox.segmentsPage(cursor, 7);
        for (const r of page.rows) seen.set(r.uid, r.segments);
        cursor = page.next;
      }
      expect(seen.size).toBe(29);
      expect(seen.get('uid-page-0013')).toEqual(['s13']);
      expect(seen.get('uid-aaaaaaaa')).toEqual(['b']);
    } finally {
      await store.close();
    }
  });

  it('real-time delivery end to end: every change once, with 30% failures', async () => {
    const sink = await startSink((i) => (i % 10 < 3 ? { status: 503 } : {}));
    const store = await open();
    const app = createApp({
      store,
      watchRulesMs: 0,
      demo: false,
      s2sTickMs: 50,
      rules: {
        traits: [{ id: 'sports', where: { signal: 'c_section', op: 'equals', value: 'sports' } }],
        segments: [{ id: 'sports', rule: { trait: 'sports' } }],
        partners: [
          {
            id: 'rt',
            type: 'realtime',
            url: sink.url,
            intervalSeconds: 1,
            segments: 'all',
            retries: 5,
            retryBaseMs: 10,
            maxUsersPerMessage: 7,
          },
        ],
      },
    });
    try {
      await app.ready();
      const uids = Array.from({ length: 100 }, () => newUid());
      for (const uid of uids) await post(app, call(uid, [pageEvent({ c_section: 'sports' })]));
      const got = () => sink.accepted().flatMap((m) => m.body.users.map((u: Json) => u.uid));
      await waitFor(() => new Set(got()).size == uids.length, 20_000, 'every visitor');
      expect(got().sort()).toEqual([...uids].sort()); // once each across distinct ids
      for (const m of sink.accepted()) expect(m.body.users.length).toBeLessThanOrEqual(7);
    } finally {
      await app.close();
      await store.close();
      await sink.close();
    }
  }, 30_000);
});
