/**
 * GET|POST /event: Audience Manager's DCS request format in, its response shape out
 * (FIELD-NOTES section 1: `{"stuff":[{"cn":"aam","cv":"seg=123,456","ttl":30,"dmn":"example.com"}],
 * "dests":[...],"uuid":"2292011...","dcs_region":7,"tid":"31ZpxW5bQGc="}`), from the same rules
 * and profiles as /v1/rtc.
 */
import { describe, expect, it } from 'vitest';
import { UID } from 'segtag/protocol';
import { jsonpBody } from '../src/http/jsonp';
import { encodeProfile } from '../src/profiles/profile';
import { createMemoryStore } from '../src/stores/memory';
import { call, logSink, newUid, pageEvent, post, withApp, type Json } from './support/server';

const rules = {
  ttlDays: 30,
  dcs: { cookieName: 'aam', key: 'seg', domain: 'example.com', region: 7 },
  traits: [
    { id: 'sports', where: { signal: 'c_section', op: 'equals', value: 'sports' } },
    { id: 'f1', where: { signal: 'c_tags', op: 'contains', value: 'f1' } },
    { id: 'adult', where: { signal: 'c_age', op: 'gte', value: 18 } },
    { id: 'zip-007', where: { signal: 'c_zip', op: 'equals', value: '007' } },
    { id: 'known', where: { signal: 'p_email_domain', op: 'equals', value: 'example.com' } },
    { id: 'news-page', where: { pathPrefix: '/news/' } },
    { id: 'pv', where: { type: 'page' } },
  ],
  segments: [
    { id: '123', rule: { trait: 'sports' } },
    { id: '456', rule: { trait: 'f1' } },
    { id: '500', rule: { trait: 'adult' } },
    { id: '501', rule: { trait: 'zip-007' } },
    { id: '600', rule: { trait: 'known' } },
    { id: '700', rule: { trait: 'news-page' } },
    { id: '800', rule: { trait: 'pv', atLeast: 3 } },
  ],
};

const UUID = '22920112968019678612904394744954398990';
const TID = /^[A-Za-z0-9+/]{11}=$/;

describe('/event (Audience Manager DCS format)', () => {
  const store = createMemoryStore();
  const sink = logSink();
  const s = withApp({ rules, store, logger: { level: 'info', stream: sink.stream } });
  // d_rtbd=json unless the query says otherwise: without it the DCS answers no data.
  const withRtbd = (query: string) => (/(^|&)d_rtbd=/.test(query) ? query : `${query}&d_rtbd=json`);
  const get = async (query: string, headers: Json = {}) => {
    const res = await s.app.fastify.inject({ method: 'GET', url: `/event?${withRtbd(query)}`, headers });
    return { status: res.statusCode, json: res.json() as Json, res };
  };
  const postForm = async (body: string, query = '', headers: Json = {}) => {
    const res = await s.app.fastify.inject({
      method: 'POST',
      url: `/event?${withRtbd(query)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: body,
    });
    return { status: res.statusCode, json: res.json() as Json, res };
  };

  it('GET with the documented keys answers the documented shape', async () => {
    const { status, json, res } = await get(
      `c_section=sports&c_tags=f1,motor&d_uuid=${UUID}&d_rtbd=json&d_dst=1&d_orgid=ABC%40AdobeOrg`,
    );
    expect(status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json).toEqual({
      stuff: [{ cn: 'aam', cv: 'seg=123,456', ttl: 30, dmn: 'example.com' }],
      dests: [],
      uuid: UUID,
      dcs_region: 7,
      tid: expect.stringMatching(TID),
    });
  });

  it('POST form-encoded (keys in the body and the query string) answers the same', async () => {
    const { status, json } = await postForm(
      'c_section=sports&c_tags=rally&c_tags=f1',
      `d_uuid=${newUid()}&d_rtbd=json`,
    );
    expect(status).toBe(200);
    expect(json.stuff).toEqual([{ cn: 'aam', cv: 'seg=123,456', ttl: 30, dmn: 'example.com' }]);
  });

  it('POST as text/plain is read as a form too (simple requests, beacons)', async () => {
    const { status, json } = await postForm('c_section=sports', '', { 'content-type': 'text/plain;charset=UTF-8' });
    expect([status, json.stuff[0].cv]).toEqual([200, 'seg=123']);
  });

  it('without d_uuid (or with an invalid one) a uuid is assigned, and the profile follows it', async () => {
    const first = await get('d_rtbd=json');
    expect(first.json.uuid).toMatch(UID);
    expect(first.json.stuff).toEqual([]); // no segments: no cookie destination
    const uuid = first.json.uuid;
    await get(`d_uuid=${uuid}`);
    expect((await get(`d_uuid=${uuid}`)).json.stuff[0].cv).toBe('seg=800');
    const invalid = await get('d_uuid=not%20valid');
    expect(invalid.json.uuid).toMatch(UID);
    expect(invalid.json.uuid).not.toBe('not valid');
  });

  it('decimal numbers are numbers (for numeric traits); 007 stays a string', async () => {
    expect((await get(`c_age=35&d_uuid=${newUid()}`)).json.stuff[0].cv).toBe('seg=500');
    expect((await get(`c_age=12&d_uuid=${newUid()}`)).json.stuff).toEqual([]);
    expect((await get(`c_zip=007&d_uuid=${newUid()}`)).json.stuff[0].cv).toBe('seg=501');
  });

  it('h_referer, else the Referer header, is the page URL for path traits', async () => {
    expect(
      (await get(`h_referer=${encodeURIComponent('https://example.com/news/a')}&d_uuid=${newUid()}`)).json.stuff[0].cv,
    ).toBe('seg=700');
    expect((await get(`d_uuid=${newUid()}`, { referer: 'https://example.com/news/b' })).json.stuff[0].cv).toBe(
      'seg=700',
    );
    expect((await get(`d_uuid=${newUid()}`, { referer: 'https://example.com/sport/' })).json.stuff).toEqual([]);
  });

  it('p_ signals and d_cid qualify or pass, and are neither stored nor logged', async () => {
    const uuid = newUid();
    const { json } = await get(
      `p_email_domain=example.com&d_cid=20915%01crm-id-secret&d_cid=123%01other-secret&d_uuid=${uuid}`,
    );
    expect(json.stuff[0].cv).toBe('seg=600');
    const stored = encodeProfile((await store.get(uuid))!);
    expect(stored).not.toMatch(/example\.com|secret|p_email/);
    expect(sink.text).not.toMatch(/example\.com|secret|p_email|d_cid/);
  });

  it('the same visitor on /v1/rtc and /event shares one profile and one set of rules', async () => {
    const uid = newUid();
    await post(s.app, call(uid, [pageEvent(), pageEvent()]));
    expect((await get(`d_uuid=${uid}`)).json.stuff[0].cv).toBe('seg=800');
  });

  it('answers credentialed CORS: the origin echoed, with Access-Control-Allow-Credentials', async () => {
    const { res } = await get('d_rtbd=json', { origin: 'https://www.example.com' });
    expect(res.headers['access-control-allow-origin']).toBe('https://www.example.com');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
  });

  describe('bad input: a 4xx JSON error, nothing stored', () => {
    const tooMany = Array.from({ length: 101 }, (_, i) => `c_k${i}=1`).join('&');
    it.each([
      ['101 signals', tooMany, 400, 'too many signals (max 100)'],
      ['201 keys', Array.from({ length: 201 }, (_, i) => `x${i}=1`).join('&'), 400, 'too many keys (max 200)'],
      ['a long key', `c_${'k'.repeat(70)}=1`, 400, 'must have 1-64 characters'],
      ['a long value', `c_x=${'v'.repeat(1100)}`, 400, 'c_x: a value is too long (max 1024 characters)'],
      ['101 values', `c_x=${Array.from({ length: 101 }, () => 'v').join(',')}`, 400, 'c_x: too many values (max 100)'],
      ['a malformed d_cid', 'd_cid=no-separator', 400, 'd_cid: must be DPID%01DPUUID'],
      ['21 d_cid', Array.from({ length: 21 }, (_, i) => `d_cid=${i}%01x`).join('&'), 400, 'd_cid: too many (max 20)'],
      ['a URL over 8 KB', `c_x=${'v'.repeat(8200)}`, 414, 'URL too long (max 8192 characters)'],
    ])('GET with %s', async (_name, query, status, error) => {
      const before = store.size;
      const res = await get(`${query}&d_uuid=${newUid()}`);
      expect(res.status).toBe(status);
      expect(res.json.error).toContain(error);
      expect(Object.keys(res.json)).toEqual(['error']);
      expect(store.size).toBe(before);
    });

    it.each([
      ['a d_cb that is not a name', 'd_cb=alert(1)'],
      ['a d_cb over 128 characters', `d_cb=${'a'.repeat(129)}`],
    ])('GET with %s: 400, no cookie', async (_name, query) => {
      const before = store.size;
      const res = await get(`${query}&c_section=sports`);
      expect(res.status).toBe(400);
      expect(res.json.error).toMatch(/^d_cb: must be a JavaScript name/);
      expect(res.res.headers['set-cookie']).toBeUndefined();
      expect(store.size).toBe(before);
    });

    it('a POST body over 32 KB -> 413', async () => {
      const res = await postForm(`c_x=${'v'.repeat(33 * 1024)}`);
      expect([res.status, res.json]).toEqual([413, { error: 'body too large (max 32768 bytes)' }]);
    });
  });
});

describe('/event with the default dcs settings', () => {
  const s = withApp();
  it('cookie aam, key seg, no dmn (the tag uses the page domain), no dcs_region', async () => {
    const res = await s.app.fastify.inject({
      method: 'GET',
      url: `/event?c_section=sports&d_uuid=${newUid()}&d_rtbd=json`,
    });
    expect(res.json()).toEqual({
      stuff: [{ cn: 'aam', cv: 'seg=1001,1004', ttl: 30 }],
      dests: [],
      uuid: expect.stringMatching(UID),
      tid: expect.stringMatching(TID),
    });
  });
});

describe('/event like the DCS: identity, any key name, d_rtbd, JSONP, dests', () => {
  const compat = {
    ttlDays: 30,
    traits: [
      { id: 'section-bare', where: { signal: 'section', op: 'equals', value: 'sports' } },
      { id: 'section-c', where: { signal: 'c_section', op: 'equals', value: 'sports' } },
      { id: 'video-type', where: { signal: 'videoTypeID', op: 'equals', value: 2 } },
      { id: 'pv', where: { type: 'page' } },
    ],
    segments: [
      { id: 'bare', rule: { trait: 'section-bare' } },
      { id: 'prefixed', rule: { trait: 'section-c' } },
      { id: 'video', rule: { trait: 'video-type' } },
      { id: 'two-visits', rule: { trait: 'pv', atLeast: 2 } },
    ],
    dcs: { visitorCookie: 'segdcs' },
    urlDestinations: [
      {
        id: 'px-1',
        url: 'https://partner.example/p?u=%uid%&s=bare&g=${GDPR}&c=${GDPR_CONSENT_755}',
        segments: ['bare'],
      },
      { id: 'px-2', url: 'https://other.example/sync?ts=%timestamp%&r=%rnd%', segments: 'all', hideReferrer: true },
      { id: 'px-3', url: 'https://never.example/p', segments: ['video'] },
    ],
  };
  const store = createMemoryStore();
  const sink = logSink();
  const s = withApp({ rules: compat, store, logger: { level: 'info', stream: sink.stream } });
  const inject = (method: 'GET' | 'POST', url: string, payload?: string, headers: Json = {}) =>
    s.app.fastify.inject({
      method,
      url,
      payload,
      headers: payload === undefined ? headers : { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });
  const cookieOf = (res: { headers: Record<string, unknown> }) => {
    const set = res.headers['set-cookie'];
    return typeof set == 'string' ? set : undefined;
  };
  const segs = (json: Json) => (json.stuff.length ? json.stuff[0].cv.slice(4).split(',') : []);

  it('a new visitor gets a 38-digit uuid and a host-only, HttpOnly, 400-day cookie holding it', async () => {
    const res = await inject('GET', '/event?d_rtbd=json');
    const { uuid } = res.json();
    expect(uuid).toMatch(/^[1-9]\d{37}$/);
    expect(uuid).toMatch(UID);
    expect(cookieOf(res)).toBe(`segdcs=${uuid}; Max-Age=34560000; Path=/; HttpOnly; SameSite=Lax`);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('the cookie alone recognises the visitor: a two-visit segment qualifies on the second call', async () => {
    const first = await inject('POST', '/event?d_dil_ver=9.5&_ts=1', 'd_nsid=0&d_rtbd=json&d_dst=1');
    const { uuid } = first.json();
    expect(segs(first.json())).toEqual([]);
    const second = await inject('POST', '/event?d_dil_ver=9.5&_ts=2', 'd_nsid=0&d_rtbd=json&d_dst=1', {
      cookie: `other=1; segdcs=${uuid}`,
    });
    expect([second.json().uuid, segs(second.json())]).toEqual([uuid, ['two-visits']]);
  });

  it('precedence: d_uuid, then the cookie, then d_mid, then a new id', async () => {
    const [a, b] = [newUid(), newUid()];
    const mid = '90077121775993806112115099951483039736';
    const uuidOf = async (query: string, cookie?: string) =>
      (
        await inject('GET', `/event?d_rtbd=json&${query}`, undefined, cookie ? { cookie: `segdcs=${cookie}` } : {})
      ).json().uuid as string;
    expect(await uuidOf(`d_uuid=${a}&d_mid=${mid}`, b)).toBe(a);
    expect(await uuidOf(`d_mid=${mid}`, b)).toBe(b);
    expect(await uuidOf('d_uuid=not%20valid', b)).toBe(b); // an invalid d_uuid is skipped
    const fromMid = await uuidOf(`d_mid=${mid}`);
    expect(fromMid).toMatch(/^[1-9]\d{37}$/);
    expect(await uuidOf(`d_mid=${mid}`)).toBe(fromMid); // one ECID, one profile
    expect(await uuidOf('d_mid=90077121775993806112115099951483039737')).not.toBe(fromMid);
    expect(await uuidOf('d_mid=bad%20mid')).not.toBe(fromMid);
  });

  it('d_mid alone: the second call qualifies the two-visit segment', async () => {
    const mid = `${Date.now()}123456789012345678901234`;
    await inject('GET', `/event?d_rtbd=json&d_mid=${mid}`);
    expect(segs((await inject('GET', `/event?d_rtbd=json&d_mid=${mid}`)).json())).toEqual(['two-visits']);
  });

  it('X-Forwarded-Proto is not believed without trustProxy: the cookie stays SameSite=Lax', async () => {
    const res = await inject('GET', '/event?d_rtbd=json', undefined, { 'x-forwarded-proto': 'https' });
    expect(cookieOf(res)).toMatch(/; HttpOnly; SameSite=Lax$/);
  });

  it('any key name is a signal under its own name: section and c_section are two signals', async () => {
    const q = (query: string) => inject('GET', `/event?d_rtbd=json&d_uuid=${newUid()}&${query}`);
    expect(segs((await q('section=sports')).json())).toEqual(['bare']);
    expect(segs((await q('c_section=sports')).json())).toEqual(['prefixed']);
    expect(segs((await q('section=sports&c_section=sports')).json())).toEqual(['bare', 'prefixed']);
    // Adobe's own sample keys; numbers are numbers.
    expect(segs((await q('videoTypeID=2&data=moarData')).json())).toEqual(['video']);
    // _ts, gdpr and gdpr_consent are not signals (a trait on them could never match).
    expect(segs((await q('_ts=1&gdpr=1&gdpr_consent=CQ')).json())).toEqual([]);
  });

  it('unprefixed signal values are neither stored nor logged', async () => {
    const uuid = newUid();
    await inject('GET', `/event?d_rtbd=json&d_uuid=${uuid}&section=secret-section-value`);
    expect(encodeProfile((await store.get(uuid))!)).not.toContain('secret-section-value');
    expect(sink.text).not.toContain('secret-section-value');
  });

  it('without d_rtbd=json: counted, the cookie set, no data', async () => {
    const uuid = newUid();
    const res = await inject('GET', `/event?d_uuid=${uuid}&section=sports`);
    expect([res.statusCode, res.body, res.headers['content-type']]).toEqual([200, '', 'text/plain; charset=utf-8']);
    expect(cookieOf(res)).toContain(`segdcs=${uuid};`);
    expect(segs((await inject('GET', `/event?d_rtbd=json&d_uuid=${uuid}`)).json())).toEqual(['bare', 'two-visits']);
  });

  it('dests: the URL destinations of the visitor segments in Audience Manager shape, only with d_dst=1', async () => {
    const uuid = newUid();
    const before = Date.now();
    const res = await inject('GET', `/event?d_rtbd=json&d_dst=1&d_uuid=${uuid}&section=sports`);
    const { dests } = res.json();
    expect(dests).toEqual([
      {
        id: 'px-1',
        c: `https://partner.example/p?u=${uuid}&s=bare&g=\${GDPR}&c=\${GDPR_CONSENT_755}`,
        hr: false,
        y: 'img',
      },
      { id: 'px-2', c: expect.stringMatching(/^https:\/\/other\.example\/sync\?ts=\d{13}&r=\d+$/), hr: true, y: 'img' },
    ]);
    expect(Number(/ts=(\d+)/.exec(dests[1].c)![1])).toBeGreaterThanOrEqual(before);
    // The consent macros are expanded when the call carries gdpr / gdpr_consent.
    const withConsent = await inject('GET', `/event?d_rtbd=json&d_dst=1&d_uuid=${uuid}&gdpr=1&gdpr_consent=CQuZ.IAAA`);
    expect(withConsent.json().dests[0].c).toBe(`https://partner.example/p?u=${uuid}&s=bare&g=1&c=CQuZ.IAAA`);
    expect((await inject('GET', `/event?d_rtbd=json&d_uuid=${uuid}`)).json().dests).toEqual([]);
  });

  describe('JSONP (d_cb)', () => {
    it('answers application/javascript calling the callback with the same answer', async () => {
      const uuid = newUid();
      const res = await inject('GET', `/event?d_rtbd=json&d_uuid=${uuid}&section=sports&d_cb=window.acme.cb_1$`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/javascript; charset=utf-8');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      const m = /^\/\*\*\/window\.acme\.cb_1\$\((.*)\);$/s.exec(res.body);
      expect(m).not.toBeNull();
      expect(JSON.parse(m![1])).toMatchObject({ stuff: [{ cn: 'aam', cv: 'seg=bare' }], uuid });
      // Evaluated as a script would be: the callback receives the object.
      let got: unknown;
      new Function('window', res.body)({ acme: { cb_1$: (x: unknown) => (got = x) } });
      expect(got).toMatchObject({ uuid });
    });

    it.each([
      'alert(1)',
      'a;alert(1)',
      'a b',
      'a..b',
      '.a',
      'a.',
      '1a',
      'a[0]',
      '</script><script>alert(1)</script>',
      'a\u2028b',
      'é',
      'a'.repeat(129),
      '',
    ])('a hostile callback %j: 400, nothing counted, no cookie', async (cb) => {
      const uuid = newUid();
      const res = await inject('GET', `/event?d_rtbd=json&d_uuid=${uuid}&d_cb=${encodeURIComponent(cb)}`);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.body).not.toContain('<');
      expect(cookieOf(res)).toBeUndefined();
      expect(await store.get(uuid)).toBeUndefined();
    });

    it('hostile signal values never reach the script text', async () => {
      const hostile = '</script><script>alert(1)</script>\u2028\u2029"\'`${x}';
      const res = await inject(
        'POST',
        '/event?d_cb=cb',
        new URLSearchParams({
          d_rtbd: 'json',
          section: hostile,
          c_x: hostile,
          p_y: hostile,
          h_referer: hostile,
          gdpr: '1',
          gdpr_consent: hostile,
        }).toString(),
      );
      expect(res.statusCode).toBe(200);
      expect(res.body).toMatch(/^\/\*\*\/cb\(\{.*\}\);$/s);
      for (const bad of ['<', '>', '\u2028', '\u2029', 'alert', 'script']) expect(res.body).not.toContain(bad);
    });

    it('escapes <, >, &, U+2028 and U+2029 in the JSON it embeds', () => {
      expect(jsonpBody('cb', { a: '</script>&\u2028\u2029' })).toBe(
        '/**/cb({"a":"\\u003c/script\\u003e\\u0026\\u2028\\u2029"});',
      );
      expect(() => jsonpBody('a(b)', {})).toThrow(TypeError);
    });

    it('without d_rtbd=json: an empty script (counted, no data)', async () => {
      const res = await inject('GET', `/event?d_uuid=${newUid()}&d_cb=cb`);
      expect([res.statusCode, res.body, res.headers['content-type']]).toEqual([
        200,
        '',
        'application/javascript; charset=utf-8',
      ]);
    });
  });
});

describe('/event on the server clock', () => {
  const NOW = 1_700_000_000_000;
  const s = withApp({
    now: () => NOW,
    rules: {
      traits: [{ id: 'pv', where: { type: 'page' } }],
      segments: [{ id: 'seen', rule: { trait: 'pv' } }],
      urlDestinations: [{ id: 'px', url: 'https://partner.example/sync?ts=%timestamp%', segments: 'all' }],
    },
  });

  // The answer's macros use the same clock as the profile (the app's `now`), not the wall clock.
  it('expands %timestamp% with the time the profile was updated at', async () => {
    const res = await s.app.fastify.inject({
      method: 'POST',
      url: `/event?d_uuid=${newUid()}`,
      payload: 'd_rtbd=json&d_dst=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().dests).toEqual([
      expect.objectContaining({ id: 'px', c: `https://partner.example/sync?ts=${NOW}` }),
    ]);
  });
});
