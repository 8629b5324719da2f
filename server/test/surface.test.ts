/**
 * The public surface (issue 13, "Safe public surface"): /metrics only on the admin listener
 * (loopback, no CORS), rate limits per client IP (429 with Retry-After; the probes exempt; counts
 * shared through Redis). With the built CLI and real sockets: surface-cli.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app';
import { createMemoryStore } from '../src/stores/memory';
import { startRedis, type RedisServer } from './support/redis-server';
import { call, newUid, pageEvent, post, RULES, withApp } from './support/server';

const PUB = 'https://pub.example';
const CORS_HEADERS = /^access-control-/;

describe('/metrics: only on the admin listener', () => {
  const s = withApp({ corsOrigin: [PUB], demo: false });

  it('the public listener answers 404 JSON for /metrics; the admin listener serves it', async () => {
    const pub = await s.app.fastify.inject('/metrics');
    expect([pub.statusCode, pub.json()]).toEqual([404, { error: 'not found' }]);
    const admin = await s.app.admin.inject('/metrics');
    expect(admin.statusCode).toBe(200);
    expect(admin.body).toMatch(/^segtag_http_requests_total\{route="unmatched",method="GET",status="404"\} 1$/m);
  });

  it('the admin listener sends no CORS headers, whatever the Origin; it has no preflight', async () => {
    for (const origin of [PUB, 'https://evil.example']) {
      for (const url of ['/metrics', '/livez', '/readyz']) {
        const res = await s.app.admin.inject({ url, headers: { origin } });
        expect(res.statusCode).toBe(200);
        expect(Object.keys(res.headers).filter((h) => CORS_HEADERS.test(h))).toEqual([]);
      }
      const preflight = await s.app.admin.inject({
        method: 'OPTIONS',
        url: '/metrics',
        headers: { origin, 'access-control-request-method': 'GET' },
      });
      expect(preflight.statusCode).toBe(404);
      expect(Object.keys(preflight.headers).filter((h) => CORS_HEADERS.test(h))).toEqual([]);
    }
  });

  it('the probes are on both listeners; a drain turns /readyz 503 on both', async () => {
    const app = createApp({ rules: RULES, watchRulesMs: 0 });
    try {
      await app.ready();
      for (const x of [app.fastify, app.admin]) {
        expect((await x.inject('/livez')).json()).toEqual({ ok: true });
        expect((await x.inject('/readyz')).json()).toEqual({ ok: true, rules: { segments: 5 } });
      }
      app.drain();
      for (const x of [app.fastify, app.admin]) {
        expect([(await x.inject('/readyz')).statusCode, (await x.inject('/livez')).statusCode]).toEqual([503, 200]);
      }
      expect((await app.admin.inject('/v1/rtc')).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('listenAdmin: loopback by default, its own port; close() closes it too', async () => {
    const app = createApp({ rules: RULES, watchRulesMs: 0 });
    const { url } = await app.listen(0, '127.0.0.1');
    const { url: admin } = await app.listenAdmin(0);
    expect(admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(admin).not.toBe(url);
    expect((await fetch(`${admin}/metrics`, { signal: AbortSignal.timeout(5000) })).status).toBe(200);
    expect((await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).status).toBe(404);
    await app.close();
    await expect(fetch(`${admin}/livez`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });
});

describe('rate limits per client IP', () => {
  const store = createMemoryStore();
  const s = withApp({ store, corsOrigin: [PUB], rateLimit: { max: 5, windowSeconds: 60 } });
  const from = (remoteAddress: string, headers: Record<string, string> = {}) =>
    s.app.fastify.inject({
      method: 'POST',
      url: '/v1/rtc',
      remoteAddress,
      headers: { 'content-type': 'text/plain', ...headers },
      payload: JSON.stringify(call(newUid(), [pageEvent({ c_section: 'sports' })])),
    });

  it('a flood of 20 calls from one IP: 5 answered, 15 get 429 with Retry-After, nothing stored for them', async () => {
    const before = store.size;
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await from('203.0.113.1', { origin: PUB }));
    const statuses = answers.map((r) => r.statusCode);
    expect(statuses.filter((c) => c == 200)).toHaveLength(5);
    expect(statuses.filter((c) => c == 429)).toHaveLength(15);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    const limited = answers[5];
    expect(limited.json()).toEqual({ error: 'too many requests' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    // A page on an allowed origin can read it.
    expect(limited.headers['access-control-allow-origin']).toBe(PUB);
    expect(limited.headers['access-control-expose-headers']).toBe('Retry-After');
    expect(store.size - before).toBe(5);
  });

  it('another IP has its own count; the probes are never limited', async () => {
    expect((await from('203.0.113.2')).statusCode).toBe(200);
    const probes = [];
    for (let i = 0; i < 30; i++)
      for (const url of ['/livez', '/readyz', '/healthz'])
        probes.push((await s.app.fastify.inject({ url, remoteAddress: '203.0.113.1' })).statusCode);
    expect(probes.filter((c) => c == 200)).toHaveLength(90);
  });

  it('counted in the metrics as 429 answers', async () => {
    const text = (await s.app.admin.inject('/metrics')).body;
    expect(text).toMatch(/^segtag_http_requests_total\{route="\/v1\/rtc",method="POST",status="429"\} 15$/m);
  });

  describe('behind a proxy (trustProxy): the client IP from X-Forwarded-For', () => {
    const t = withApp({ trustProxy: '127.0.0.1', rateLimit: { max: 2, windowSeconds: 60 } });
    const via = (client: string) =>
      t.app.fastify.inject({
        method: 'POST',
        url: '/v1/rtc',
        remoteAddress: '127.0.0.1',
        headers: { 'content-type': 'text/plain', 'x-forwarded-for': client },
        payload: JSON.stringify(call(undefined, [])),
      });

    it('two clients through one proxy: 2 calls each, the third of each 429', async () => {
      const codes = [];
      for (let i = 0; i < 3; i++)
        codes.push((await via('198.51.100.7')).statusCode, (await via('198.51.100.8')).statusCode);
      expect(codes).toEqual([200, 200, 200, 200, 429, 429]);
    });
  });

  describe('without the option: no limit (createApp default)', () => {
    const u = withApp();
    it('100 calls from one IP: 100 answered 200', async () => {
      let ok = 0;
      for (let i = 0; i < 100; i++) if ((await post(u.app, call(undefined, []))).status == 200) ok++;
      expect(ok).toBe(100);
    });
  });
});

describe('rate limits on a Redis store: every instance shares the counts', () => {
  let redis: RedisServer;
  const apps: App[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    for (let i = 0; i < 2; i++) {
      const app = createApp({
        rules: RULES,
        store: redis.url,
        watchRulesMs: 0,
        rateLimit: { max: 6, windowSeconds: 60 },
      });
      await app.ready();
      apps.push(app);
    }
  }, 20_000);
  afterAll(async () => {
    for (const app of apps) await app.close();
    await redis?.stop();
  });

  it('6 per IP across two instances: 3 on each, then both answer 429', async () => {
    const one = (app: App) =>
      app.fastify.inject({
        method: 'POST',
        url: '/v1/rtc',
        remoteAddress: '192.0.2.9',
        payload: JSON.stringify(call(undefined, [])),
      });
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) codes.push((await one(apps[0])).statusCode, (await one(apps[1])).statusCode);
    expect(codes).toEqual([200, 200, 200, 200, 200, 200]);
    const after = [(await one(apps[0])).statusCode, (await one(apps[1])).statusCode];
    expect(after).toEqual([429, 429]);
  });

  it('a Redis outage does not fail calls in the limiter: they get the store answer (503), not a 500', async () => {
    await redis.stop();
    try {
      const res = await apps[0].fastify.inject({
        method: 'POST',
        url: '/v1/rtc',
        remoteAddress: '192.0.2.10',
        payload: JSON.stringify(call(newUid(), [pageEvent()])),
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
    } finally {
      await redis.start();
    }
  }, 20_000);
});
