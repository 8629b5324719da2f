/**
 * Three `segtag-server` processes (the built CLI) on one real redis-server and a partner that
 * fails 30% of its requests and never answers 5% of them; redis-server is restarted in the
 * middle of a stream of profile changes, and the instances are left running.
 * - With persistence (an append-only file): every outbox row reached the partner, no id arrived
 *   with two different bodies, the partner's newest-version view equals the store's segments for
 *   every visitor.
 * - Without persistence (Redis comes back empty): a new outbox epoch, so no message id is ever
 *   reused with another body; every change made after the restart reaches the partner; and the
 *   partner is current for every visitor the new store knows.
 * Both: readiness comes back and the lease is re-acquired by exactly one instance, without a
 * restart of the instances (the same processes).
 */
import { afterEach, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRedisStore } from '../src/stores/redis';
import { instanceLauncher, stopCli, type CliServer } from './support/cli-process';
import { startSink, waitFor } from './support/partner-sink';
import { startRedis } from './support/redis-server';
import { newUid, pageEvent, rtcSegmentsOverHttp, trackEvent, type Json } from './support/server';
import { S2S_TRAITS, fastRetryingPartner, flakyAnswers, s2sSegments } from './support/s2s-rules';

const LEASE_MS = 2000;
/** Readiness of every instance and one lease owner again, after redis-server answers again. */
const RECOVERY_BOUND_MS = 10_000;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function restartRun(persist: boolean) {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'segtag-redis-restart-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const persistDir = persist ? join(dir, 'redis') : undefined;
  if (persistDir) mkdirSync(persistDir);
  const redis = await startRedis({ persistDir });
  cleanup.push(() => redis.stop());
  const sink = await startSink(flakyAnswers());
  cleanup.push(() => sink.close());
  const rules = {
    traits: S2S_TRAITS,
    segments: s2sSegments(3),
    partners: [fastRetryingPartner(sink.url)],
  };
  const launch = instanceLauncher(
    dir,
    rules,
    ['--store', redis.url, '--s2s-lease-ms', String(LEASE_MS), '--log-level', 'error'],
    cleanup,
  );
  const servers: CliServer[] = [await launch(), await launch(), await launch()];
  const pids = servers.map((s) => s.child.pid);
  const metrics = async (s: CliServer) => {
    try {
      return await (await fetch(`${s.adminUrl}/metrics`)).text();
    } catch {
      return '';
    }
  };
  const owners = async () => {
    let count = 0;
    for (const s of servers) if ((await metrics(s)).includes(`segtag_s2s_lease_held{partner="rt"} 1\n`)) count++;
    return count;
  };
  const ready = async () => {
    for (const s of servers)
      if ((await fetch(`${s.adminUrl}/readyz`).catch(() => undefined))?.status != 200) return false;
    return true;
  };
  await waitFor(async () => (await owners()) == 1, 5000, 'an owner of rt');

  // The stream: every visitor enters sports, then buys (across the restart), then two page views.
  const uids = Array.from({ length: 60 }, () => newUid());
  let calls = 0;
  let retried = 0;
  let changes = 0;
  const last = new Map<string, string>();
  const send = async (uid: string, event: Json) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const s = servers[calls++ % servers.length];
      try {
        const segments = await rtcSegmentsOverHttp(s.url, uid, event);
        if (segments != (last.get(uid) ?? '')) changes++;
        last.set(uid, segments);
        return;
      } catch (e) {
        // Redis is down: 503 at once; the client retries, as the SDK does.
        if (Date.now() > deadline) throw e;
        retried++;
        await sleep(100);
      }
    }
  };
  const round = async (event: () => Json) => {
    for (let i = 0; i < uids.length; i += 6) {
      await Promise.all(uids.slice(i, i + 6).map((uid) => send(uid, event())));
      await sleep(40); // a stream over seconds, not one burst
    }
  };
  const sports = () => pageEvent({ c_section: 'sports' });
  await round(sports);
  const changesBefore = changes;
  // Delivered before the restart, so the partner holds ids of the first epoch.
  const users = () => new Set(sink.accepted().flatMap((m) => m.body.users.map((u: { uid: string }) => u.uid)));
  await waitFor(() => users().size == uids.length, 10_000, 'the first round delivered');

  // Restart redis-server while the next round is being sent and delivered.
  const buying = round(() => trackEvent('buy'));
  await sleep(200);
  const before = await openRedisStore(redis.url);
  const epochBefore = await before.outbox!.epoch();
  await before.close();
  await redis.stop();
  await sleep(500);
  await redis.start();
  const upAt = Date.now();
  await waitFor(async () => (await ready()) && (await owners()) == 1, RECOVERY_BOUND_MS, 'readiness and an owner');
  const recoverMs = Date.now() - upAt;
  await buying;
  // Every visitor changes after the restart, also when Redis forgot them: sports again, then
  // the third page view makes them heavy (when the first two survived).
  await round(sports);
  await round(() => pageEvent());

  // The same processes throughout: nothing was restarted but Redis.
  expect(servers.map((s) => s.child.pid)).toEqual(pids);
  for (const s of servers) expect(s.child.exitCode).toBeNull();

  const store = await openRedisStore(redis.url);
  cleanup.push(() => store.close());
  const epoch = await store.outbox!.epoch();
  const lastSeq = await store.outbox!.lastSeq();
  const newest = () => {
    const view = new Map<string, { v: number; current: string }>();
    for (const m of sink.accepted())
      for (const u of m.body.users) {
        const had = view.get(u.uid);
        if (!had || u.v > had.v) view.set(u.uid, { v: u.v, current: [...u.segments.current].sort().join(',') });
      }
    return view;
  };
  // Visitors the store knows: all of them with persistence; without, those changed after the
  // restart (a visitor Redis forgot and that did not change since keeps its old view at the partner).
  const known = async () =>
    persist
      ? uids
      : [
          ...new Set(
            sink
              .accepted()
              .filter((m) => m.id.split(':')[1] == epoch)
              .flatMap((m) => m.body.users.map((u: { uid: string }) => u.uid as string)),
          ),
        ];
  const stale = async () => {
    const view = newest();
    let count = 0;
    for (const uid of await known()) {
      const segments = [...((await store.get(uid))?.segments ?? [])].sort().join(',');
      if (view.get(uid)?.current != segments) count++;
    }
    return count;
  };
  await waitFor(async () => (await stale()) == 0, 20_000, 'the partner current for every visitor the store knows');
  // Every row of the current epoch reached the partner: the accepted ids' ranges cover 1..lastSeq.
  const covered = new Set<number>();
  await waitFor(
    () => {
      covered.clear();
      for (const m of sink.accepted()) {
        const [, e, range] = m.id.split(':');
        if (e != epoch) continue;
        const [from, to] = range.split('-').map(Number);
        for (let s = from; s <= to; s++) covered.add(s);
      }
      return covered.size == lastSeq;
    },
    20_000,
    'every row of the current epoch delivered',
  );
  expect(Math.max(...covered)).toBe(lastSeq);
  expect(await store.outbox!.deadLetters('rt')).toEqual([]);

  // No id with two bodies, across both epochs; the duplicates a partner de-duplicates away.
  const bodies = new Map<string, string>();
  let twoBodies = 0;
  for (const r of sink.received) {
    const body = JSON.stringify(r.body);
    if (bodies.has(r.id) && bodies.get(r.id) != body) twoBodies++;
    bodies.set(r.id, body);
  }
  const accepted = sink.received.filter((r) => r.answer == 200);
  const acceptedIds = new Set(accepted.map((r) => r.id));
  const epochs = new Set(sink.accepted().map((m) => m.id.split(':')[1]));
  // Seqs sent in both epochs (they start again at 1 after Redis lost its data): only the epoch
  // in the id keeps those messages apart.
  const seqEpochs = new Map<number, Set<string>>();
  for (const id of bodies.keys()) {
    const [, e, range] = id.split(':');
    const [from, to] = range.split('-').map(Number);
    for (let q = from; q <= to; q++) seqEpochs.set(q, (seqEpochs.get(q) ?? new Set()).add(e));
  }
  const seqsInTwoEpochs = [...seqEpochs.values()].filter((e) => e.size > 1).length;

  for (const s of servers) expect(await stopCli(s)).toBe(0);
  const report = {
    persistence: persist,
    changes,
    changesBeforeRestart: changesBefore,
    calls,
    callsRetried: retried,
    seqsInCurrentEpoch: lastSeq,
    epochs: epochs.size,
    messagesAccepted: acceptedIds.size,
    usersDelivered: sink.accepted().reduce((k, m) => k + m.body.users.length, 0),
    received: sink.received.length,
    duplicatesById: accepted.length - acceptedIds.size,
    idsWithTwoBodies: twoBodies,
    seqsInTwoEpochs,
    staleVisitors: await stale(),
    visitorsKnown: (await known()).length,
    recoverMs,
    seconds: (Date.now() - started) / 1000,
  };
  console.log(`redis restart (${persist ? 'with' : 'without'} persistence): ${JSON.stringify(report)}`);
  expect(twoBodies).toBe(0);
  expect(recoverMs).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
  return { report, epoch, epochBefore, epochs };
}

it('redis-server restarted with persistence: every change delivered, one body per id, never stale', async () => {
  const { report, epoch, epochBefore, epochs } = await restartRun(true);
  expect(epoch).toBe(epochBefore);
  expect(epochs).toEqual(new Set([epoch])); // the outbox survived: one epoch throughout
  expect(report.changes).toBe(60 * 3);
  expect(report.seqsInCurrentEpoch).toBe(60 * 3);
  expect(report.visitorsKnown).toBe(60);
}, 60_000);

it('redis-server restarted without persistence: a new epoch, no id reused, new changes delivered, instances recover', async () => {
  const { report, epoch, epochBefore, epochs } = await restartRun(false);
  expect(epochBefore).toMatch(/^[0-9a-f]{12}$/);
  expect(epoch).not.toBe(epochBefore);
  expect(epochs).toEqual(new Set([epochBefore, epoch]));
  expect(report.seqsInTwoEpochs).toBeGreaterThan(0); // seqs started again at 1: only the epoch tells them apart
  expect(report.seqsInCurrentEpoch).toBeGreaterThanOrEqual(60);
  expect(report.visitorsKnown).toBe(60); // every visitor changed after the restart and is current
}, 60_000);
