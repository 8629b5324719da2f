/**
 * Server-to-server delivery against a partner sink on loopback: real-time messages (batching,
 * de-duplicable ids, retries, timeouts, dead letters), batch files with manifests across
 * intervals, the rules file's partners block, and the schedule surviving a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createApp, type App, type AppOptions } from '../src/app';
import { parseRules, RulesError } from '../src/rules/parse';
import { createFolder } from '../src/s2s/fold';
import { createMemoryStore } from '../src/stores/memory';
import { call, newUid, pageEvent, post, trackEvent, type Json } from './support/server';
import { startSink, waitFor } from './support/partner-sink';
import { S2S_TRAITS, s2sSegments } from './support/s2s-rules';

const base = { traits: S2S_TRAITS, segments: s2sSegments(100) };
const rulesWith = (partners: Json[]) => ({ ...base, partners });
const realtime = (url: string, extra: Json = {}) => ({
  id: 'rt',
  type: 'realtime',
  url,
  intervalSeconds: 1,
  segments: ['sports'],
  retries: 5,
  retryBaseMs: 10,
  ...extra,
});

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function app(options: Partial<AppOptions> & { rules: object }) {
  const a = createApp({ watchRulesMs: 0, demo: false, s2sTickMs: 50, store: createMemoryStore(), ...options });
  await a.ready();
  cleanup.push(() => a.close());
  return a;
}
const sports = (a: App, uid: string) => post(a, call(uid, [pageEvent({ c_section: 'sports' })]));
const buy = (a: App, uid: string) => post(a, call(uid, [trackEvent('buy')]));
const metric = async (a: App, name: string) =>
  (await a.admin.inject('/metrics')).body
    .split('\n')
    .filter((l) => l.startsWith(name))
    .join('\n');

describe('partners in the rules file', () => {
  const problems = (partners: unknown) => {
    try {
      parseRules({ ...base, partners });
      return [];
    } catch (e) {
      return (e as RulesError).problems;
    }
  };

  it('fills in the defaults', () => {
    const r = parseRules(
      rulesWith([
        { id: 'p1', type: 'realtime', url: 'https://partner.example/in', intervalSeconds: 60, segments: 'all' },
        { id: 'b1', type: 'batch', dir: '/tmp/x', segments: ['sports'] },
      ]),
    );
    expect(r.partners).toEqual([
      {
        id: 'p1',
        type: 'realtime',
        url: 'https://partner.example/in',
        intervalSeconds: 60,
        segments: 'all',
        maxUsersPerMessage: 10,
        maxInFlight: 1,
        timeoutMs: 3000,
        retries: 3,
        retryBaseMs: 1000,
        headers: {},
      },
      {
        id: 'b1',
        type: 'batch',
        intervalHours: 24,
        dir: '/tmp/x',
        format: 'csv',
        gzip: false,
        mode: 'full',
        segments: ['sports'],
      },
    ]);
  });

  it('names the partner in every problem', () => {
    expect(
      problems([
        {
          id: 'p1',
          type: 'realtime',
          url: 'ftp://x',
          intervalSeconds: 0.5,
          segments: ['nope'],
          maxUsersPerMessage: 0,
          maxInFlight: 17,
          headers: { Host: 'x', 'x-k': 'a\nb' },
        },
        { id: 'b1', type: 'batch', dir: '', format: 'xml', mode: 'delta', segments: [], gzip: 'yes' },
        { id: 'p1', type: 'pixel' },
        { id: 'b2', type: 'batch', dir: 'out', segments: 'all', extra: 1 },
      ]),
    ).toEqual([
      'partner "p1": url must be an http(s) URL, got "ftp://x"',
      'partner "p1": header name "Host" is not allowed',
      'partner "p1": header "x-k" must be a one-line string',
      'partner "p1": intervalSeconds must be a number in [1, 86400], got 0.5',
      'partner "p1": unknown segment "nope"',
      'partner "p1": maxUsersPerMessage must be a whole number in [1, 1000], got 0',
      'partner "p1": maxInFlight must be a whole number in [1, 16], got 17',
      'partner "b1": dir must be a directory path',
      'partner "b1": format must be "csv" or "ndjson", got "xml"',
      'partner "b1": mode must be "full" or "incremental", got "delta"',
      'partner "b1": gzip must be true or false',
      'partner "b1": segments must be "all" or a non-empty array of segment ids',
      'partner "p1": duplicate id',
      'partner "p1": type must be "realtime" or "batch", got "pixel"',
      'partner "b2": unknown key "extra"',
    ]);
  });
});

describe('a rules file from before the rename', () => {
  it('a `destinations` block is rejected with a problem saying it is now `partners`', () => {
    let error: unknown;
    try {
      parseRules({ ...base, destinations: [{ id: 'b1', type: 'batch', dir: '/tmp/x', segments: 'all' }] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RulesError);
    expect((error as RulesError).problems).toEqual([
      'destinations: renamed to "partners" (the server-to-server partners); rename the key',
    ]);
  });
});

describe('folding outbox rows: latest state per visitor wins', () => {
  it('reports a segment entered and left in one range as removed only; honours the user cap', () => {
    const f = createFolder(['a', 'b'], 2);
    const row = (seq: number, uid: string, entered: string[], exited: string[], segments: string[]) => ({
      seq,
      uid,
      entered,
      exited,
      at: seq,
      v: seq * 10,
      segments,
      epoch: 'e',
    });
    expect(f.add(row(1, 'u1', ['a', 'b', 'z'], [], ['a', 'b', 'z']))).toBe(true);
    expect(f.add(row(2, 'u1', [], ['b'], ['a', 'z']))).toBe(true);
    expect(f.add(row(3, 'u2', ['z'], [], ['z']))).toBe(true); // nothing mapped
    expect(f.add(row(4, 'u3', ['a'], [], ['a']))).toBe(true);
    expect(f.add(row(5, 'u4', ['a'], [], ['a']))).toBe(false);
    expect(f.add(row(6, 'u1', ['b'], ['a'], ['b', 'z']))).toBe(true);
    expect(f.users).toEqual([
      { uid: 'u1', segments: { added: ['b'], removed: ['a'], current: ['b'] }, ts: 6, v: 60 },
      { uid: 'u3', segments: { added: ['a'], removed: [], current: ['a'] }, ts: 4, v: 40 },
    ]);
  });
});

describe('real-time server-to-server', () => {
  it('1,000 visitors, 30% of requests failing: every change arrives once after de-duplication by id, in time', async () => {
    // Requests 0-2 of every 10 fail: at most three failures in a row, so no message runs out of retries.
    const sink = await startSink((n) => (n % 10 < 3 ? { status: n % 20 < 10 ? 503 : 429 } : {}));
    cleanup.push(() => sink.close());
    const a = await app({ rules: rulesWith([realtime(sink.url)]) });

    const qualifiedAt = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const uid = newUid();
      const { json } = await sports(a, uid);
      expect(json.segments).toContain('sports');
      qualifiedAt.set(uid, Date.now());
    }
    const delivered = () => new Set(sink.accepted().flatMap((m) => m.body.users.map((u: Json) => u.uid)));
    await waitFor(() => delivered().size == 1000, 30_000, 'every visitor at the sink');

    const accepted = sink.accepted();
    const seen = new Map<string, string>();
    for (const m of accepted) {
      expect(m.header).toBe(m.id);
      expect(m.body).toMatchObject({ partner: 'rt', sentAt: expect.any(String) });
      expect(m.body.users.length).toBeGreaterThan(0);
      expect(m.body.users.length).toBeLessThanOrEqual(10);
      for (const u of m.body.users) {
        expect(seen.has(u.uid), `${u.uid} in ${seen.get(u.uid)} and ${m.id}`).toBe(false);
        seen.set(u.uid, m.id);
        expect(u.segments).toEqual({ added: ['sports'], removed: [], current: ['sports'] }); // nonbuyer is not mapped
        expect(u.ts).toBeGreaterThan(0);
        // The 1 s interval plus retry time (backoffs of 10-80 ms, a backlog sent back to back) with slack for a busy machine.
        expect(m.at - qualifiedAt.get(u.uid)!).toBeLessThan(1000 + 4000);
      }
    }
    expect([...seen.keys()].sort()).toEqual([...qualifiedAt.keys()].sort());
    const failed = sink.received.filter((r) => r.answer != 200);
    expect(failed.length).toBeGreaterThanOrEqual(Math.floor(sink.received.length * 0.25));
    // A failed message is resent under the same id, and its body unchanged.
    for (const f of failed) expect(accepted.find((m) => m.id == f.id)?.body).toEqual(f.body);

    // The sink may hold the last message before the server has recorded its answer.
    const depth = async () => (await a.s2s!.measure(), await metric(a, 'segtag_s2s_queue_depth'));
    await waitFor(async () => (await depth()) == 'segtag_s2s_queue_depth{partner="rt"} 0', 5_000, 'an empty outbox');
    expect(await metric(a, 'segtag_s2s_oldest_undelivered_seconds')).toBe(
      'segtag_s2s_oldest_undelivered_seconds{partner="rt"} 0',
    );
    expect(await metric(a, 'segtag_s2s_deliveries_total')).toBe(
      `segtag_s2s_deliveries_total{partner="rt"} ${accepted.length}`,
    );
    expect(await metric(a, 'segtag_s2s_failures_total')).toMatch(/reason="status"} \d+/);
  }, 60_000);

  it('one entry per visitor in a message: the latest state wins', async () => {
    const sink = await startSink();
    cleanup.push(() => sink.close());
    const a = await app({ rules: rulesWith([realtime(sink.url, { segments: 'all', intervalSeconds: 2 })]) });
    await waitFor(() => a.s2s !== undefined, 1000);
    await new Promise((r) => setTimeout(r, 100)); // past the first (empty) flush
    const uid = newUid();
    await sports(a, uid);
    await buy(a, uid);
    await waitFor(() => sink.accepted().length == 1, 5000, 'the message');
    expect(sink.accepted()[0].body.users).toEqual([
      {
        uid,
        segments: { added: ['sports'], removed: ['nonbuyer'], current: ['sports'] },
        ts: expect.any(Number),
        v: expect.any(Number),
      },
    ]);
  });

  it('a partner that hangs times out and gets the same message again; a slow one within the timeout is fine', async () => {
    const sink = await startSink((n) => (n == 0 ? { hang: true } : { delayMs: 100 }));
    cleanup.push(() => sink.close());
    const a = await app({ rules: rulesWith([realtime(sink.url, { timeoutMs: 300 })]) });
    const uid = newUid();
    await sports(a, uid);
    await waitFor(() => sink.accepted().length == 1, 5000, 'the resend');
    expect(sink.received.map((r) => r.answer)).toEqual(['hang', 200]);
    expect(sink.received[1].id).toBe(sink.received[0].id);
    expect(sink.received[1].body).toEqual(sink.received[0].body);
    expect(await metric(a, 'segtag_s2s_failures_total')).toBe(
      'segtag_s2s_failures_total{partner="rt",reason="timeout"} 1',
    );
  });

  it('after the last retry a dead letter, which `retry` resends under its id; a 4xx is not retried', async () => {
    const sink = await startSink(() => ({ status: 503 }));
    cleanup.push(() => sink.close());
    const a = await app({ rules: rulesWith([realtime(sink.url, { retries: 2 })]) });
    const outbox = a.store!.outbox!;
    const u1 = newUid();
    await sports(a, u1);
    await waitFor(async () => (await outbox.deadLetters('rt')).length == 1, 5000, 'the dead letter');
    expect(sink.received.length).toBe(3); // the first attempt and two retries
    const [letter] = await outbox.deadLetters('rt');
    expect(letter).toMatchObject({ partner: 'rt', id: sink.received[0].id, error: 'HTTP 503' });

    sink.behave = () => ({ status: 400 });
    const u2 = newUid();
    await sports(a, u2);
    await waitFor(async () => (await outbox.deadLetters('rt')).length == 2, 5000, 'the second dead letter');
    expect(sink.received.length).toBe(4); // one attempt: a 400 will not get better

    sink.behave = () => ({});
    expect(await a.s2s!.retry('rt')).toEqual({ delivered: 2, failed: 0 });
    expect(await outbox.deadLetters('rt')).toEqual([]);
    const ids = sink.accepted().map((m) => m.id);
    expect(ids).toEqual([sink.received[0].id, sink.received[3].id]);
    expect(sink.accepted().flatMap((m) => m.body.users.map((u: Json) => u.uid))).toEqual([u1, u2]);
    expect(await metric(a, 'segtag_s2s_dead_letters_total')).toBe('segtag_s2s_dead_letters_total{partner="rt"} 2');
  });
});

describe('batch server-to-server files', () => {
  const readManifests = (dir: string) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.manifest.json'))
      .sort()
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
  const contents = (dir: string, m: Json) => {
    const bytes = readFileSync(join(dir, m.file));
    expect(bytes.length).toBe(m.bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(m.sha256);
    return (m.gzip ? gunzipSync(bytes) : bytes).toString('utf8');
  };

  it('full = every profile, incremental = the changes, with correct manifests across two intervals', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'segtag-batch-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const a = await app({
      s2s: false,
      rules: rulesWith([
        {
          id: 'full',
          type: 'batch',
          dir: join(dir, 'full'),
          format: 'csv',
          mode: 'full',
          segments: ['sports', 'nonbuyer'],
        },
        {
          id: 'inc',
          type: 'batch',
          dir: join(dir, 'inc'),
          format: 'ndjson',
          gzip: true,
          mode: 'incremental',
          segments: ['sports', 'nonbuyer'],
        },
      ]),
    });
    const first = Array.from({ length: 30 }, () => newUid());
    for (const uid of first) await sports(a, uid);
    const f1 = (await a.s2s!.run('full')).manifest!;
    const i1 = (await a.s2s!.run('inc')).manifest!;

    const buyers = first.slice(0, 10);
    const second = Array.from({ length: 5 }, () => newUid());
    for (const uid of buyers) await buy(a, uid);
    for (const uid of second) await sports(a, uid);
    await new Promise((r) => setTimeout(r, 5)); // the second period is not empty in time
    const f2 = (await a.s2s!.run('full')).manifest!;
    const i2 = (await a.s2s!.run('inc')).manifest!;

    const fulls = readManifests(join(dir, 'full'));
    const incs = readManifests(join(dir, 'inc'));
    expect(fulls).toEqual([f1, f2]);
    expect(incs).toEqual([i1, i2]);
    expect(f1).toMatchObject({ version: 1, partner: 'full', format: 'csv', gzip: false, mode: 'full', rows: 30 });
    expect(f1.file).toMatch(/^full-\d{8}T\d{6}\.\d{3}Z\.csv$/);
    expect(i1.file).toMatch(/\.ndjson\.gz$/);
    expect(f2.period.from).toBe(f1.period.to);
    expect(i2.period.from).toBe(i1.period.to);
    expect(i2.outbox!.afterSeq).toBe(i1.outbox!.toSeq);

    const csvRows = (text: string) => {
      const [header, ...lines] = text.trimEnd().split('\n');
      expect(header).toBe('uid,segments');
      return Object.fromEntries(lines.map((l) => l.split(',')));
    };
    const full1 = csvRows(contents(join(dir, 'full'), f1));
    expect(full1).toEqual(Object.fromEntries(first.map((u) => [u, 'sports|nonbuyer'])));
    const full2 = csvRows(contents(join(dir, 'full'), f2));
    expect(Object.keys(full2)).toHaveLength(35);
    expect(f2.rows).toBe(35);
    // The file equals the profiles in the store.
    for (const uid of [...first, ...second]) {
      const profile = await a.store!.get(uid);
      expect(full2[uid]).toBe(profile!.segments.filter((s) => s != 'heavy').join('|'));
    }
    for (const uid of buyers) expect(full2[uid]).toBe('sports');

    const ndjson = (m: Json) =>
      contents(join(dir, 'inc'), m)
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
    const inc1 = ndjson(i1);
    expect(i1.rows).toBe(30);
    expect(inc1.map((r) => r.uid).sort()).toEqual([...first].sort());
    for (const r of inc1)
      expect(r).toEqual({ uid: r.uid, added: ['sports', 'nonbuyer'], removed: [], ts: expect.any(Number) });
    const inc2 = ndjson(i2);
    expect(i2.rows).toBe(15);
    expect(inc2).toEqual([
      ...buyers.map((uid) => ({ uid, added: [], removed: ['nonbuyer'], ts: expect.any(Number) })),
      ...second.map((uid) => ({ uid, added: ['sports', 'nonbuyer'], removed: [], ts: expect.any(Number) })),
    ]);
    expect(readdirSync(join(dir, 'inc')).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('the schedule lives in the store: files every interval, and a run missed while stopped happens at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'segtag-sched-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const options = {
      store: `sqlite:${join(dir, 'db.sqlite')}`,
      rules: rulesWith([
        { id: 'b', type: 'batch', dir: join(dir, 'out'), intervalHours: 1 / 3600, mode: 'full', segments: 'all' },
      ]),
    };
    const manifests = () =>
      existsSync(join(dir, 'out'))
        ? readdirSync(join(dir, 'out')).filter((f) => f.endsWith('.manifest.json')).length
        : 0;
    const a1 = await app(options);
    await sports(a1, newUid());
    await waitFor(() => manifests() >= 2, 6000, 'two scheduled files');
    await a1.close();
    const before = manifests();
    await new Promise((r) => setTimeout(r, 1200)); // a run is missed
    const a2 = await app(options);
    await waitFor(() => manifests() > before, 500, 'the missed run at start');
    await a2.close();
    const all = readManifests(join(dir, 'out'));
    for (let i = 1; i < all.length; i++) expect(all[i].period.from).toBe(all[i - 1].period.to);
  }, 15_000);
});
