/**
 * GET|POST /event: Audience Manager's DCS request format in, its response shape out
 * (FIELD-NOTES section 1: `{"stuff":[{"cn":"aam","cv":"seg=123,456","ttl":30,"dmn":"example.com"}],
 * "dests":[...],"uuid":"2292011...","dcs_region":7,"tid":"31ZpxW5bQGc="}`), from the same rules
 * and profiles as /v1/rtc.
 */
import { describe, expect, it } from 'vitest';
import { UID } from 'segtag/protocol';
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
  const get = async (query: string, headers: Json = {}) => {
    const res = await s.app.fastify.inject({ method: 'GET', url: `/event?${query}`, headers });
    return { status: res.statusCode, json: res.json() as Json, res };
  };
  const postForm = async (body: string, query = '', headers: Json = {}) => {
    const res = await s.app.fastify.inject({
      method: 'POST',
      url: `/event${query && `?${query}`}`,
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

  it('always JSON: a JSONP callback (d_cb) is ignored', async () => {
    const { res } = await get(`d_cb=alert&c_section=sports&d_uuid=${newUid()}`);
    expect(res.body.startsWith('{')).toBe(true);
    expect(res.body).not.toContain('alert');
  });

  it('answers CORS', async () => {
    const { res } = await get('d_rtbd=json', { origin: 'https://www.example.com' });
    expect(res.headers['access-control-allow-origin']).toBe('*');
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

    it('a POST body over 32 KB -> 413', async () => {
      const res = await postForm(`c_x=${'v'.repeat(33 * 1024)}`);
      expect([res.status, res.json]).toEqual([413, { error: 'body too large (max 32768 bytes)' }]);
    });
  });
});

describe('/event with the default dcs settings', () => {
  const s = withApp();
  it('cookie aam, key seg, no dmn (the tag uses the page domain), no dcs_region', async () => {
    const res = await s.app.fastify.inject({ method: 'GET', url: `/event?c_section=sports&d_uuid=${newUid()}` });
    expect(res.json()).toEqual({
      stuff: [{ cn: 'aam', cv: 'seg=1001,1004', ttl: 30 }],
      dests: [],
      uuid: expect.stringMatching(UID),
      tid: expect.stringMatching(TID),
    });
  });
});
