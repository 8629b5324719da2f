import { describe, expect, it, vi } from 'vitest';
import { createClient } from './support/client';
import { resolveConfig } from '../src/core/config';
import { dcsCodec as dcs, decodeDcs, encodeDcs } from '../src/core/dcs-codec';
import type { CallRequest } from '../src/protocol/types';
import { fakePlatform } from './fake-platform';
import { createDestinations } from '../src/core/destinations';
import { resolveCookieDestinations } from '../src/core/cookie-destinations';

const SINGLE = { _format: 'single' as const, key: 'seg', _keySeparator: '=', _valueSeparator: ',' };

/** The documented example answer (FIELD-NOTES section 1, `dcs-url-receive.md`), with a full uuid. */
const EXAMPLE = {
  stuff: [{ cn: 'aam', cv: 'seg=123,456', ttl: 30, dmn: 'example.com' }],
  dests: [{ id: '4', c: 'https://partner.example/p?x=1', hr: true, y: 'img' }],
  uuid: '22920112968019678612904394744954398990',
  dcs_region: 7,
  tid: '31ZpxW5bQGc=',
};

const request = (over: Partial<CallRequest> = {}): CallRequest => ({
  v: 1,
  site: 'pub',
  uid: 'visitor-0001',
  events: [
    {
      id: 'e1',
      type: 'page',
      ts: 1,
      url: 'https://www.example.com/',
      signals: { c_section: 'sports', p_age: 42, tags: ['f1', 'motor'], loggedIn: true, d_uuid: 'spoof' },
    },
  ],
  ...over,
});

describe('encodeDcs', () => {
  it('sends the /event keys as a form-encoded body, d_rtbd=json&d_dst=1 last', () => {
    const { _body: body, _contentType: contentType } = encodeDcs(
      request({ ids: { '12345': 'abc', '678': 'x y', crm: 'dropped' } }),
    );
    expect(contentType).toBe('application/x-www-form-urlencoded');
    expect(body).toBe(
      'c_section=sports&p_age=42&c_tags=f1%2Cmotor&c_loggedIn=true&c_d_uuid=spoof' +
        '&d_uuid=visitor-0001&d_cid=678%01x+y&d_cid=12345%01abc&d_rtbd=json&d_dst=1',
    );
    const form = new URLSearchParams(body);
    expect(form.getAll('d_cid')).toEqual(['678\x01x y', '12345\x01abc']);
    expect(form.get('d_uuid')).toBe('visitor-0001');
  });

  it('sends a track event name as c_event', () => {
    const { _body: body } = encodeDcs(
      request({ events: [{ id: 'e', type: 'track', name: 'video start', ts: 1, url: 'u', signals: {} }] }),
    );
    expect(body).toBe('c_event=video+start&d_uuid=visitor-0001&d_rtbd=json&d_dst=1');
  });
});

describe('decodeDcs', () => {
  it('maps the documented example onto segments, pixels and the uid', () => {
    // The segment cookie is named like the `stuff` item: its value becomes the segments.
    expect(decodeDcs(EXAMPLE, { name: 'aam', ...SINGLE })).toEqual({
      segments: ['123', '456'],
      ttl: 30,
      pixels: [{ id: '4', url: 'https://partner.example/p?x=1', hideReferrer: true }],
      uid: '22920112968019678612904394744954398990',
    });
  });

  it('maps other stuff items to cookie destinations and leaves the segments alone', () => {
    expect(decodeDcs(EXAMPLE, { name: 'segtag', ...SINGLE })).toMatchObject({
      cookies: [{ name: 'aam', value: 'seg=123,456', ttl: 30, domain: 'example.com' }],
    });
    expect(decodeDcs(EXAMPLE, { name: 'segtag', ...SINGLE })!.segments).toBeUndefined();
  });

  it('skips iframe destinations, reads numeric ids, and treats an empty 200 as "nothing new"', () => {
    const r = decodeDcs(
      {
        dests: [
          { id: 5, c: 'https://a/', y: 'iframe' },
          { id: 6, c: 'https://b/' },
          // `y` of another type is not an image (an array used to compare equal to 'img').
          { id: 7, c: 'https://c/', y: ['img'] },
          { id: 8, c: 'https://d/', y: 1 },
        ],
      },
      { name: 'segtag', ...SINGLE },
    )!;
    expect(r.pixels).toEqual([{ id: '6', url: 'https://b/', hideReferrer: false, ttl: undefined }]);
    expect(decodeDcs({}, { name: 'segtag', ...SINGLE })).toEqual({});
  });

  it.each([null, 'x', [], 3])('rejects a body that is not an object: %j', (body) => {
    expect(decodeDcs(body, { name: 'segtag', ...SINGLE })).toBeUndefined();
  });
});

describe('a client speaking DCS', () => {
  it('sends the form, writes the segment cookie, the cookie destination and fires the pixel', async () => {
    vi.useFakeTimers();
    try {
      const { platform, jar, sent, fired } = fakePlatform(() => ({ status: 200, body: EXAMPLE }));
      const cfg = resolveCookieDestinations(
        resolveConfig({
          endpoint: 'https://pub.demdex.net/event',
          site: 'pub',
          protocol: 'dcs',
          cookie: { name: 'segs' },
        }),
        ['aam'],
      );
      const tag = createClient(cfg, platform, dcs, createDestinations(cfg, platform));
      tag.identify({ '12345': 'abc' });
      const result = await tag.page({ c_section: 'sports' });
      await vi.advanceTimersByTimeAsync(1000);
      expect(sent[0].contentType).toBe('application/x-www-form-urlencoded');
      expect(sent[0].body).toMatch(/^c_section=sports&d_uuid=[0-9a-f-]{36}&d_cid=12345%01abc&d_rtbd=json&d_dst=1$/);
      // No `segs` item: the segment cookie is left alone, the `aam` item is a destination.
      expect(result).toEqual({ ok: true, segments: [], targeting: {} });
      expect(jar.get('aam')).toEqual({ value: 'seg=123,456', days: 30 });
      expect(jar.get('segtag_uid')!.value).toBe(EXAMPLE.uuid);
      expect(fired).toMatchObject([{ url: 'https://partner.example/p?x=1', hideReferrer: true }]);

      // A second call sends the adopted uuid; `cookie.name: 'aam'` makes the item the segments.
      const cfg2 = { ...cfg, name: 'aam', cookieDestinations: [] };
      const tag2 = createClient(cfg2, platform, dcs, createDestinations(cfg2, platform));
      expect(await tag2.page()).toEqual({ ok: true, segments: ['123', '456'], targeting: { seg: ['123', '456'] } });
      expect(new URLSearchParams(sent[1].body).get('d_uuid')).toBe(EXAMPLE.uuid);
      expect(jar.get('aam')).toEqual({ value: 'seg=123,456', days: 30 });
    } finally {
      vi.useRealTimers();
    }
  });

  // Audience Manager's /event call carries one event: several events raised together go as one
  // call each, every call with its own event's signals (they used to be folded into one form).
  it('sends one call per event, each with its own signals and name', async () => {
    const { platform, sent } = fakePlatform(() => ({ status: 200, body: {} }));
    const cfg = resolveConfig({ endpoint: '/event', site: 'pub', protocol: 'dcs' });
    const tag = createClient(cfg, platform, dcs);
    const results = await Promise.all([
      tag.page({ c_section: 'sports' }),
      tag.track('video start', { genre: 'f1' }),
      tag.page({ c_section: 'news', p_zip: '10001' }),
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    const forms = sent.map((r) =>
      Object.fromEntries([...new URLSearchParams(r.body)].filter(([k]) => !k.startsWith('d_'))),
    );
    expect(forms).toEqual([
      { c_section: 'sports' },
      { c_event: 'video start', c_genre: 'f1' },
      { c_section: 'news', p_zip: '10001' },
    ]);
  });
});
