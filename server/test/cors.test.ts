/**
 * CORS for the whole server (http/cors.ts): the allow-list, 403 before anything is read or
 * written, credentialed answers on /event only, Retry-After exposed, Vary: Origin.
 */
import { describe, expect, it } from 'vitest';
import { corsPolicy } from '../src/http/cors';
import { createMemoryStore } from '../src/stores/memory';
import { call, newUid, pageEvent, post, withApp, type Json } from './support/server';

const PUB = 'https://www.pub.example';
const EVIL = 'https://evil.example';

describe('corsPolicy', () => {
  it('"*" anywhere allows every origin; a trailing slash is dropped', () => {
    expect(corsPolicy(undefined)).toEqual({ origins: '*' });
    expect(corsPolicy(['https://a.example', '*'])).toEqual({ origins: '*' });
    expect(corsPolicy(['https://a.example/'])).toEqual({ origins: ['https://a.example'] });
    expect(corsPolicy('https://a.example')).toEqual({ origins: ['https://a.example'] });
  });
});

const eventCall = (origin: string | undefined, extra: Json = {}) => ({
  method: 'POST' as const,
  url: '/event?d_dil_ver=9.5&_ts=1',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    ...(origin && { origin }),
    ...extra,
  },
  payload: `d_nsid=0&d_rtbd=json&d_jsonv=1&d_dst=1&c_section=sports&d_uuid=${newUid()}`,
});
const preflight = (path: string, origin: string) => ({
  method: 'OPTIONS' as const,
  url: path,
  headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
});

/** The CORS headers of an answer. */
const cors = (headers: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(headers).filter(([k]) => k.startsWith('access-control-') || k == 'vary' || k == 'set-cookie'),
  );

describe('with an allow-list', () => {
  const store = createMemoryStore();
  const s = withApp({ corsOrigin: [PUB], store });

  it('/event from a listed origin: echoed, credentialed, Retry-After exposed, Vary: Origin, cookie set', async () => {
    const res = await s.app.fastify.inject(eventCall(PUB));
    expect(res.statusCode).toBe(200);
    expect(cors(res.headers)).toEqual({
      'access-control-allow-origin': PUB,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'Retry-After',
      vary: 'Origin',
      'set-cookie': expect.stringMatching(/^demdex=/),
    });
  });

  it('/v1/rtc from a listed origin: echoed, never credentialed', async () => {
    const { res, status } = await post(s.app, call(newUid(), [pageEvent()]), { origin: PUB });
    expect(status).toBe(200);
    expect(cors(res.headers)).toEqual({
      'access-control-allow-origin': PUB,
      'access-control-expose-headers': 'Retry-After',
      vary: 'Origin',
    });
  });

  it.each(['/event', '/v1/rtc', '/healthz', '/metrics', '/'])(
    'another origin on %s: 403, no CORS headers, nothing read, counted or set',
    async (path) => {
      const before = store.size;
      const res = await s.app.fastify.inject({ ...eventCall(EVIL), url: path });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({ error: 'origin not allowed' });
      expect(cors(res.headers)).toEqual({ vary: 'Origin' });
      expect(store.size).toBe(before);
    },
  );

  it('the 403 comes before the body is read: an oversized or broken body changes nothing', async () => {
    const res = await s.app.fastify.inject({ ...eventCall(EVIL), payload: 'x'.repeat(100_000) });
    expect(res.statusCode).toBe(403);
    const bad = await post(s.app, '{not json', { origin: EVIL });
    expect(bad.status).toBe(403);
  });

  it('Origin: null (sandboxed frames, file: pages) is not on the list', async () => {
    expect((await s.app.fastify.inject(eventCall('null'))).statusCode).toBe(403);
  });

  it('requests without Origin pass (servers, <script> and <img> loads), with no CORS headers', async () => {
    const res = await s.app.fastify.inject(eventCall(undefined));
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it("the server's own pages (same host) pass: the demo page calls it with an Origin too", async () => {
    const res = await s.app.fastify.inject(eventCall('http://segtag.local:8080', { host: 'segtag.local:8080' }));
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('http://segtag.local:8080');
    const other = await s.app.fastify.inject(eventCall('http://segtag.local:9999', { host: 'segtag.local:8080' }));
    expect(other.statusCode).toBe(403);
  });

  it('preflights: /event credentialed, /v1/rtc not, another origin 403', async () => {
    const ev = await s.app.fastify.inject(preflight('/event', PUB));
    expect(ev.statusCode).toBe(204);
    expect(cors(ev.headers)).toEqual({
      'access-control-allow-origin': PUB,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'content-type',
      'access-control-max-age': '86400',
      'access-control-expose-headers': 'Retry-After',
      vary: 'Origin',
    });
    const rtc = await s.app.fastify.inject(preflight('/v1/rtc', PUB));
    expect(rtc.statusCode).toBe(204);
    expect(rtc.headers['access-control-allow-origin']).toBe(PUB);
    expect(rtc.headers['access-control-allow-credentials']).toBeUndefined();
    const evil = await s.app.fastify.inject(preflight('/event', EVIL));
    expect(evil.statusCode).toBe(403);
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('allowing every origin (the default)', () => {
  const s = withApp();

  it('/event echoes any origin, credentialed', async () => {
    const res = await s.app.fastify.inject(eventCall(EVIL));
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(EVIL);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers.vary).toBe('Origin');
  });

  it('/v1/rtc answers *, non-credentialed, exposing Retry-After (also on a 503-style error answer)', async () => {
    const { res } = await post(s.app, call(newUid(), [pageEvent()]), { origin: EVIL });
    expect(cors(res.headers)).toEqual({
      'access-control-allow-origin': '*',
      'access-control-expose-headers': 'Retry-After',
      vary: 'Origin',
    });
    const bad = await post(s.app, 'nope', { origin: EVIL });
    expect([bad.status, bad.res.headers['access-control-allow-origin']]).toEqual([400, '*']);
  });
});
