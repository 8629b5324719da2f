/**
 * POST /v1/rtc through fastify.inject: the protocol, bad input and limits, logs, store failures,
 * CORS, metrics, health, static files; and over real loopback HTTP what only a socket shows
 * (chunked uploads, raw paths, keep-alive on close).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseResponse, UID } from 'segtag/protocol';
import { createApp, type App } from '../src/app';
import { moduleFile } from '../src/http/static';
import { encodeProfile } from '../src/profiles/profile';
import { createMemoryStore } from '../src/stores/memory';
import { StoreUnavailableError, type ProfileStore } from '../src/stores/types';
import { call, logSink, newUid, pageEvent, post, RULES, trackEvent, withApp, type Json } from './support/server';

const UID_A = 'aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa';

describe('POST /v1/rtc: the protocol', () => {
  const store = createMemoryStore();
  const s = withApp({ store });

  it('a first call: new uid, segments in rules order, ttl, tid, ack', async () => {
    const event = pageEvent({ c_section: 'sports' });
    const { status, res, json } = await post(s.app, call(undefined, [event]));
    expect(status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json.uid).toMatch(UID);
    expect(json).toEqual({
      uid: json.uid,
      segments: ['1001', '1004'],
      ttl: 30,
      tid: expect.any(String),
      ack: [event.id],
    });
    // The SDK's own response parser accepts the answer as is (tid is for the server's logs).
    expect(parseResponse(json)).toEqual({ uid: json.uid, segments: ['1001', '1004'], ttl: 30, ack: json.ack });
    // The assigned uid has a profile.
    expect((await store.get(json.uid))?.segments).toEqual(['1001', '1004']);
  });

  it('a valid uid is kept (no uid in the answer); a malformed string one is replaced', async () => {
    const kept = await post(s.app, call(UID_A, [pageEvent()]));
    expect(kept.status).toBe(200);
    expect(kept.json).not.toHaveProperty('uid');
    for (const bad of ['short', 'has space in it', 'x'.repeat(65), '../../etc']) {
      const { status, json } = await post(s.app, call(bad, [pageEvent()]));
      expect(status).toBe(200);
      expect(json.uid).toMatch(UID);
      expect(json.uid).not.toBe(bad);
    }
  });

  it('transaction ids differ per call; an empty call is answered', async () => {
    const a = await post(s.app, call(UID_A, []));
    const b = await post(s.app, call(UID_A, []));
    expect(a.json.tid).not.toBe(b.json.tid);
    expect(a.json.ack).toEqual([]);
  });

  it('atLeast counts events; a resent event id is acked but never counted twice', async () => {
    const uid = newUid();
    const first = pageEvent();
    const second = pageEvent();
    expect((await post(s.app, call(uid, [first]))).json.segments).toEqual([]);
    const resent = await post(s.app, call(uid, [first]));
    expect(resent.json).toMatchObject({ segments: [], ack: [first.id] });
    const doubled = await post(s.app, call(uid, [second, second, first]));
    expect(doubled.json).toMatchObject({ segments: [], ack: [second.id, first.id] });
    const third = await post(s.app, call(uid, [pageEvent()]));
    expect(third.json.segments).toEqual(['1003']);
  });

  it('one visitor accumulates traits across calls and events', async () => {
    const uid = newUid();
    expect((await post(s.app, call(uid, [trackEvent('video_start', { c_genre: 'f1' })]))).json.segments).toEqual([
      '1002',
      '1004',
    ]);
    const later = await post(s.app, call(uid, [pageEvent({ c_section: 'sports' }), pageEvent(), pageEvent()]));
    expect(later.json.segments).toEqual(['1001', '1002', '1003', '1004']);
    const profile = (await store.get(uid))!;
    expect(profile.segments).toEqual(['1001', '1002', '1003', '1004']);
    expect(profile.lastSeen).toBeGreaterThan(Date.now() - 10_000);
  });

  it('the body is JSON whatever the content type says, or without one', async () => {
    expect(
      (await post(s.app, call(UID_A, [pageEvent()]), { 'content-type': 'application/x-www-form-urlencoded' })).status,
    ).toBe(200);
    expect((await post(s.app, call(UID_A, [pageEvent()]), { 'content-type': 'application/json' })).status).toBe(200);
    const bare = await s.app.fastify.inject({
      method: 'POST',
      url: '/v1/rtc',
      payload: JSON.stringify(call(UID_A, [])),
    });
    expect(bare.statusCode).toBe(200);
  });

  it('accepts the consent state the SDK may send (bounded; not stored)', async () => {
    const consent = {
      gdpr: true,
      tcf: 'CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA',
      gpp: 'DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA',
      gppSid: [2, 7],
      gpc: false,
    };
    const uid = newUid();
    expect((await post(s.app, call(uid, [pageEvent()], { consent }))).status).toBe(200);
    // Everything the store keeps for the visitor, as it writes it: no consent string in it.
    const stored = await store.get(uid);
    expect(stored).toBeDefined();
    expect(encodeProfile(stored!)).not.toMatch(/CPXx|DBABMA/);
  });

  it('other methods on /v1/rtc -> 405', async () => {
    const res = await s.app.fastify.inject({ method: 'GET', url: '/v1/rtc' });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('POST, OPTIONS');
    expect(res.json()).toEqual({ error: 'use POST' });
  });
});

describe('bad input: a 4xx JSON error naming the problem, nothing stored', () => {
  const store = createMemoryStore();
  const s = withApp({ store });
  const good = () => pageEvent({ c_section: 'sports' });
  const manySignals = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i}`, 1]));

  it.each([
    ['not JSON', '{"v":1,', 'body is not valid JSON'],
    ['an empty body', '', 'body is not valid JSON'],
    ['a JSON array', '[1,2]', 'body: must be an object'],
    ['JSON null', 'null', 'body: must be an object'],
    ['v 2', { ...call(UID_A, []), v: 2 }, 'v: must be 1'],
    ['v "1" (no coercion)', { ...call(UID_A, []), v: '1' }, 'v: must be 1'],
    ['no site', { v: 1, uid: UID_A, events: [] }, 'site: is required'],
    ['a bad site', { ...call(UID_A, []), site: 'a b' }, 'site: must match'],
    ['a number uid', call(42 as never, []), 'uid: must be a string'],
    ['a null uid', call(null as never, []), 'uid: must be a string'],
    ['an unknown top-level field', { ...call(UID_A, []), future: [1, 2] }, 'body: unknown field "future"'],
    ['an unknown event field', call(UID_A, [{ ...good(), extra: { deep: 1 } }]), 'events[0]: unknown field "extra"'],
    ['events not an array', { ...call(UID_A, []), events: {} }, 'events: must be an array'],
    [
      '101 events',
      call(
        UID_A,
        Array.from({ length: 101 }, () => good()),
      ),
      'events: too many (max 100)',
    ],
    ['an event that is not an object', call(UID_A, [good(), 'page']), 'events[1]: must be an object'],
    ['an event without id', call(UID_A, [{ ...good(), id: undefined }]), 'events[0].id: is required'],
    ['an event id with spaces', call(UID_A, [{ ...good(), id: 'a b' }]), 'events[0].id: must match'],
    [
      'an unknown event type',
      call(UID_A, [{ ...good(), type: 'click' }]),
      'events[0].type: must be one of "page", "track"',
    ],
    ['a track event without a name', call(UID_A, [{ ...good(), type: 'track' }]), 'events[0].name: is required'],
    ['a string ts', call(UID_A, [{ ...good(), ts: '1' }]), 'events[0].ts: must be a number'],
    ['a negative ts', call(UID_A, [{ ...good(), ts: -1 }]), 'events[0].ts: must be >= 0'],
    ['no url', call(UID_A, [{ ...good(), url: undefined }]), 'events[0].url: is required'],
    [
      'an absurdly long url',
      call(UID_A, [{ ...good(), url: 'https://x/' + 'a'.repeat(9000) }]),
      'events[0].url: too long (max 8192 characters)',
    ],
    [
      'an absurdly long title',
      call(UID_A, [{ ...good(), title: 't'.repeat(2000) }]),
      'events[0].title: too long (max 1024 characters)',
    ],
    ['signals not an object', call(UID_A, [{ ...good(), signals: ['a'] }]), 'events[0].signals: must be an object'],
    ['101 signals', call(UID_A, [pageEvent(manySignals(101))]), 'events[0].signals: too many (max 100)'],
    [
      'an object signal',
      call(UID_A, [pageEvent({ c_x: { a: 1 } })]),
      'events[0].signals.c_x: must be a string, a number, a boolean or an array',
    ],
    ['a null signal', call(UID_A, [pageEvent({ c_x: null })]), 'events[0].signals.c_x: must be a string'],
    [
      'a number in a string[] signal',
      call(UID_A, [pageEvent({ c_x: ['a', 1] })]),
      'events[0].signals.c_x[1]: must be a string',
    ],
    [
      '101 values in a signal',
      call(UID_A, [pageEvent({ c_x: Array.from({ length: 101 }, () => 'v') })]),
      'events[0].signals.c_x: too many (max 100)',
    ],
    [
      'an absurdly long signal value',
      call(UID_A, [pageEvent({ c_x: 'v'.repeat(5000) })]),
      'events[0].signals.c_x: too long (max 1024 characters)',
    ],
    ['an absurdly long signal key', call(UID_A, [pageEvent({ ['k'.repeat(65)]: 1 })]), 'events[0].signals: key "kkkk'],
    ['an empty signal key', call(UID_A, [pageEvent({ '': 1 })]), 'events[0].signals: key "" must have 1-64 characters'],
    ['declared ids not an object', call(UID_A, [good()], { ids: 'crm' }), 'ids: must be an object'],
    ['a declared id that is not a string', call(UID_A, [good()], { ids: { crm: 5 } }), 'ids.crm: must be a string'],
    [
      '21 declared ids',
      call(UID_A, [good()], { ids: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) }),
      'ids: too many (max 20)',
    ],
    ['consent that is not an object', call(UID_A, [good()], { consent: 'yes' }), 'consent: must be an object'],
  ])('%s -> 400', async (_name, body, error) => {
    const before = store.size;
    const { status, json } = await post(s.app, body);
    expect(status).toBe(400);
    expect(json.error).toContain(error);
    expect(Object.keys(json)).toEqual(['error']);
    expect(store.size).toBe(before);
  });

  it('one bad event rejects the whole call: the good ones are not counted either', async () => {
    const uid = newUid();
    const { status } = await post(s.app, call(uid, [good(), { ...good(), signals: null }]));
    expect(status).toBe(400);
    expect(await store.get(uid)).toBeUndefined();
  });

  it('a __proto__ signal is plain data: no pollution, answered normally', async () => {
    const body = `{"v":1,"site":"demo","uid":"${UID_A}","events":[{"id":"p1","type":"page","ts":1,"url":"https://x/","signals":{"__proto__":"x","constructor":"y"}}]}`;
    const { status } = await post(s.app, body);
    expect(status).toBe(200);
    expect(({} as Json).x).toBeUndefined();
  });

  it('the 400 for bad JSON does not echo the body', async () => {
    const { json } = await post(s.app, '{"p_email": "secret@example.com" oops');
    expect(JSON.stringify(json)).not.toContain('secret');
  });

  it('10,000 signals: over 64 KiB -> 413', async () => {
    const { status, json } = await post(s.app, call(UID_A, [pageEvent(manySignals(10_000))]));
    expect(status).toBe(413);
    expect(json).toEqual({ error: 'body too large (max 65536 bytes)' });
  });

  it('a 10 MB uid -> 413, and the server keeps serving', async () => {
    const before = store.size;
    const { status, json } = await post(s.app, call('u'.repeat(10 * 1024 * 1024), [good()]));
    expect(status).toBe(413);
    expect(json.error).toMatch(/body too large/);
    expect(store.size).toBe(before);
    expect((await post(s.app, call(UID_A, [good()]))).status).toBe(200);
  });

  it('exactly 64 KiB is still read (and judged on its content)', async () => {
    const base = JSON.stringify(call(UID_A, [pageEvent()]));
    const padded = base + ' '.repeat(64 * 1024 - base.length); // trailing whitespace is valid JSON
    expect(Buffer.byteLength(padded)).toBe(64 * 1024);
    expect((await post(s.app, padded)).status).toBe(200);
  });
});

describe('logs: one line per request; never a query string, private signal or declared id', () => {
  const sink = logSink();
  const s = withApp({ logger: { level: 'info', stream: sink.stream } });

  it('POST /v1/rtc, good and bad, and a bad-JSON body with private values', async () => {
    const body = call(UID_A, [pageEvent({ p_email: 'private-value@example.com' })], {
      ids: { crm: 'declared-id-123' },
    });
    expect((await post(s.app, body, {}, '/v1/rtc?p_email=leak-in-query')).status).toBe(200);
    expect((await post(s.app, '{"p_email":"private-json@example.com" oops')).status).toBe(400);
    expect((await post(s.app, { ...body, extra: 'private-extra' })).status).toBe(400);
    await s.app.fastify.inject({ method: 'GET', url: '/no/such/page?p_email=leak-404' });
    await s.app.fastify.inject({ method: 'GET', url: '/event?c_section=x&p_email=leak-dcs&d_cid=123%01declared-dcs' });
    const lines = sink.parsed().filter((l) => l.msg == 'request');
    expect(lines.map((l) => [l.method, l.path, l.status])).toEqual([
      ['POST', '/v1/rtc', 200],
      ['POST', '/v1/rtc', 400],
      ['POST', '/v1/rtc', 400],
      ['GET', '/no/such/page', 404],
      ['GET', '/event', 200],
    ]);
    expect(lines[1].problem).toBe('body is not valid JSON');
    expect(lines[2].problem).toBe('body: unknown field');
    expect(typeof lines[0].ms).toBe('number');
    expect(sink.text).not.toMatch(/private|declared|leak|p_email/);
  });

  it('a bad key, or a bad value under a key, is logged by its reason only: keys carry data too', async () => {
    const longKey = `p_jane.doe@example.com_${'x'.repeat(60)}`; // over 64 characters
    const rtc = (extra: Json) => post(s.app, { ...call(UID_A, [pageEvent()]), ...extra });
    const event = (query: string) => s.app.fastify.inject({ method: 'GET', url: `/event?${query}` });
    const start = sink.lines.length;

    const answers = [
      await rtc({ events: [pageEvent({ [longKey]: 1 })] }),
      await rtc({ events: [pageEvent({ c_jane_doe: 'v'.repeat(2000) })] }),
      await rtc({ ids: { crm_jane_doe: 5 } }),
      await rtc({ jane_doe: 1 }),
    ];
    // The answers still name the key, for the caller who sent it.
    expect(answers.map((a) => [a.status, a.json.error])).toEqual([
      [400, `events[0].signals: key "${longKey.slice(0, 40)}..." must have 1-64 characters`],
      [400, 'events[0].signals.c_jane_doe: too long (max 1024 characters)'],
      [400, 'ids.crm_jane_doe: must be a string'],
      [400, 'body: unknown field "jane_doe"'],
    ]);
    expect((await event(`${longKey}=1`)).statusCode).toBe(400);
    expect((await event(`c_jane_doe=${'v'.repeat(2000)}`)).statusCode).toBe(400);
    expect(
      (await s.app.fastify.inject({ method: 'POST', url: '/event', payload: `h_jane_doe=${'v'.repeat(9000)}` }))
        .statusCode,
    ).toBe(400);
    expect((await event(`c_jane_doe=${Array(101).fill('v').join(',')}`)).statusCode).toBe(400);

    const logged = sink.lines.slice(start).map((l) => JSON.parse(l) as Json);
    expect(logged.filter((l) => l.msg == 'request').map((l) => l.problem)).toEqual([
      'events[0].signals: a key must have 1-64 characters',
      'events[0].signals.*: too long (max 1024 characters)',
      'ids.*: must be a string',
      'body: unknown field',
      'a key must have 1-64 characters',
      'a signal value is too long (max 1024 characters)',
      'a value is too long (max 8192 characters)',
      'a signal has too many values (max 100)',
    ]);
    expect(logged.map((l) => JSON.stringify(l)).join('\n')).not.toMatch(/jane|example\.com/);
  });
});

describe('a failing store', () => {
  let mode: 'down' | 'bug' | 'up' = 'down';
  const inner = createMemoryStore();
  const store: ProfileStore = {
    ...inner,
    kind: 'flaky',
    update: async (uid, change) => {
      if (mode == 'down') throw new StoreUnavailableError('redis: connection refused');
      if (mode == 'bug') throw new TypeError('a bug');
      return inner.update(uid, change);
    },
    ping: async () => {
      if (mode == 'down') throw new StoreUnavailableError('down');
    },
  };
  const sink = logSink();
  const s = withApp({ store, logger: { level: 'info', stream: sink.stream } });

  it('answers 503 with Retry-After while down, and a retry of the same events counts them once it is back', async () => {
    const uid = newUid();
    const events = [pageEvent(), pageEvent(), pageEvent()];
    const failed = await post(s.app, call(uid, events));
    expect(failed.status).toBe(503);
    expect(failed.res.headers['retry-after']).toBe('1');
    expect(failed.json).toEqual({ error: 'profile store unavailable' });
    expect((await s.app.fastify.inject('/healthz')).statusCode).toBe(503);
    expect(sink.parsed().find((l) => l.status == 503)).toMatchObject({
      level: 40,
      problem: 'redis: connection refused',
    });
    mode = 'up';
    expect((await post(s.app, call(uid, events))).json.segments).toEqual(['1003']);
    expect((await s.app.fastify.inject('/healthz')).json()).toEqual({ ok: true });
    const metrics = (await s.app.admin.inject('/metrics')).body;
    expect(metrics).toMatch(/^segtag_store_errors_total 1$/m);
  });

  it('a bug is a 500 that says nothing more', async () => {
    mode = 'bug';
    const { status, json } = await post(s.app, call(newUid(), [pageEvent()]));
    expect([status, json]).toEqual([500, { error: 'internal error' }]);
    expect(sink.text).toContain('a bug');
    mode = 'up';
  });
});

describe('CORS', () => {
  const open = withApp();
  const preflight = (app: App, origin: string) =>
    app.fastify.inject({
      method: 'OPTIONS',
      url: '/v1/rtc',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });

  it('answers calls with Access-Control-Allow-Origin: * by default', async () => {
    const { res } = await post(open.app, call(UID_A, []), { origin: 'https://pub.example' });
    expect(res.headers['access-control-allow-origin']).toBe('*');
  });

  it('answers the preflight', async () => {
    const res = await preflight(open.app, 'https://pub.example');
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-methods']).toBe('GET, POST');
    expect(res.headers['access-control-allow-headers']).toBe('content-type');
    expect(res.headers['access-control-max-age']).toBe('86400');
    expect(res.body).toBe('');
  });

  it('error answers carry CORS headers too, so the page can read them', async () => {
    for (const body of ['nope', 'x'.repeat(70_000)]) {
      const { status, res } = await post(open.app, body, { origin: 'https://pub.example' });
      expect(status).toBeGreaterThanOrEqual(400);
      expect(res.headers['access-control-allow-origin']).toBe('*');
    }
  });

  describe('with configured origins', () => {
    const closed = withApp({ corsOrigin: ['https://pub.example', 'https://www.pub.example'] });

    it('echoes a listed origin and omits the header for others', async () => {
      const ok = await post(closed.app, call(UID_A, []), { origin: 'https://www.pub.example' });
      expect(ok.res.headers['access-control-allow-origin']).toBe('https://www.pub.example');
      expect(ok.res.headers.vary).toContain('Origin');
      const other = await post(closed.app, call(UID_A, []), { origin: 'https://evil.example' });
      expect(other.res.headers['access-control-allow-origin']).toBeUndefined();
      expect(
        (await preflight(closed.app, 'https://evil.example')).headers['access-control-allow-origin'],
      ).toBeUndefined();
    });
  });
});

describe('GET /metrics (admin listener) and /healthz', () => {
  const s = withApp();

  it('counts requests by route pattern and status, latency, events and qualifications', async () => {
    const uid = newUid();
    const event = pageEvent({ c_section: 'sports' });
    await post(s.app, call(uid, [event]));
    await post(s.app, call(uid, [event]));
    await post(s.app, 'bad');
    await s.app.fastify.inject('/nothing/here?x=1');
    const res = await s.app.admin.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(text).toMatch(/^segtag_http_requests_total\{route="\/v1\/rtc",method="POST",status="200"\} 2$/m);
    expect(text).toMatch(/^segtag_http_requests_total\{route="\/v1\/rtc",method="POST",status="400"\} 1$/m);
    expect(text).toMatch(/^segtag_http_requests_total\{route="unmatched",method="GET",status="404"\} 1$/m);
    expect(text).toMatch(/^segtag_http_request_duration_seconds_count\{route="\/v1\/rtc",method="POST"\} 3$/m);
    expect(text).toMatch(/^segtag_events_total\{result="counted"\} 1$/m);
    expect(text).toMatch(/^segtag_events_total\{result="duplicate"\} 1$/m);
    expect(text).toMatch(/^segtag_qualifications_total 2$/m); // 1001 and 1004
    expect(text).toMatch(/^segtag_rules_segments 5$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).not.toContain('x=1');
  });

  it('/healthz', async () => {
    const res = await s.app.fastify.inject('/healthz');
    expect([res.statusCode, res.json()]).toEqual([200, { ok: true }]);
  });
});

describe('static files and the demo page', () => {
  const dist = mkdtempSync(join(tmpdir(), 'segtag-dist-'));
  const files: Record<string, string> = {
    'segtag.min.js': '/* min */',
    'segtag.min.js.map': '{"version":3}',
    'segtag.mjs': 'export {};',
    'segtag.mjs.map': '{"version":3,"x":1}',
    'stub.js': '/* stub */',
    // The npm build's other modules: another entry, and modules the entries import.
    'cookie.mjs': 'export const c = 1;',
    'lib/core/client.mjs': 'export const a = 1;',
    'lib/core/client.mjs.map': '{"version":3,"x":2}',
    // The part of js-cookie the npm build bundles, imported by the build's own modules.
    'lib/vendor/js-cookie.mjs': 'export const j = 1;',
  };
  mkdirSync(join(dist, 'lib/core'), { recursive: true });
  mkdirSync(join(dist, 'lib/vendor'), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dist, name), text);
  writeFileSync(join(dist, 'secret.txt'), 'not for serving');
  writeFileSync(join(dist, 'lib/secret.txt'), 'not for serving');
  afterAll(() => rmSync(dist, { recursive: true, force: true }));
  const s = withApp({ distDir: dist });

  it.each([
    ['/segtag.min.js', 'text/javascript; charset=utf-8'],
    ['/segtag.min.js.map', 'application/json; charset=utf-8'],
    ['/segtag.mjs', 'text/javascript; charset=utf-8'],
    ['/segtag.mjs.map', 'application/json; charset=utf-8'],
    ['/stub.js', 'text/javascript; charset=utf-8'],
    ['/cookie.mjs', 'text/javascript; charset=utf-8'],
    ['/lib/core/client.mjs', 'text/javascript; charset=utf-8'],
    ['/lib/core/client.mjs.map', 'application/json; charset=utf-8'],
    ['/lib/vendor/js-cookie.mjs', 'text/javascript; charset=utf-8'],
  ])('GET %s', async (path, type) => {
    const res = await s.app.fastify.inject(path);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(type);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.body).toBe(files[path.slice(1)]);
  });

  // The real dist/lib/vendor/js-cookie.mjs is checked after the build (installed.test.ts): the unit
  // tests run before it.
  describe("the SDK's own build (the segtag package's dist/)", () => {
    const built = withApp();

    it('GET js-cookie at its old import-map path: the same 404 as any unknown path (the builds bundle it)', async () => {
      const old = await built.app.fastify.inject('/node_modules/js-cookie/dist/js.cookie.mjs?v=1');
      const unknown = await built.app.fastify.inject('/node_modules/nothing/here.mjs');
      expect([old.statusCode, old.headers['content-type'], old.json()]).toEqual([
        404,
        'application/json; charset=utf-8',
        { error: 'not found' },
      ]);
      expect([old.statusCode, old.body]).toEqual([unknown.statusCode, unknown.body]);
    });
  });

  it('HEAD answers headers only', async () => {
    const res = await s.app.fastify.inject({ method: 'HEAD', url: '/segtag.min.js' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(files['segtag.min.js'].length));
    expect(res.body).toBe('');
  });

  it('GET / is the demo page with the stub, the async tag and the calls', async () => {
    const res = await s.app.fastify.inject('/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = res.body;
    expect(html).toContain(
      `<script>window.segtag=window.segtag||function(){var a=arguments;return new Promise(function(r,j){(window.segtag.q=window.segtag.q||[]).push([r,j,a])})};</script>\n<script async src="/segtag.min.js"></script>`,
    );
    expect(html).toContain(`segtag('init', { endpoint: '/v1/rtc', site: 'demo', debug: true });`);
    expect(html).not.toMatch(/\.innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it.each([
    '/other.mjs',
    '/lib/other.mjs',
    '/lib/secret.txt',
    '/lib/core',
    '/lib/..%2fcookie.mjs',
    '/lib/%2e%2e%2fcookie.mjs',
    '/lib/core/..%2f..%2fcookie.mjs',
    '/lib/core/%2e%2e/client.mjs',
    '/chunks/client.mjs',
    '/cookie.MJS',
  ])('GET %s -> 404 JSON', async (path) => {
    const res = await s.app.fastify.inject(path);
    expect([res.statusCode, res.json()]).toEqual([404, { error: 'not found' }]);
  });

  it('a module is looked up by its exact path inside the folder', () => {
    expect(moduleFile('/d', 'segtag.mjs')).toBe('/d/segtag.mjs');
    expect(moduleFile('/d', 'lib/core/client.mjs.map')).toBe('/d/lib/core/client.mjs.map');
    for (const name of [
      '..',
      '../x.mjs',
      'a/b.mjs',
      'lib/../x.mjs',
      'lib/./x.mjs',
      'lib/.x/y.mjs',
      'x.js',
      '.mjs',
      'x.mjs\0',
      'x.mjs/',
      'lib//x.mjs',
    ])
      expect(moduleFile('/d', name)).toBeUndefined();
    expect(moduleFile(undefined, 'segtag.mjs')).toBeUndefined();
  });

  it('POST to a static path -> 404 JSON', async () => {
    const res = await s.app.fastify.inject({ method: 'POST', url: '/segtag.min.js', payload: 'x' });
    expect([res.statusCode, res.json()]).toEqual([404, { error: 'not found' }]);
  });

  describe('before a build', () => {
    const empty = mkdtempSync(join(tmpdir(), 'segtag-empty-'));
    afterAll(() => rmSync(empty, { recursive: true, force: true }));
    const bare = withApp({ distDir: empty });

    it('SDK paths say how to build them', async () => {
      const res = await bare.app.fastify.inject('/segtag.min.js');
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toContain('npm run build');
      expect((await bare.app.fastify.inject('/')).statusCode).toBe(200);
    });
  });

  describe('without the demo (demo: false; the CLI without --demo)', () => {
    const off = withApp({ distDir: dist, demo: false });

    it.each([
      '/',
      '/segtag.min.js',
      '/segtag.min.js.map',
      '/segtag.mjs',
      '/segtag.mjs.map',
      '/stub.js',
      '/cookie.mjs',
      '/lib/core/client.mjs',
      '/lib/core/client.mjs.map',
      '/lib/vendor/js-cookie.mjs',
      '/node_modules/js-cookie/dist/js.cookie.mjs',
    ])('GET %s -> 404 JSON', async (path) => {
      const res = await off.app.fastify.inject(path);
      expect([res.statusCode, res.json()]).toEqual([404, { error: 'not found' }]);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    });

    it('the calls and probes are still answered', async () => {
      expect((await post(off.app, call(UID_A, []))).status).toBe(200);
      expect((await off.app.fastify.inject('/livez')).statusCode).toBe(200);
      expect((await off.app.fastify.inject('/readyz')).statusCode).toBe(200);
    });
  });
});

describe('over real loopback HTTP', () => {
  let app: App;
  let url = '';
  beforeAll(async () => {
    app = createApp({ rules: RULES, watchRulesMs: 0 });
    url = (await app.listen(0, '127.0.0.1')).url;
  });
  afterAll(() => app.close());

  /** A request with the path sent exactly as written (fetch would normalise `..` and `%2e`). */
  function raw(path: string, method = 'GET'): Promise<{ status: number; body: string }> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const req = http.request({ host: hostname, port, path, method, timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject).end();
    });
  }

  it('answers the SDK call shape over a socket', async () => {
    const res = await fetch(`${url}/v1/rtc`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      body: JSON.stringify(call(UID_A, [pageEvent({ c_section: 'sports' })])),
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).segments).toEqual(['1001', '1004']);
  });

  it('an oversized body without Content-Length (chunked) -> 413', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
    let sent = 0;
    const body = new ReadableStream({
      pull(c) {
        if (sent++ < 64) c.enqueue(chunk);
        else c.close();
      },
    });
    const res = await fetch(`${url}/v1/rtc`, {
      method: 'POST',
      body,
      duplex: 'half',
      signal: AbortSignal.timeout(5000),
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  it.each([
    '/..%2fpackage.json',
    '/../package.json',
    '/%2e%2e/package.json',
    '/%2e%2e%2fpackage.json',
    '/segtag.min.js/../../package.json',
    '/secret.txt',
    '/dist/segtag.min.js',
    '//segtag.min.js',
    '/segtag.min.js%00',
    '/SEGTAG.MIN.JS',
    '/node_modules/js-cookie/package.json',
    '/node_modules/js-cookie/dist/../package.json',
    '/examples/segments.json',
    '/examples/demo.html',
    '/index.html',
    '/src/app.ts',
    '/chunks/..%2f..%2fpackage.json',
    '/..%2fpackage.mjs',
    '/%2e%2e%2fdist%2fsegtag.mjs',
    '/chunks/%2e%2e',
    '/.%2e/package.json',
  ])('GET %s -> 404', async (path) => {
    const res = await raw(path);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toEqual({ error: 'not found' });
  });
});

describe('lifecycle', () => {
  it('rejects a bad rules file at creation, naming the problem', () => {
    expect(() => createApp({ rules: { traits: [], segments: [{ id: '1', rule: { trait: 'x' } }] } })).toThrow(
      'segment "1": rule: unknown trait "x"',
    );
  });

  it('rejects a bad store spec at creation', () => {
    expect(() => createApp({ rules: RULES, store: 'mongodb://x' })).toThrow('--store: expected memory');
  });

  it('listen reports a busy port; close ends idle keep-alive connections at once', async () => {
    const a = createApp({ rules: RULES, watchRulesMs: 0 });
    const { url } = await a.listen(0, '127.0.0.1');
    const b = createApp({ rules: RULES, watchRulesMs: 0 });
    await expect(b.listen(Number(new URL(url).port), '127.0.0.1')).rejects.toThrow(/EADDRINUSE/);
    await b.close();
    await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) }); // leaves an idle keep-alive connection
    const started = Date.now();
    await a.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });

  it('a store opened from a spec is closed with the app; a store passed in is left open', async () => {
    const mine = createMemoryStore();
    let closed = 0;
    const app = createApp({ rules: RULES, store: { ...mine, close: async () => void closed++ } });
    await app.ready();
    await app.close();
    expect(closed).toBe(0);
    const owning = createApp({ rules: RULES, store: 'memory' });
    await owning.ready();
    expect(owning.store?.kind).toBe('memory');
    await owning.close();
  });
});
