import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient } from './support/client';
import { resolveConfig } from '../src/core/config';
import { resolveCookieDestinations } from '../src/core/cookie-destinations';
import { expandMacros, MAX_SEEN } from '../src/core/pixels';
import { parseResponse } from '../src/protocol/parse-response';
import type { DestinationOutcome } from '../src/types';
import { fakePlatform } from './fake-platform';
import { jsonCodecWithDestinations, parseResponseWithDestinations } from '../src/core/codec';
import { createDestinations } from '../src/core/destinations';

const cfg = (extra = {}) =>
  resolveCookieDestinations(resolveConfig({ endpoint: 'https://dcs.example.com/v1/rtc', site: 'pub-1', ...extra }), [
    'aam',
    'partner',
  ]);

/** A client whose server answers `body` (plus empty segments), with outcomes collected. */
function setup(body: any, extra = {}, platformExtra: Partial<ReturnType<typeof fakePlatform>['platform']> = {}) {
  const fake = fakePlatform(() => ({ status: 200, body: { segments: [], ...body } }));
  Object.assign(fake.platform, platformExtra);
  const c = cfg(extra);
  const tag = createClient(c, fake.platform, jsonCodecWithDestinations, createDestinations(c, fake.platform));
  const outcomes: DestinationOutcome[] = [];
  tag.onDestinations!((o) => outcomes.push(o));
  return { ...fake, tag, outcomes };
}

const px = (id: string, url: string, more = {}) => ({ id, url, ...more });
const settle = () => vi.advanceTimersByTimeAsync(5000);

describe('parseDestinations (through parseResponseWithDestinations)', () => {
  it('keeps well-shaped entries only, at most 50 of each', () => {
    const r = parseResponseWithDestinations({
      segments: [],
      pixels: [
        px('1', 'https://a/'),
        px('bad id', 'https://a/'),
        { id: '2' },
        null,
        'x',
        [],
        { id: 3, url: 'https://a/' },
        ...Array.from({ length: 60 }, (_, i) => px('p' + i, 'https://a/')),
      ],
      cookies: [{ name: 'aam', value: 'v' }, { name: 'aam' }, { name: 1, value: 'v' }, 7],
    })!;
    // The first 50 entries are read, then the malformed ones among them dropped.
    expect(r.pixels!.map((p) => p.id)).toEqual(['1', ...Array.from({ length: 43 }, (_, i) => 'p' + i)]);
    expect(r.cookies).toEqual([{ name: 'aam', value: 'v' }]);
  });

  it('treats missing or wrong-typed lists as empty', () => {
    expect(parseResponseWithDestinations({ segments: [], pixels: 'x', cookies: { name: 'aam' } })).toEqual({
      segments: [],
    });
  });

  it('are not read at all by the standard script tag codec', () => {
    expect(
      parseResponse({ segments: [], pixels: [px('1', 'https://a/')], cookies: [{ name: 'aam', value: 'v' }] }),
    ).toEqual({ segments: [] });
  });
});

describe('expandMacros', () => {
  it('expands every macro, URL-encoded', () => {
    const url = expandMacros(
      'https://p/?r=%rnd%&t=%timestamp%&u=%uid%&g=${GDPR}&c=${GDPR_CONSENT_755}&k=%keep%',
      { uid: 'a b&c', gdpr: 1, tcString: 'CO x=' },
      1700000000000,
    );
    expect(url).toMatch(/^https:\/\/p\/\?r=\d+&t=1700000000000&u=a%20b%26c&g=1&c=CO%20x%3D&k=%keep%$/);
  });

  it('expands the consent macros to empty strings while the consent state is unknown', () => {
    expect(expandMacros('https://p/?g=${GDPR}&c=${GDPR_CONSENT_1}', { uid: 'u' }, 0)).toBe('https://p/?g=&c=');
    expect(expandMacros('https://p/?g=${GDPR}', { uid: 'u', gdpr: 0 }, 0)).toBe('https://p/?g=0');
  });
});

describe('pixel syncs', () => {
  afterEach(() => vi.useRealTimers());

  it('fires allowed https pixels as images, in order, with macros and hideReferrer, and reports outcomes', async () => {
    vi.useFakeTimers();
    const { tag, fired, outcomes, sent } = setup({
      pixels: [px('1', 'https://a.example/p?u=%uid%'), px('2', 'https://b.example/broken', { hideReferrer: true })],
    });
    await tag.page();
    await settle();
    expect(fired.map((f) => [f.url, f.hideReferrer])).toEqual([
      [`https://a.example/p?u=${sent[0].uid}`, false],
      ['https://b.example/broken', true],
    ]);
    expect(outcomes).toEqual([
      { type: 'pixel', id: '1', status: 'loaded' },
      { type: 'pixel', id: '2', status: 'error' },
    ]);
  });

  it('never fires javascript:, data:, blob:, relative, http (on an https page) or overlong URLs', async () => {
    vi.useFakeTimers();
    const bad = [
      'javascript:alert(1)',
      'data:image/gif;base64,R0lG',
      'blob:https://a/x',
      '/relative',
      '//a.example/p',
      'http://a.example/p',
      'https://a.example/' + 'x'.repeat(5000),
      'ftp://a/',
      'not a url',
      '%uid%:alert(1)',
    ];
    const { tag, fired, outcomes } = setup(
      { pixels: bad.map((url, i) => px('b' + i, url)) },
      {},
      { _uuid: () => 'javascript' },
    );
    await tag.page();
    await settle();
    expect(fired).toEqual([]);
    expect(outcomes.map((o) => o.reason)).toEqual(bad.map(() => 'url'));
  });

  it('allows http pixels on an http page', async () => {
    vi.useFakeTimers();
    const { tag, fired } = setup(
      { pixels: [px('1', 'http://a.example/p')] },
      {},
      { _context: () => ({ url: 'http://www.example.com/' }) },
    );
    await tag.page();
    await settle();
    expect(fired.map((f) => f.url)).toEqual(['http://a.example/p']);
  });

  it('spaces pixels 100 ms apart, also across answers, and fires at most 10 per answer', async () => {
    vi.useFakeTimers();
    const start = Date.now();
    const { tag, fired, outcomes } = setup({
      pixels: Array.from({ length: 12 }, (_, i) => px('p' + i, `https://a.example/${i}`)),
    });
    await tag.page();
    await vi.advanceTimersByTimeAsync(0);
    expect(fired).toHaveLength(1);
    await settle();
    expect(fired.map((f) => f.at - start)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    expect(outcomes.filter((o) => o.status == 'skipped')).toEqual([
      { type: 'pixel', id: 'p10', status: 'skipped', reason: 'limit' },
      { type: 'pixel', id: 'p11', status: 'skipped', reason: 'limit' },
    ]);
  });

  it('de-duplicates by id: for ttl minutes across pages, for the page without ttl', async () => {
    vi.useFakeTimers();
    const pixels = [
      px('t', 'https://a.example/t', { ttl: 10 }),
      px('n', 'https://a.example/n'),
      px('t', 'https://a.example/t2', { ttl: 10 }),
    ];
    const first = setup({ pixels });
    await first.tag.page();
    await first.tag.page();
    await settle();
    expect(first.fired.map((f) => f.url)).toEqual(['https://a.example/t', 'https://a.example/n']);
    expect(first.outcomes.filter((o) => o.reason == 'seen').map((o) => o.id)).toEqual(['t', 't', 'n', 't']);

    // The next page: same storage, new instance. `t` is still within its ttl, `n` is not remembered.
    const next = setup({ pixels });
    for (const [k, v] of first.store) next.store.set(k, v);
    await next.tag.page();
    await settle();
    expect(next.fired.map((f) => f.url)).toEqual(['https://a.example/n']);

    // Ten minutes later `t` fires again.
    const later = setup({ pixels }, {}, { _now: () => 1_700_000_000_000 + 10 * 60e3 + 1 });
    for (const [k, v] of first.store) later.store.set(k, v);
    await later.tag.page();
    await settle();
    expect(later.fired.map((f) => f.url)).toEqual(['https://a.example/t', 'https://a.example/n']);
  });

  it('caps the persisted record and survives any junk in storage', async () => {
    vi.useFakeTimers();
    for (const junk of [
      '{',
      'null',
      '{"__proto__":{"x":1}}',
      '[1,2]',
      '"str"',
      '[["t",1e99],["__proto__",1e99],[{},{}]]',
    ]) {
      const { tag, fired, store } = setup({ pixels: [px('t', 'https://a.example/t', { ttl: 5 })] });
      store.set('segtag_px:pub-1', junk);
      await tag.page();
      await settle();
      expect(fired.length).toBe(junk.includes('"t"') ? 0 : 1);
      expect(({} as any).x).toBeUndefined();
    }
    const { tag, store } = setup({
      pixels: Array.from({ length: 50 }, (_, i) => px('x'.repeat(60) + i, 'https://a.example/', { ttl: 60 })),
    });
    for (let i = 0; i < 3; i++) await tag.page();
    const record = JSON.parse(store.get('segtag_px:pub-1')!);
    expect(record.length).toBeLessThanOrEqual(MAX_SEEN);
    expect(store.get('segtag_px:pub-1')!.length).toBeLessThan(4500);
  });

  it('expands consent macros from the platform consent state when there is one', async () => {
    vi.useFakeTimers();
    const { tag, fired } = setup(
      { pixels: [px('1', 'https://a.example/?g=${GDPR}&c=${GDPR_CONSENT_755}')] },
      {},
      { _macroConsent: () => ({ gdpr: 1, tcString: 'CPabc' }) },
    );
    await tag.page();
    await settle();
    expect(fired[0].url).toBe('https://a.example/?g=1&c=CPabc');
  });

  it('reports a rejected fire as an error and keeps going', async () => {
    vi.useFakeTimers();
    const { tag, outcomes } = setup(
      { pixels: [px('1', 'https://a.example/')] },
      {},
      { _fire: () => Promise.reject(new Error('blocked')) },
    );
    await tag.page();
    await settle();
    expect(outcomes).toEqual([{ type: 'pixel', id: '1', status: 'error' }]);
  });
});

describe('cookie destinations', () => {
  it('writes allowlisted cookies only, with a reason for every skip', async () => {
    const { tag, jar, outcomes } = setup({
      cookies: [
        { name: 'aam', value: 'seg=123,456', ttl: 30, domain: 'example.com' },
        { name: 'partner', value: 'x', ttl: 9999 },
        { name: 'segtag_uid', value: 'hijack' },
        { name: 'evil; domain=x', value: 'v' },
        { name: 'aam', value: 'line\nbreak' },
        { name: 'aam', value: 'é' },
        { name: 'partner', value: 'x'.repeat(3000) },
        { name: 'partner', value: 'v', domain: 'other.com' },
      ],
    });
    await tag.page();
    expect(jar.get('aam')).toEqual({ value: 'seg=123,456', days: 30 });
    expect(jar.get('partner')).toEqual({ value: 'x', days: 30 });
    expect(jar.get('segtag_uid')!.value).not.toBe('hijack');
    expect([...jar.keys()].sort()).toEqual(['aam', 'partner', 'segtag_uid']);
    expect(outcomes.map((o) => [o.id, o.status, o.reason])).toEqual([
      ['aam', 'written', undefined],
      ['partner', 'written', undefined],
      ['segtag_uid', 'skipped', 'name'],
      ['evil; domain=x', 'skipped', 'name'],
      ['aam', 'skipped', 'value'],
      ['aam', 'skipped', 'value'],
      ['partner', 'skipped', 'size'],
      ['partner', 'skipped', 'domain'],
    ]);
  });

  it('writes nothing without a cookieDestinations allowlist (the default)', async () => {
    const fake = fakePlatform(() => ({ status: 200, body: { segments: [], cookies: [{ name: 'aam', value: 'v' }] } }));
    const c = resolveCookieDestinations(resolveConfig({ endpoint: '/rtc', site: 's' }));
    const tag = createClient(c, fake.platform, jsonCodecWithDestinations, createDestinations(c, fake.platform));
    await tag.page();
    expect(fake.jar.has('aam')).toBe(false);
  });

  it('resolveCookieDestinations copies the allowlist (default none)', () => {
    const list = ['aam', 'partner_1'];
    const r = resolveCookieDestinations(resolveConfig({ endpoint: '/rtc', site: 's' }), list);
    list.push('late');
    expect(r.cookieDestinations).toEqual(['aam', 'partner_1']);
    expect(resolveCookieDestinations(resolveConfig({ endpoint: '/rtc', site: 's' })).cookieDestinations).toEqual([]);
  });

  it.each([
    ['aam', {}],
    [['a;b'], {}],
    [[['aam']], {}],
    [['segtag'], {}],
    [['segtag_uid'], {}],
    [['aam'], { cookie: { name: 'aam' } }],
  ])('resolveCookieDestinations rejects %j (config %j) with a TypeError naming it', (list, extra) => {
    const c = resolveConfig({ endpoint: '/rtc', site: 's', ...extra });
    expect(() => resolveCookieDestinations(c, list)).toThrow(TypeError);
    expect(() => resolveCookieDestinations(c, list)).toThrow('segtag: invalid cookieDestinations');
  });

  it('a throwing listener breaks nothing; debug mode logs each outcome', async () => {
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    try {
      const { tag, jar } = setup({ cookies: [{ name: 'aam', value: '1' }] }, { debug: true });
      tag.onDestinations!(() => {
        throw new Error('publisher bug');
      });
      expect((await tag.page()).ok).toBe(true);
      expect(jar.get('aam')!.value).toBe('1');
      expect(info).toHaveBeenCalledWith('segtag:', { type: 'cookie', id: 'aam', status: 'written', reason: undefined });
    } finally {
      info.mockRestore();
    }
    const p = fakePlatform().platform;
    expect(() => createClient(cfg(), p, undefined, createDestinations(cfg(), p)).onDestinations!('x' as any)).toThrow(
      /onDestinations/,
    );
  });
});
