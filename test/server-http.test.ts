import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UID } from '../src/protocol/patterns';
import { parseResponse } from '../src/protocol/parse-response';
import { createApp, type App } from '../src/server/app';
import { MemoryProfileStore, type Profile, type ProfileStore } from '../src/server/profile-store';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RULES = join(ROOT, 'examples/segments.json');
const UID_A = 'aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa';
/** A fresh 5 s deadline per request. */
const bounded = () => ({ signal: AbortSignal.timeout(5000) });

type Json = Record<string, any>;
let seq = 0;
const newId = () => `ev-${Date.now()}-${++seq}`;
const pageEvent = (signals: Json = {}, id = newId()) => ({ id, type: 'page', ts: Date.now(), url: 'https://pub.example/sports/a', title: 'A', signals });
const trackEvent = (name: string, signals: Json = {}, id = newId()) => ({ ...pageEvent(signals, id), type: 'track', name });
const call = (uid: string | undefined, events: unknown[], extra: Json = {}) => ({ v: 1, site: 'demo', uid, events, ...extra });

/** Starts an app on a free loopback port for the duration of a describe block. */
function serve(options: Omit<Parameters<typeof createApp>[0], 'rules'> & { rules?: string | object } = {}) {
  const ctx = { app: undefined as unknown as App, url: '' };
  beforeAll(async () => {
    ctx.app = createApp({ rules: RULES, ...options });
    ctx.url = (await ctx.app.listen(0, '127.0.0.1')).url;
  });
  afterAll(() => ctx.app.close());
  return ctx;
}

async function post(url: string, body: unknown, headers: Json = {}, path = '/v1/rtc') {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers },
    body: typeof body == 'string' ? body : JSON.stringify(body),
    ...bounded(),
  });
  return { res, status: res.status, json: (await res.json()) as Json };
}

/** A raw GET with the path sent exactly as written (fetch would normalise `..` and `%2e`). */
function rawGet(url: string, path: string, method = 'GET'): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path, method, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject).end();
  });
}

describe('POST /v1/rtc: the protocol', () => {
  const store = new MemoryProfileStore();
  const lines: string[] = [];
  const s = serve({ store, logger: (line) => lines.push(line) });

  it('a first call: new uid, segments in rules order, ttl, tid, ack', async () => {
    const event = pageEvent({ c_section: 'sports' });
    const { status, res, json } = await post(s.url, call(undefined, [event]));
    expect(status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(json.uid).toMatch(UID);
    expect(json).toEqual({ uid: json.uid, segments: ['1001', '1004'], ttl: 30, tid: expect.any(String), ack: [event.id] });
    // The SDK's own response parser accepts the answer as is.
    expect(parseResponse(json)).toEqual({ uid: json.uid, segments: ['1001', '1004'], ttl: 30, tid: json.tid });
  });

  it('a valid uid is kept (no uid in the answer); an invalid one is replaced', async () => {
    const kept = await post(s.url, call(UID_A, [pageEvent()]));
    expect(kept.status).toBe(200);
    expect(kept.json).not.toHaveProperty('uid');
    for (const bad of ['short', 'has space in it', 42, null, 'x'.repeat(65)]) {
      const { status, json } = await post(s.url, call(bad as string, [pageEvent()]));
      expect(status).toBe(200);
      expect(json.uid).toMatch(UID);
      expect(json.uid).not.toBe(bad);
    }
  });

  it('transaction ids differ per call', async () => {
    const a = await post(s.url, call(UID_A, []));
    const b = await post(s.url, call(UID_A, []));
    expect(a.json.tid).not.toBe(b.json.tid);
    expect(a.json.ack).toEqual([]);
  });

  it('atLeast counts events; a resent event id is acked but never counted twice', async () => {
    const uid = 'bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb';
    const first = pageEvent();
    const second = pageEvent();
    expect((await post(s.url, call(uid, [first]))).json.segments).toEqual([]);
    // The same event again (a retry), then the same id twice in one call.
    const resent = await post(s.url, call(uid, [first]));
    expect(resent.json).toMatchObject({ segments: [], ack: [first.id] });
    const doubled = await post(s.url, call(uid, [second, second, first]));
    expect(doubled.json).toMatchObject({ segments: [], ack: [second.id, first.id] });
    expect((await store.get(uid))?.counts['page-view']).toBe(2);
    // A genuinely new third page view reaches "3+ page views".
    const third = await post(s.url, call(uid, [pageEvent()]));
    expect(third.json.segments).toEqual(['1003']);
  });

  it('one visitor accumulates traits across calls and events', async () => {
    const uid = 'cccccccc-3333-4333-8333-cccccccccccc';
    expect((await post(s.url, call(uid, [trackEvent('video_start', { c_genre: 'f1' })]))).json.segments).toEqual(['1002', '1004']);
    const later = await post(s.url, call(uid, [pageEvent({ c_section: 'sports' }), pageEvent(), pageEvent()]));
    expect(later.json.segments).toEqual(['1001', '1002', '1003', '1004']);
    const profile = (await store.get(uid))!;
    expect({ ...profile.counts }).toEqual({ 'f1-video': 1, 'sports-reader': 1, 'page-view': 3 });
    expect(profile.segments).toEqual(['1001', '1002', '1003', '1004']);
    expect(profile.lastSeen).toBeGreaterThan(Date.now() - 10_000);
  });

  it('unknown fields are ignored', async () => {
    const { status, json } = await post(s.url, { ...call(UID_A, [{ ...pageEvent(), extra: { deep: 1 } }]), future: [1, 2] });
    expect(status).toBe(200);
    expect(json.ack).toHaveLength(1);
  });

  it('the body is JSON whatever the content type says', async () => {
    const { status } = await post(s.url, call(UID_A, [pageEvent()]), { 'content-type': 'application/x-www-form-urlencoded' });
    expect(status).toBe(200);
  });

  it('log lines carry no query strings, private signals or declared ids', async () => {
    const body = call(UID_A, [pageEvent({ p_email: 'private-value@example.com' })], { ids: { crm: 'declared-id-123' } });
    expect((await post(s.url, body, {}, '/v1/rtc?p_email=leak-in-query')).status).toBe(200);
    const log = lines.join('\n');
    expect(lines.some((l) => /^POST \/v1\/rtc 200 \d+(\.\d+)?ms$/.test(l))).toBe(true);
    expect(log).not.toMatch(/private-value|declared-id-123|leak-in-query/);
  });
});

describe('private signals and declared ids', () => {
  const saved: string[] = [];
  const inner = new MemoryProfileStore();
  // A store that records everything it is asked to keep, serialised as a real store would.
  const store: ProfileStore = {
    get: (uid) => inner.get(uid),
    put: (uid, profile) => (saved.push(uid + JSON.stringify(profile)), inner.put(uid, profile)),
  };
  const s = serve({
    store,
    rules: {
      traits: [{ id: 'hashed-email', where: { signal: 'p_email_domain', op: 'equals', value: 'example.com' } }],
      segments: [{ id: 'known', rule: { trait: 'hashed-email' } }],
    },
  });

  it('p_ signals qualify for traits but are never stored', async () => {
    const { json } = await post(s.url, call(UID_A, [pageEvent({ p_email_domain: 'example.com' })], { ids: { crm: 'secret-crm-id' } }));
    expect(json.segments).toEqual(['known']);
    expect(saved.length).toBeGreaterThan(0);
    expect(saved.join()).not.toMatch(/example\.com|p_email|secret-crm-id/);
  });
});

describe('concurrent calls for one visitor', () => {
  // A store whose reads take a while to arrive (like a network store): without per-uid
  // serialisation, parallel calls would read the same snapshot and overwrite each other's counts.
  const inner = new MemoryProfileStore();
  const store: ProfileStore = {
    get: async (uid) => {
      const snapshot = await inner.get(uid);
      await new Promise((r) => setTimeout(r, 20));
      return snapshot;
    },
    put: (uid, p) => inner.put(uid, p),
  };
  const s = serve({ store });

  it('are applied one after another', async () => {
    const uid = 'dddddddd-4444-4444-8444-dddddddddddd';
    const answers = await Promise.all([1, 2, 3].map(() => post(s.url, call(uid, [pageEvent()]))));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect((await inner.get(uid))!.counts['page-view']).toBe(3);
  });
});

describe('a failing store', () => {
  let fail = true;
  const inner = new MemoryProfileStore();
  const store: ProfileStore = {
    get: (uid) => inner.get(uid),
    put: async (uid: string, p: Profile) => {
      if (fail) throw new Error('store down');
      return inner.put(uid, p);
    },
  };
  const lines: string[] = [];
  const s = serve({ store, logger: (l) => lines.push(l) });

  it('answers 500, and a retry of the same events still counts them', async () => {
    const uid = 'eeeeeeee-5555-4555-8555-eeeeeeeeeeee';
    const events = [pageEvent(), pageEvent(), pageEvent()];
    const failed = await post(s.url, call(uid, events));
    expect(failed.status).toBe(500);
    expect(failed.json).toEqual({ error: 'internal error' });
    expect(lines.join('\n')).toContain('store down');
    fail = false;
    expect((await post(s.url, call(uid, events))).json.segments).toEqual(['1003']);
  });
});

describe('CORS', () => {
  const open = serve();

  it('answers calls with Access-Control-Allow-Origin: * by default', async () => {
    const { res } = await post(open.url, call(UID_A, []), { origin: 'https://pub.example' });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('answers the preflight', async () => {
    const res = await fetch(`${open.url}/v1/rtc`, {
      method: 'OPTIONS',
      headers: { origin: 'https://pub.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      ...bounded(),
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toBe('POST');
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type');
    expect(await res.text()).toBe('');
  });

  it('error answers carry CORS headers too, so the page can read them', async () => {
    const { status, res } = await post(open.url, 'nope');
    expect(status).toBe(400);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  describe('with a configured origin', () => {
    const closed = serve({ corsOrigin: ['https://pub.example', 'https://www.pub.example'] });

    it('echoes a listed origin and omits the header for others', async () => {
      const ok = await post(closed.url, call(UID_A, []), { origin: 'https://www.pub.example' });
      expect(ok.res.headers.get('access-control-allow-origin')).toBe('https://www.pub.example');
      expect(ok.res.headers.get('vary')).toBe('Origin');
      const other = await post(closed.url, call(UID_A, []), { origin: 'https://evil.example' });
      expect(other.res.headers.get('access-control-allow-origin')).toBeNull();
    });
  });
});

describe('bad input', () => {
  const store = new MemoryProfileStore();
  const s = serve({ store });
  const good = () => pageEvent({ c_section: 'sports' });

  it.each([
    ['not JSON', '{"v":1,', 'body is not valid JSON'],
    ['an empty body', '', 'body is not valid JSON'],
    ['a JSON array', '[1,2]', 'body must be a JSON object'],
    ['JSON null', 'null', 'body must be a JSON object'],
    ['v 2', { ...call(UID_A, []), v: 2 }, 'v: must be 1'],
    ['v "1"', { ...call(UID_A, []), v: '1' }, 'v: must be 1'],
    ['no site', { v: 1, uid: UID_A, events: [] }, 'site: must be a string'],
    ['a bad site', { ...call(UID_A, []), site: 'a b' }, 'site: must match'],
    ['events not an array', { ...call(UID_A, []), events: {} }, 'events: must be an array'],
    ['101 events', call(UID_A, Array.from({ length: 101 }, () => ({ id: 'x', type: 'page' }))), 'events: too many (max 100)'],
    ['an event that is not an object', call(UID_A, [good(), 'page']), 'events[1]: must be an object'],
    ['an event without id', call(UID_A, [{ ...good(), id: undefined }]), 'events[0].id: must be a string'],
    ['an event id with spaces', call(UID_A, [{ ...good(), id: 'a b' }]), 'events[0].id: must match'],
    ['an unknown event type', call(UID_A, [{ ...good(), type: 'click' }]), 'events[0].type: must be "page" or "track"'],
    ['a track event without a name', call(UID_A, [{ ...good(), type: 'track' }]), 'events[0].name: a track event needs a name'],
    ['a string ts', call(UID_A, [{ ...good(), ts: '1' }]), 'events[0].ts: must be a timestamp in ms'],
    ['no url', call(UID_A, [{ ...good(), url: undefined }]), 'events[0].url: must be a string'],
    ['an absurdly long url', call(UID_A, [{ ...good(), url: 'https://x/' + 'a'.repeat(9000) }]), 'events[0].url: too long (max 8192 characters)'],
    ['an absurdly long title', call(UID_A, [{ ...good(), title: 't'.repeat(2000) }]), 'events[0].title: too long'],
    ['signals not an object', call(UID_A, [{ ...good(), signals: ['a'] }]), 'events[0].signals: must be an object'],
    ['101 signals', call(UID_A, [pageEvent(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`s${i}`, 1])))]), 'events[0].signals: too many (max 100)'],
    ['an object signal', call(UID_A, [pageEvent({ c_x: { a: 1 } })]), 'events[0].signals.c_x: must be a string, number, boolean or array of strings'],
    ['a number in a string[] signal', call(UID_A, [pageEvent({ c_x: ['a', 1] })]), 'events[0].signals.c_x[1]: must be a string'],
    ['an absurdly long signal value', call(UID_A, [pageEvent({ c_x: 'v'.repeat(5000) })]), 'events[0].signals.c_x: too long (max 1024 characters)'],
    ['an absurdly long signal key', call(UID_A, [pageEvent({ ['k'.repeat(65)]: 1 })]), 'events[0].signals: key "kkkk'],
    ['declared ids not an object', call(UID_A, [good()], { ids: 'crm' }), 'ids: must be an object'],
    ['a declared id that is not a string', call(UID_A, [good()], { ids: { crm: 5 } }), 'ids.crm: must be a string'],
  ])('%s -> 400 naming the problem, nothing stored', async (_name, body, error) => {
    const before = store.size;
    const { status, json } = await post(s.url, body);
    expect(status).toBe(400);
    expect(json.error).toContain(error);
    expect(Object.keys(json)).toEqual(['error']);
    expect(store.size).toBe(before);
  });

  it('one bad event rejects the whole call: the good ones are not counted either', async () => {
    const uid = 'ffffffff-6666-4666-8666-ffffffffffff';
    const { status } = await post(s.url, call(uid, [good(), { ...good(), signals: null }]));
    expect(status).toBe(400);
    expect(await store.get(uid)).toBeUndefined();
  });

  it('the 400 for bad JSON does not echo the body', async () => {
    const { json } = await post(s.url, '{"p_email": "secret@example.com" oops');
    expect(JSON.stringify(json)).not.toContain('secret');
  });

  it('10,000 signals: over 64 KiB -> 413', async () => {
    const signals = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`s${i}`, 1]));
    const { status, json } = await post(s.url, call(UID_A, [pageEvent(signals)]));
    expect(status).toBe(413);
    expect(json.error).toBe('body too large (max 65536 bytes)');
  });

  it('a 10 MB uid -> 413, and the server keeps serving', async () => {
    const { status, json } = await post(s.url, call('u'.repeat(10 * 1024 * 1024), [good()]));
    expect(status).toBe(413);
    expect(json.error).toMatch(/body too large/);
    expect((await post(s.url, call(UID_A, [good()]))).status).toBe(200);
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
    const res = await fetch(`${s.url}/v1/rtc`, { method: 'POST', body, duplex: 'half', ...bounded() } as RequestInit);
    expect(res.status).toBe(413);
  });

  it('exactly 64 KiB is still read (and judged on its content)', async () => {
    const base = JSON.stringify(call(UID_A, [pageEvent()]));
    const padded = base + ' '.repeat(64 * 1024 - base.length); // trailing whitespace is valid JSON
    expect(Buffer.byteLength(padded)).toBe(64 * 1024);
    expect((await post(s.url, padded)).status).toBe(200);
  });

  it('other methods on /v1/rtc -> 405', async () => {
    const res = await fetch(`${s.url}/v1/rtc`, bounded());
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST, OPTIONS');
  });
});

describe('static files, demo and health', () => {
  const dist = mkdtempSync(join(tmpdir(), 'segtag-dist-'));
  const files: Record<string, string> = {
    'segtag.min.js': '/* min */',
    'segtag.min.js.map': '{"version":3}',
    'segtag.mjs': 'export {};',
    'segtag.mjs.map': '{"version":3,"x":1}',
    'stub.js': '/* stub */',
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dist, name), text);
  writeFileSync(join(dist, 'secret.txt'), 'not for serving');
  afterAll(() => rmSync(dist, { recursive: true, force: true }));
  const s = serve({ distDir: dist });

  it.each([
    ['/segtag.min.js', 'text/javascript; charset=utf-8'],
    ['/segtag.min.js.map', 'application/json; charset=utf-8'],
    ['/segtag.mjs', 'text/javascript; charset=utf-8'],
    ['/segtag.mjs.map', 'application/json; charset=utf-8'],
    ['/stub.js', 'text/javascript; charset=utf-8'],
  ])('GET %s', async (path, type) => {
    const res = await fetch(s.url + path, bounded());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(await res.text()).toBe(files[path.slice(1)]);
  });

  it('GET js-cookie for an import map', async () => {
    const res = await fetch(`${s.url}/node_modules/js-cookie/dist/js.cookie.mjs?v=1`, bounded());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await res.text()).toBe(readFileSync(join(ROOT, 'node_modules/js-cookie/dist/js.cookie.mjs'), 'utf8'));
  });

  it('HEAD answers headers only', async () => {
    const res = await rawGet(s.url, '/segtag.min.js', 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(files['segtag.min.js'].length));
    expect(res.body).toBe('');
  });

  it('GET / is the demo page with the stub, the async tag and the calls', async () => {
    const res = await fetch(`${s.url}/`, bounded());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    expect(html).toContain(
      `<script>window.segtag=window.segtag||function(){var a=arguments;return new Promise(function(r,j){(window.segtag.q=window.segtag.q||[]).push([r,j,a])})};</script>\n<script async src="/segtag.min.js"></script>`,
    );
    expect(html).toContain(`segtag('init', { endpoint: '/v1/rtc', site: 'demo', debug: true });`);
    expect(html).toContain(`segtag('page', { c_section: 'sports' })`);
    expect(html).toContain(`segtag('track', 'video_start', { c_genre: 'f1' })`);
    expect(html).toContain(`segtag('onSegments', renderTargeting)`);
    expect(html).not.toMatch(/\.innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('GET /healthz', async () => {
    const res = await fetch(`${s.url}/healthz`, bounded());
    expect([res.status, await res.json()]).toEqual([200, { ok: true }]);
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
    '/src/server/app.ts',
    '/.%2e/package.json',
  ])('GET %s -> 404', async (path) => {
    const res = await rawGet(s.url, path);
    expect(res.status).toBe(404);
    expect(res.body).toBe('not found\n');
  });

  it('POST to a static path -> 405', async () => {
    const res = await fetch(`${s.url}/segtag.min.js`, { method: 'POST', body: 'x', ...bounded() });
    expect(res.status).toBe(405);
  });

  describe('before a build', () => {
    const empty = mkdtempSync(join(tmpdir(), 'segtag-empty-'));
    afterAll(() => rmSync(empty, { recursive: true, force: true }));
    const bare = serve({ distDir: empty, demo: false });

    it('SDK paths say how to build them; the demo can be turned off', async () => {
      const res = await fetch(`${bare.url}/segtag.min.js`, bounded());
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('npm run build');
      expect((await fetch(`${bare.url}/`, bounded())).status).toBe(404);
    });
  });
});

describe('lifecycle', () => {
  it('rejects a bad rules file at creation, naming the problem', () => {
    expect(() => createApp({ rules: { traits: [], segments: [{ id: '1', rule: { trait: 'x' } }] } })).toThrow(
      'segment "1": rule: unknown trait "x"',
    );
  });

  it('listen reports a busy port; close ends open keep-alive connections', async () => {
    const a = createApp({ rules: RULES });
    const { url } = await a.listen(0, '127.0.0.1');
    const b = createApp({ rules: RULES });
    await expect(b.listen(Number(new URL(url).port), '127.0.0.1')).rejects.toThrow(/EADDRINUSE/);
    await fetch(`${url}/healthz`, bounded()); // leaves an idle keep-alive connection
    const started = Date.now();
    await a.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });
});
