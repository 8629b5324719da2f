/**
 * Three `segtag-server` processes (the built CLI) on one real redis-server, a partner that fails
 * 30% of its requests and never answers 5% of them, a stream of profile changes spread over the
 * three, and the owner of the real-time partner killed with SIGKILL mid-run, then restarted.
 * Afterwards: every outbox row reached the partner (the accepted message ids cover every seq),
 * no id arrived with two different bodies, the partner's newest-version view equals the store's
 * segments for every visitor, one batch file per period with a matching manifest, and the
 * takeover happened within the documented bound (the lease time plus a second at most).
 */
import { afterEach, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRedisStore } from '../src/stores/redis';
import { exited, instanceLauncher, stopCli, type CliServer } from './support/cli-process';
import { startSink, waitFor } from './support/partner-sink';
import { startRedis } from './support/redis-server';
import { newUid, pageEvent, rtcSegmentsOverHttp, trackEvent, type Json } from './support/server';
import { S2S_TRAITS, fastRetryingPartner, flakyAnswers, s2sSegments } from './support/s2s-rules';

const LEASE_MS = 2000;
/** The documented bound (docs/server-to-server.md): the lease time, one attempt interval, one tick. */
const BOUND_MS = LEASE_MS + Math.min(1000, LEASE_MS / 10) + 250;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

it('three instances, a flaky partner, the owner killed and restarted: complete, consistent, never stale', async () => {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'segtag-scaleout-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const redis = await startRedis();
  cleanup.push(() => redis.stop());
  const sink = await startSink(flakyAnswers());
  cleanup.push(() => sink.close());
  const out = join(dir, 'out');
  const rules = {
    traits: S2S_TRAITS,
    segments: s2sSegments(3),
    partners: [
      fastRetryingPartner(sink.url),
      { id: 'files', type: 'batch', dir: out, intervalHours: 2 / 3600, segments: 'all', format: 'csv' },
    ],
  };
  const launch = instanceLauncher(
    dir,
    rules,
    ['--store', redis.url, '--s2s-lease-ms', String(LEASE_MS), '--log-level', 'error'],
    cleanup,
  );
  const servers: (CliServer | undefined)[] = [await launch(), await launch(), await launch()];
  const live = () => servers.filter((s): s is CliServer => !!s);
  // The lease gauge each instance exports: 1 on the partner's owner.
  const holds = async (s: CliServer, partner: string) =>
    (await (await fetch(`${s.adminUrl}/metrics`)).text()).includes(`segtag_s2s_lease_held{partner="${partner}"} 1\n`);
  const owners = async (partner: string) => {
    const found: number[] = [];
    for (const [i, s] of servers.entries()) if (s && (await holds(s, partner))) found.push(i);
    return found;
  };
  await waitFor(async () => (await owners('rt')).length == 1, 5000, 'an owner of rt');

  // The stream of changes: every visitor enters sports+nonbuyer, leaves nonbuyer, enters heavy.
  const uids = Array.from({ length: 120 }, () => newUid());
  let calls = 0;
  let changes = 0;
  const last = new Map<string, string>();
  const send = async (uid: string, event: Json) => {
    for (let attempt = 0; ; attempt++) {
      const targets = live();
      const s = targets[calls++ % targets.length];
      try {
        const segments = await rtcSegmentsOverHttp(s.url, uid, event);
        if (segments != (last.get(uid) ?? '')) changes++;
        last.set(uid, segments);
        return;
      } catch (e) {
        // The instance was killed under the call: the same event again elsewhere (de-duplicated by id).
        if (attempt > 5) throw e;
      }
    }
  };
  const round = async (event: () => Json) => {
    for (let i = 0; i < uids.length; i += 6) {
      await Promise.all(uids.slice(i, i + 6).map((uid) => send(uid, event())));
      await new Promise((r) => setTimeout(r, 40)); // a stream over seconds, not one burst
    }
  };
  const sports = () => pageEvent({ c_section: 'sports' });
  const buy = () => trackEvent('buy');
  const page = () => pageEvent();

  await round(sports);
  // Kill the owner of the real-time partner in the middle of the stream, with messages in flight.
  const [victim] = await owners('rt');
  const killedAt = Date.now();
  servers[victim]!.child.kill('SIGKILL');
  await exited(servers[victim]!.child);
  servers[victim] = undefined;
  const secondRound = round(buy);
  await waitFor(async () => (await owners('rt')).length == 1, BOUND_MS + 2000, 'a new owner of rt');
  const failoverMs = Date.now() - killedAt;
  await secondRound;
  servers[victim] = await launch(); // the killed one comes back and competes again
  await round(page);
  await round(page); // the third page view: heavy

  // Consistency: the partner's newest-version view equals the store for every visitor.
  const store = await openRedisStore(redis.url);
  cleanup.push(() => store.close());
  const newest = () => {
    const view = new Map<string, { v: number; current: string }>();
    for (const m of sink.accepted())
      for (const u of m.body.users) {
        const had = view.get(u.uid);
        if (!had || u.v > had.v) view.set(u.uid, { v: u.v, current: [...u.segments.current].sort().join(',') });
      }
    return view;
  };
  const stale = async () => {
    const view = newest();
    let count = 0;
    for (const uid of uids) {
      const segments = [...((await store.get(uid))?.segments ?? [])].sort().join(',');
      if (view.get(uid)?.current != segments) count++;
    }
    return count;
  };
  await waitFor(async () => (await stale()) == 0, 20_000, 'the partner current for every visitor');

  // Every seq reached the partner: the accepted ids' ranges cover 1..lastSeq without a gap.
  const lastSeq = await store.outbox!.lastSeq();
  const covered = new Set<number>();
  for (const m of sink.accepted()) {
    const [, epoch, range] = m.id.split(':');
    expect(epoch).toMatch(/^[0-9a-f]{12}$/);
    const [from, to] = range.split('-').map(Number);
    for (let s = from; s <= to; s++) covered.add(s);
  }
  const dead = await store.outbox!.deadLetters('rt');
  expect(dead).toEqual([]);
  expect(covered.size).toBe(lastSeq);
  expect(Math.max(...covered)).toBe(lastSeq);

  // No id with two bodies; count the duplicates a partner de-duplicates away.
  const bodies = new Map<string, string>();
  for (const r of sink.received) {
    const body = JSON.stringify(r.body);
    expect(bodies.get(r.id) ?? body, `id ${r.id} arrived with two bodies`).toBe(body);
    bodies.set(r.id, body);
  }
  const acceptedIds = new Set(sink.received.filter((r) => r.answer == 200).map((r) => r.id));
  const duplicates = sink.received.filter((r) => r.answer == 200).length - acceptedIds.size;

  // Stop cleanly (SIGTERM: exit 0), then check the batch files: one per period, each matching its manifest.
  for (const s of live()) expect(await stopCli(s)).toBe(0);
  const names = existsSync(out) ? readdirSync(out) : [];
  const manifests = names
    .filter((f) => f.endsWith('.manifest.json'))
    .map((f) => JSON.parse(readFileSync(join(out, f), 'utf8')))
    .sort((a, b) => a.period.from.localeCompare(b.period.from));
  expect(manifests.length).toBeGreaterThanOrEqual(3);
  for (const [i, m] of manifests.entries()) {
    expect(
      createHash('sha256')
        .update(readFileSync(join(out, m.file)))
        .digest('hex'),
    ).toBe(m.sha256);
    if (i) expect(m.period.from).toBe(manifests[i - 1].period.to); // periods follow each other: one file each
  }
  const dataFiles = names.filter((f) => !f.startsWith('.') && !f.endsWith('.manifest.json'));
  expect(dataFiles.sort()).toEqual(manifests.map((m) => m.file).sort());

  const report = {
    changes,
    calls,
    seqs: lastSeq,
    messagesAccepted: acceptedIds.size,
    received: sink.received.length,
    duplicatesById: duplicates,
    stale: await stale(),
    failoverMs,
    boundMs: BOUND_MS,
    batchFiles: manifests.length,
    seconds: (Date.now() - started) / 1000,
  };
  console.log(`three-instance run: ${JSON.stringify(report)}`);
  expect(changes).toBe(uids.length * 3);
  expect(failoverMs).toBeLessThanOrEqual(BOUND_MS + 500); // + the metrics polling and a busy machine
}, 90_000);
