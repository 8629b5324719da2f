/**
 * One owner per partner (leases with fencing tokens), message ids that survive a Redis that lost
 * its data, per-visitor versions that keep a partner current after a late dead-letter retry, a
 * bounded outbox whatever the partners, the Redis settings check, and SQLite staying
 * single-instance. Real redis-server on loopback (test/support/redis-server.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App, type AppOptions } from '../src/app';
import { flushRealtime } from '../src/s2s/realtime';
import { createMemoryStore } from '../src/stores/memory';
import { openRedisStore } from '../src/stores/redis';
import { openSqliteStore } from '../src/stores/sqlite';
import { LeaseLostError, type ProfileStore } from '../src/stores/types';
import { startSink, waitFor } from './support/partner-sink';
import { startRedis, type RedisServer } from './support/redis-server';
import { call, logSink, newUid, pageEvent, post, trackEvent, type Json } from './support/server';
import { S2S_TRAITS, s2sSegments } from './support/s2s-rules';

const rules = (partners: Json[]) => ({ traits: S2S_TRAITS, segments: s2sSegments(), partners });
const realtime = (url: string, extra: Json = {}) => ({
  id: 'rt',
  type: 'realtime',
  url,
  intervalSeconds: 1,
  segments: 'all',
  retries: 2,
  retryBaseMs: 10,
  ...extra,
});

let redis: RedisServer;
let prefixes = 0;
const prefix = () => `lease${++prefixes}:`;
const dir = mkdtempSync(join(tmpdir(), 'segtag-lease-'));
beforeAll(async () => {
  redis = await startRedis();
}, 20_000);
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function app(options: Partial<AppOptions> & { rules: object }) {
  const a = createApp({ watchRulesMs: 0, demo: false, s2sTickMs: 50, ...options });
  await a.ready();
  cleanup.push(() => a.close());
  return a;
}

/** What a partner following docs/server-to-server.md keeps: per visitor, the entry with the highest version. */
function newestView(bodies: Json[]) {
  const view = new Map<string, { v: number; current: string[] }>();
  for (const body of bodies)
    for (const u of body.users) {
      const had = view.get(u.uid);
      if (!had || u.v > had.v) view.set(u.uid, { v: u.v, current: [...u.segments.current].sort() });
    }
  return view;
}

describe.each([
  ['redis', () => openRedisStore(redis.url, { prefix: prefix() })],
  ['sqlite', () => openSqliteStore(join(dir, `lease-${++prefixes}.db`))],
  ['memory', async () => createMemoryStore()],
])('leases on the %s store', (_kind, open) => {
  it('one holder at a time; renewal keeps the token; after expiry a higher token; the old holder is fenced off', async () => {
    const store: ProfileStore = await open();
    cleanup.push(() => store.close());
    const outbox = store.outbox!;
    const t1 = await outbox.lease('p', 'A', 300);
    expect(t1).toBeGreaterThan(0);
    expect(await outbox.lease('p', 'B', 300)).toBe(0);
    expect(await outbox.lease('p', 'A', 300)).toBe(t1);
    expect(await outbox.leaseHolder('p')).toBe('A');
    await outbox.setState('k', 'by A', undefined, { name: 'p', owner: 'A', token: t1 });

    await waitFor(async () => (await outbox.leaseHolder('p')) === undefined, 3000, 'the lease to expire');
    const t2 = await outbox.lease('p', 'B', 10_000);
    expect(t2).toBe(t1 + 1);
    await expect(outbox.setState('k', 'late A', undefined, { name: 'p', owner: 'A', token: t1 })).rejects.toThrow(
      LeaseLostError,
    );
    const letter = { partner: 'p', id: 'x', body: '{}', error: 'e', at: 1 };
    await expect(outbox.setState('k', 'late A', letter, { name: 'p', owner: 'A', token: t1 })).rejects.toThrow(
      LeaseLostError,
    );
    expect(await outbox.getState('k')).toBe('by A');
    expect(await outbox.deadLetters('p')).toEqual([]);
    expect(await outbox.lease('p', 'A', 300)).toBe(0);

    // A clean stop gives the lease up: the next owner gets it at once, with a higher token.
    await outbox.releaseLease('p', 'A'); // not the holder: no effect
    expect(await outbox.leaseHolder('p')).toBe('B');
    await outbox.releaseLease('p', 'B');
    expect(await outbox.lease('p', 'A', 300)).toBe(t2 + 1);
  });
});

describe('delivery under a lease', () => {
  it('a flush by an instance whose lease was taken over is refused: the cursor does not move', async () => {
    const sink = await startSink();
    cleanup.push(() => sink.close());
    const store = await openRedisStore(redis.url, { prefix: prefix() });
    cleanup.push(() => store.close());
    const a = await app({ rules: rules([realtime(sink.url)]), store, s2s: false });
    await post(a, call(newUid(), [pageEvent({ c_section: 'sports' })]));
    const outbox = store.outbox!;
    const stale = await outbox.lease('rt', 'A', 200);
    await waitFor(async () => (await outbox.leaseHolder('rt')) === undefined, 3000, 'the lease to expire');
    expect(await outbox.lease('rt', 'B', 10_000)).toBe(stale + 1);
    const partner = a.rules.partners[0] as Parameters<typeof flushRealtime>[0];
    await expect(
      flushRealtime(partner, { outbox, now: Date.now, fence: { name: 'rt', owner: 'A', token: stale } }),
    ).rejects.toThrow(LeaseLostError);
    expect(await outbox.getState('realtime:rt')).toBeUndefined();
    expect(sink.received).toHaveLength(0); // refused before the first attempt: nothing composed either
  });

  it('two instances on one Redis: one owner delivers, both export the same queue depth; the other takes over when it stops', async () => {
    const sink = await startSink();
    cleanup.push(() => sink.close());
    const p = prefix();
    const [a, b] = [
      await app({ rules: rules([realtime(sink.url)]), store: await openRedisStore(redis.url, { prefix: p }) }),
      await app({ rules: rules([realtime(sink.url)]), store: await openRedisStore(redis.url, { prefix: p }) }),
    ];
    cleanup.push(
      () => a.store!.close(),
      () => b.store!.close(),
    );
    await waitFor(() => a.s2s!.owned.length + b.s2s!.owned.length == 1, 3000, 'an owner');
    const [owner, other] = a.s2s!.owned.length ? [a, b] : [b, a];
    sink.behave = () => ({ status: 503 }); // nothing gets through: the queue stays
    const uids = Array.from({ length: 10 }, () => newUid());
    for (const [i, uid] of uids.entries()) await post(i % 2 ? a : b, call(uid, [pageEvent({ c_section: 'sports' })]));
    await owner.s2s!.measure();
    await other.s2s!.measure();
    const depth = async (x: App) =>
      (await x.admin.inject('/metrics')).body.match(/^segtag_s2s_queue_depth\{partner="rt"\} (\d+)$/m)?.[1];
    expect(await depth(owner)).toBe('10');
    expect(await depth(other)).toBe('10');

    sink.behave = () => ({});
    const started = Date.now();
    await owner.close();
    await waitFor(() => other.s2s!.owned.length == 1, 3000, 'the takeover');
    expect(Date.now() - started).toBeLessThan(3000); // released on a clean stop: no lease time to wait
    await waitFor(
      () => new Set(sink.accepted().flatMap((m) => m.body.users.map((u: Json) => u.uid))).size == 10,
      10_000,
      'every visitor delivered',
    );
    // Every body a given id was sent with is the same body, whichever instance sent it.
    const byId = new Map<string, string>();
    for (const r of sink.received) {
      const body = JSON.stringify(r.body);
      expect(byId.get(r.id) ?? body).toBe(body);
      byId.set(r.id, body);
    }
  });
});

describe('message ids and versions', () => {
  it('a Redis restart without persistence starts a new epoch: no id is used twice, versions keep increasing; the settings check warns', async () => {
    const sink = await startSink();
    cleanup.push(() => sink.close());
    const logs = logSink();
    const a = await app({
      rules: rules([realtime(sink.url, { intervalSeconds: 1 })]),
      store: redis.url,
      logger: { level: 'warn', stream: logs.stream },
      s2sLeaseMs: 1000,
    });
    expect(logs.text).toMatch(/WARNING: Redis persistence is off \(appendonly no, .*set appendonly yes/);
    const uid = newUid();
    const first = Array.from({ length: 20 }, () => newUid());
    for (const u of [uid, ...first]) await post(a, call(u, [pageEvent({ c_section: 'sports' })]));
    const users = () => new Set(sink.accepted().flatMap((m) => m.body.users.map((x: Json) => x.uid)));
    await waitFor(() => users().size == 21, 10_000, 'the first visitors delivered');

    await redis.stop();
    await redis.start(); // empty: the counter, the stream, the profiles and the lease are gone
    const second = Array.from({ length: 20 }, () => newUid());
    await waitFor(async () => (await post(a, call(newUid(), []))).status == 200, 10_000, 'Redis back');
    for (const u of [uid, ...second]) await post(a, call(u, [pageEvent({ c_section: 'sports' })]));
    await waitFor(() => users().size == 41, 15_000, 'the second visitors delivered');

    const byId = new Map<string, string>();
    for (const r of sink.received) {
      const body = JSON.stringify(r.body);
      expect(byId.get(r.id) ?? body, `id ${r.id} with two bodies`).toBe(body);
      byId.set(r.id, body);
    }
    const epochs = new Set(sink.accepted().map((m) => m.id.split(':')[1]));
    expect(epochs.size).toBe(2);
    // The visitor seen before and after: the later entry has the higher version.
    const entries = sink
      .accepted()
      .flatMap((m) => m.body.users)
      .filter((u: Json) => u.uid == uid);
    expect(entries).toHaveLength(2);
    expect(entries[1].v).toBeGreaterThan(entries[0].v);
  }, 40_000);

  it('a Redis that lost its lease counter never grants a token again that an instance may still hold', async () => {
    const p = prefix();
    const store = await openRedisStore(redis.url, { prefix: p });
    cleanup.push(() => store.close());
    const outbox = store.outbox!;
    const t1 = await outbox.lease('rt', 'A', 10_000);
    // Redis lost its data (restarted without persistence): the lease and its token counter are gone.
    const { client } = store.redis!;
    await client.del(...(await client.keys(`${p}*`)));
    await new Promise((r) => setTimeout(r, 5)); // a restart takes longer than the millisecond the counter starts at
    const t2 = await outbox.lease('rt', 'A', 10_000);
    expect(t2).not.toBe(t1);
    // A commit prepared under the old grant (a flush in flight across the restart) is refused.
    await expect(outbox.setState('k', 'late', undefined, { name: 'rt', owner: 'A', token: t1 })).rejects.toThrow(
      LeaseLostError,
    );
    await outbox.setState('k', 'now', undefined, { name: 'rt', owner: 'A', token: t2 });
    expect(await outbox.getState('k')).toBe('now');
    expect(await outbox.lease('rt', 'A', 10_000)).toBe(t2); // renewal keeps it
  });

  it('a dead letter retried after newer messages: the partner keeping the highest version ends current', async () => {
    const sink = await startSink((n) => (n == 0 ? { status: 400 } : {})); // the first message is refused for good
    cleanup.push(() => sink.close());
    const a = await app({ rules: rules([realtime(sink.url)]), store: createMemoryStore() });
    const uid = newUid();
    await post(a, call(uid, [pageEvent({ c_section: 'sports' })])); // sports, nonbuyer
    await waitFor(async () => (await a.store!.outbox!.deadLetters('rt')).length == 1, 5000, 'a dead letter');
    await post(a, call(uid, [trackEvent('buy')])); // nonbuyer left
    await waitFor(() => sink.accepted().length == 1, 5000, 'the newer message');
    expect(await a.s2s!.retry('rt')).toEqual({ delivered: 1, failed: 0 });
    const accepted = sink.accepted().map((m) => m.body);
    expect(accepted).toHaveLength(2); // the newer message first, then the retried older one
    expect(accepted[1].users[0].v).toBeLessThan(accepted[0].users[0].v);
    const view = newestView(accepted);
    expect(view.get(uid)!.current).toEqual([...(await a.store!.get(uid))!.segments].sort());
    expect(view.get(uid)!.current).toEqual(['sports']);
  });
});

describe('the outbox stays bounded', () => {
  it.each([
    ['a full-mode batch partner only', [{ id: 'full', type: 'batch', dir: join(dir, 'full'), segments: 'all' }]],
    ['a real-time partner that accepts everything', 'realtime'],
  ] as const)('with %s: 300 changes, then none kept', async (_name, partners) => {
    const sink = await startSink();
    cleanup.push(() => sink.close());
    const store = await openRedisStore(redis.url, { prefix: prefix() });
    cleanup.push(() => store.close());
    const a = await app({ rules: rules(partners == 'realtime' ? [realtime(sink.url)] : [...partners]), store });
    for (let i = 0; i < 300; i++) await post(a, call(newUid(), [pageEvent({ c_section: 'sports' })]));
    expect(await store.outbox!.lastSeq()).toBe(300);
    await waitFor(
      async () => (await a.s2s!.measure(), (await store.outbox!.after(0, 1000)).length == 0),
      10_000,
      'a pruned outbox',
    );
  });
});

describe('SQLite is single-instance', () => {
  it('a second delivering process on the same file is refused at start, naming the first; with --no-s2s it runs', async () => {
    const file = `sqlite:${join(dir, 'single.db')}`;
    const r = rules([{ id: 'full', type: 'batch', dir: join(dir, 'single'), segments: 'all' }]);
    const first = await app({ rules: r, store: file });
    const second = createApp({ rules: r, store: file, watchRulesMs: 0, demo: false });
    await expect(second.ready()).rejects.toThrow(
      new RegExp(
        `another process \\(\\S+/${process.pid}/\\S+\\) delivers server-to-server from this SQLite file: SQLite is single-instance`,
      ),
    );
    await second.close().catch(() => {});
    const reader = await app({ rules: r, store: file, s2s: false });
    expect(reader.s2s!.owned).toEqual([]);
    await first.close();
    const after = await app({ rules: r, store: file }); // given up on a clean stop
    expect(after.s2s).toBeDefined();
  });
});
