/**
 * Several messages in flight per real-time partner (`maxInFlight`): the rows are split into
 * lanes by a hash of the visitor id, so a visitor is never in two requests at once and its
 * versions arrive in order; the cursor moves past a window only once every message of it is
 * done. With a partner answering in 100 ms, four lanes deliver about four times as fast as one.
 */
import { afterEach, expect, it } from 'vitest';
import { createApp, type App } from '../src/app';
import { flushRealtime, laneOf, loadState } from '../src/s2s/realtime';
import { createMemoryStore } from '../src/stores/memory';
import { startSink } from './support/partner-sink';
import { call, newUid, pageEvent, post, trackEvent, type Json } from './support/server';
import { S2S_TRAITS, s2sSegments } from './support/s2s-rules';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

it('laneOf spreads visitors over the lanes and always puts one visitor in the same lane', () => {
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[laneOf(`visitor-${i}`, 4)]++;
  for (const c of counts) expect(c).toBeGreaterThan(800);
  expect(laneOf('abc', 4)).toBe(laneOf('abc', 4));
  expect(laneOf('abc', 1)).toBe(0);
});

/** 160 visitors with two changes each, delivered with `maxInFlight` lanes to a partner answering in 100 ms. */
async function run(maxInFlight: number) {
  const sink = await startSink(() => ({ delayMs: 100 }));
  cleanup.push(() => sink.close());
  const store = createMemoryStore();
  const rules = {
    traits: S2S_TRAITS,
    segments: s2sSegments(),
    partners: [
      {
        id: 'rt',
        type: 'realtime',
        url: sink.url,
        intervalSeconds: 1,
        segments: 'all',
        maxUsersPerMessage: 10,
        maxInFlight,
      },
    ],
  };
  const a: App = createApp({ rules, store, s2s: false, watchRulesMs: 0, demo: false });
  await a.ready();
  cleanup.push(() => a.close());
  const uids = Array.from({ length: 160 }, () => newUid());
  for (const uid of uids) expect((await post(a, call(uid, [pageEvent({ c_section: 'sports' })]))).status).toBe(200);
  for (const uid of uids) expect((await post(a, call(uid, [trackEvent('buy')]))).status).toBe(200);
  const outbox = store.outbox!;
  const partner = a.rules.partners[0] as Parameters<typeof flushRealtime>[0];
  const started = Date.now();
  // The rules file's maxInFlight, as the scheduler passes it.
  expect(partner.maxInFlight).toBe(maxInFlight);
  const result = await flushRealtime(partner, { outbox, now: Date.now });
  const ms = Date.now() - started;

  // Every row delivered once: the accepted ids' ranges cover 1..lastSeq, no id twice, no dead letter.
  const lastSeq = await outbox.lastSeq();
  expect((await loadState(outbox, 'rt')).cursor).toBe(lastSeq);
  expect(new Set(sink.received.map((r) => r.id)).size).toBe(sink.received.length);
  expect(result.dead).toBe(0);
  const covered = new Set<number>();
  for (const r of sink.received) {
    const [from, to] = r.id.split(':')[2].split('-').map(Number);
    for (let s = from; s <= to; s++) covered.add(s);
  }
  expect(covered.size).toBe(lastSeq);

  // Per visitor: versions increase in arrival order, and the newest equals the store.
  const seen = new Map<string, { v: number; current: string }>();
  let outOfOrder = 0;
  for (const r of [...sink.received].sort((x, y) => x.n - y.n))
    for (const u of r.body.users as Json[]) {
      const had = seen.get(u.uid);
      if (had && u.v <= had.v) outOfOrder++;
      seen.set(u.uid, { v: u.v, current: [...u.segments.current].sort().join(',') });
    }
  let stale = 0;
  for (const uid of uids)
    if (seen.get(uid)?.current != [...((await store.get(uid))?.segments ?? [])].sort().join(',')) stale++;

  // No visitor in two requests in flight at once.
  let sameVisitorInFlight = 0;
  for (const [i, x] of sink.received.entries())
    for (const y of sink.received.slice(i + 1)) {
      if (y.at >= x.repliedAt! || x.at >= y.repliedAt!) continue;
      const xs = new Set((x.body.users as Json[]).map((u) => u.uid));
      if ((y.body.users as Json[]).some((u) => xs.has(u.uid))) sameVisitorInFlight++;
    }
  await a.close();
  return {
    maxInFlight,
    rows: lastSeq,
    messages: sink.received.length,
    maxObservedInFlight: sink.maxInFlight,
    ms,
    outOfOrder,
    stale,
    sameVisitorInFlight,
  };
}

it('four lanes against a 100 ms partner: about four times the throughput, a visitor never in two requests, in order', async () => {
  const one = await run(1);
  const four = await run(4);
  console.log(`maxInFlight: ${JSON.stringify({ one, four, speedup: +(one.ms / four.ms).toFixed(2) })}`);
  expect(one.maxObservedInFlight).toBe(1);
  expect(four.maxObservedInFlight).toBe(4);
  for (const r of [one, four]) {
    expect(r.rows).toBe(320);
    expect(r.outOfOrder).toBe(0);
    expect(r.stale).toBe(0);
    expect(r.sameVisitorInFlight).toBe(0);
  }
  expect(one.ms / four.ms).toBeGreaterThan(2.5);
}, 30_000);

it('four lanes, a partner failing 30%, stopped mid-flight and resumed, then back to one lane: every row once per id, in order', async () => {
  let n = 0;
  const sink = await startSink(() => (n++ % 10 < 3 ? { status: 503 } : { delayMs: 20 }));
  cleanup.push(() => sink.close());
  const store = createMemoryStore();
  const rules = {
    traits: S2S_TRAITS,
    segments: s2sSegments(),
    partners: [
      {
        ...{ id: 'rt', type: 'realtime', url: sink.url, intervalSeconds: 1, segments: 'all', maxUsersPerMessage: 5 },
        ...{ retries: 20, retryBaseMs: 5 },
      },
    ],
  };
  const a: App = createApp({ rules, store, s2s: false, watchRulesMs: 0, demo: false });
  await a.ready();
  cleanup.push(() => a.close());
  const uids = Array.from({ length: 60 }, () => newUid());
  for (const uid of uids) await post(a, call(uid, [pageEvent({ c_section: 'sports' })]));
  for (const uid of uids) await post(a, call(uid, [trackEvent('buy')]));
  const outbox = store.outbox!;
  const partner = a.rules.partners[0] as Parameters<typeof flushRealtime>[0];

  // Stopped with messages in flight: each lane keeps its pending message.
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 60);
  await flushRealtime(partner, { outbox, now: Date.now, maxInFlight: 4, signal: stop.signal });
  const saved = await loadState(outbox, 'rt');
  expect(saved.lanes).toHaveLength(4);
  expect(saved.cursor).toBeLessThan(await outbox.lastSeq());
  // Resumed with another lane count: the saved lanes finish first (same ids, same bodies) ...
  await flushRealtime(partner, { outbox, now: Date.now, maxInFlight: 1 });
  const drained = await loadState(outbox, 'rt');
  expect(drained).toEqual({ cursor: await outbox.lastSeq() }); // ... then the state is one cursor again
  // New rows go through one lane.
  const more = Array.from({ length: 10 }, () => newUid());
  for (const uid of more) await post(a, call(uid, [pageEvent({ c_section: 'sports' })]));
  await flushRealtime(partner, { outbox, now: Date.now, maxInFlight: 1 });
  const lastSeq = await outbox.lastSeq();
  expect(lastSeq).toBe(drained.cursor + 10);
  expect(sink.accepted().at(-1)!.id).toMatch(/^rt:[0-9a-f]+:\d+-\d+$/); // the one-lane id: no lane suffix
  expect((await loadState(outbox, 'rt')).cursor).toBe(lastSeq);
  expect(await outbox.deadLetters('rt')).toEqual([]);

  const bodies = new Map<string, string>();
  for (const r of sink.received) {
    const body = JSON.stringify(r.body);
    expect(bodies.get(r.id) ?? body, `id ${r.id} with two bodies`).toBe(body);
    bodies.set(r.id, body);
  }
  const covered = new Set<number>();
  const seen = new Map<string, number>();
  let outOfOrder = 0;
  for (const m of sink.accepted()) {
    const [from, to] = m.id.split(':')[2].split('-').map(Number);
    for (let s = from; s <= to; s++) covered.add(s);
    for (const u of m.body.users as Json[]) {
      if (u.v <= (seen.get(u.uid) ?? 0)) outOfOrder++;
      seen.set(u.uid, u.v);
    }
  }
  expect(covered.size).toBe(lastSeq);
  expect(outOfOrder).toBe(0);
  for (const uid of [...uids, ...more])
    expect((await store.get(uid))?.segments.slice().sort()).toEqual(
      sink
        .accepted()
        .flatMap((m) => m.body.users as Json[])
        .filter((u) => u.uid == uid)
        .at(-1)!
        .segments.current.sort(),
    );
});
