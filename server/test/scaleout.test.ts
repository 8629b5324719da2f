/**
 * Whole servers on shared stores: two instances on one Redis (a visitor qualifies across both,
 * concurrent calls lose nothing), a Redis outage answered 503 fast and recovered from, and a
 * SQLite server restarted with its profiles intact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../src/app';
import { openRedisStore } from '../src/stores/redis';
import { call, newUid, pageEvent, post, RULES } from './support/server';
import { startRedis, type RedisServer } from './support/redis-server';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
}, 20_000);
afterAll(() => redis?.stop());

describe('two server instances on one Redis', () => {
  const apps: App[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const app = createApp({ rules: RULES, store: redis.url, watchRulesMs: 0 });
      await app.listen(0, '127.0.0.1');
      apps.push(app);
    }
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
  });

  it('a visitor qualifies across both: two page views on one, the third on the other', async () => {
    const [a, b] = apps;
    const uid = newUid();
    expect((await post(a, call(uid, [pageEvent()]))).json.segments).toEqual([]);
    expect((await post(a, call(uid, [pageEvent()]))).json.segments).toEqual([]);
    expect((await post(b, call(uid, [pageEvent()]))).json.segments).toEqual(['1003']);
    // A resend of an event counted by one instance is recognised by the other.
    const event = pageEvent({ c_section: 'sports' });
    expect((await post(a, call(uid, [event]))).json.segments).toEqual(['1001', '1003', '1004']);
    const resent = await post(b, call(uid, [event]));
    expect(resent.json.ack).toEqual([event.id]);
    const metrics = (await b.admin.inject('/metrics')).body;
    expect(metrics).toMatch(/^segtag_events_total\{result="duplicate"\} 1$/m);
  });

  it('concurrent calls for one visitor spread over both instances are all counted', async () => {
    const uid = newUid();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(apps[i % 2], call(uid, [pageEvent()]))),
    );
    expect(answers.every((r) => r.status == 200)).toBe(true);
    const store = await openRedisStore(redis.url);
    try {
      const profile = (await store.get(uid))!;
      expect([...profile.traits.get('page-view')!.values()].reduce((x, y) => x + y, 0)).toBe(20);
      expect(profile.seen.size).toBe(20);
    } finally {
      await store.close();
    }
  });

  it('Redis down: 503 at once and /healthz says so; Redis back: calls succeed again', async () => {
    const [a] = apps;
    await redis.stop();
    try {
      const started = Date.now();
      const down = await post(a, call(newUid(), [pageEvent()]));
      expect(down.status).toBe(503);
      expect(down.res.headers['retry-after']).toBe('1');
      expect(down.json).toEqual({ error: 'profile store unavailable' });
      expect(Date.now() - started).toBeLessThan(1500);
      expect((await a.fastify.inject('/healthz')).statusCode).toBe(503);
    } finally {
      await redis.start();
    }
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline && status != 200) {
      status = (await post(a, call(newUid(), [pageEvent()]))).status;
      if (status != 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect((await a.fastify.inject('/healthz')).statusCode).toBe(200);
  }, 30_000);

  it('a server cannot start while its Redis is unreachable, and says so', async () => {
    const app = createApp({ rules: RULES, store: 'redis://127.0.0.1:1', watchRulesMs: 0 });
    await expect(app.ready()).rejects.toThrow(/cannot connect to Redis at redis:\/\/127\.0\.0\.1:1/);
    await app.close().catch(() => {});
  });
});

describe('a SQLite server restarted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'segtag-sqlite-app-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps its visitors and the event ids it counted: two page views before the restart, the third after', async () => {
    const store = `sqlite:${join(dir, 'segtag.db')}`;
    const uid = newUid();
    const before = createApp({ rules: RULES, store, watchRulesMs: 0 });
    await before.ready();
    const counted = pageEvent();
    await post(before, call(uid, [counted, pageEvent()]));
    await before.close();

    const after = createApp({ rules: RULES, store, watchRulesMs: 0 });
    await after.ready();
    try {
      // A resend of an event counted before the restart is acknowledged, not counted again.
      const resent = await post(after, call(uid, [counted]));
      expect(resent.json).toMatchObject({ segments: [], ack: [counted.id] });
      expect((await post(after, call(uid, [pageEvent()]))).json.segments).toEqual(['1003']);
    } finally {
      await after.close();
    }
  });
});
