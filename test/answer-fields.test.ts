import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient } from './support/client';
import { jsonCodecWithDestinations } from '../src/core/codec';
import { resolveConfig } from '../src/core/config';
import { resolveCookieDestinations } from '../src/core/cookie-destinations';
import { dcsCodec } from '../src/core/dcs-codec';
import { createDestinations } from '../src/core/destinations';
import type { DestinationOutcome } from '../src/types';
import { fakePlatform } from './fake-platform';

/**
 * Every optional field of a server answer, by type and range (docs/protocol.md: "`ttl`,
 * `hideReferrer` and `domain` of the wrong type count as absent"). Each row sends one answer
 * through a client and asserts what the field does: the cookie's lifetime in the jar, pixel
 * de-duplication across pages through storage, the Referer policy of the fired pixel, whether
 * a cookie destination is written. A wrong type or an out-of-range value must do exactly what
 * an absent field does. (NaN and Infinity are not JSON: every answer goes through JSON.)
 */

/** The field is left out of the answer. */
const ABSENT = Symbol('absent');
/** The fake jar's `cookie.days` default and the fixed clock of fakePlatform. */
const DEFAULT_DAYS = 30;
const NOW = 1_700_000_000_000;
const PIXEL_RECORD = 'segtag_px:pub-1';

const withField = (item: object, key: string, value: unknown) => (value === ABSENT ? item : { ...item, [key]: value });

/** `views` page views (one page) against a server answering `body` (as JSON), destinations `aam` allowed. */
async function page(body: object, protocol: 'v1' | 'dcs', store?: Map<string, string>, views = 1) {
  const fake = fakePlatform(() => ({ status: 200, body: JSON.parse(JSON.stringify(body)) }), store);
  const config =
    protocol == 'dcs'
      ? { endpoint: 'https://pub.demdex.net/event', site: 'pub-1', protocol: 'dcs' as const, cookie: { name: 'segs' } }
      : { endpoint: 'https://dcs.example.com/v1/rtc', site: 'pub-1' };
  const cfg = resolveCookieDestinations(resolveConfig(config), ['aam']);
  const codec = protocol == 'dcs' ? dcsCodec : jsonCodecWithDestinations;
  const tag = createClient(cfg, fake.platform, codec, createDestinations(cfg, fake.platform));
  const outcomes: DestinationOutcome[] = [];
  tag.onDestinations!((o) => outcomes.push(o));
  for (let i = 0; i < views; i++) expect((await tag.page()).ok).toBe(true);
  await vi.advanceTimersByTimeAsync(1000);
  return { ...fake, outcomes };
}

/** The field's effect, measured, compared with toEqual. */
interface Field<E> {
  field: string;
  /** What the field does when absent. */
  absent: E;
  /** [case, value, effect (omitted: like absent)]. */
  cases: [string, unknown, E?][];
  /** Words for an effect, for the row's name. */
  says: (e: E) => string;
  /** Sends an answer with the field set to `value` (or left out) and measures the effect. */
  measure: (value: unknown) => Promise<E>;
}

// Cases shared by every numeric `ttl`: the wrong types, each counting as absent.
const WRONG_TYPES_FOR_A_NUMBER: [string, unknown][] = [
  ['wrong type: string', '5'],
  ['wrong type: empty string', ''],
  ['wrong type: array', [7]],
  ['wrong type: object', {}],
  ['wrong type: boolean true', true],
  ['wrong type: boolean false', false],
  ['wrong type: null', null],
];

/** A `ttl` in days, (0, 400]: the lifetime of the cookie it comes with, default cookie.days. */
const days = (field: string, measure: (value: unknown) => Promise<number | undefined>): Field<number | undefined> => ({
  field,
  absent: DEFAULT_DAYS,
  cases: [
    ['right type, in range', 7, 7],
    ['right type, the maximum', 400, 400],
    ['right type, a fraction', 0.5, 0.5],
    ['out of range: zero', 0],
    ['out of range: negative', -7],
    ['out of range: too large', 401],
    ['out of range: huge', 1e300],
    ...WRONG_TYPES_FOR_A_NUMBER,
  ],
  says: (d) => `written for ${d} days` + (d == DEFAULT_DAYS ? ' (cookie.days)' : ''),
  measure,
});

/** Minutes a pixel is not fired again, across pages: undefined when it is once per page. */
type PixelMemory = { firedOnTheNextPage: boolean; rememberedForMinutes?: number };
const pixelTtl: Field<PixelMemory> = {
  field: 'v1 pixels[].ttl',
  absent: { firedOnTheNextPage: true },
  cases: [
    ['right type, in range', 10, { firedOnTheNextPage: false, rememberedForMinutes: 10 }],
    ['right type, the maximum', 525600, { firedOnTheNextPage: false, rememberedForMinutes: 525600 }],
    ['right type, a fraction', 0.5, { firedOnTheNextPage: false, rememberedForMinutes: 0.5 }],
    ['out of range: zero', 0],
    ['out of range: negative', -10],
    ['out of range: too large', 525601],
    ['out of range: huge', 1e300],
    ...WRONG_TYPES_FOR_A_NUMBER,
  ],
  says: (m) =>
    m.firedOnTheNextPage
      ? 'de-duplicated on this page only (fired again on the next)'
      : `not fired again for ${m.rememberedForMinutes} minutes, across pages`,
  async measure(ttl) {
    const body = { segments: [], pixels: [withField({ id: 'p', url: 'https://a.example/p' }, 'ttl', ttl)] };
    // Two views of one page: the id is seen on the second whatever the ttl.
    const first = await page(body, 'v1', undefined, 2);
    expect(first.fired).toHaveLength(1);
    expect(first.outcomes).toEqual([
      { type: 'pixel', id: 'p', status: 'loaded' },
      { type: 'pixel', id: 'p', status: 'skipped', reason: 'seen' },
    ]);
    const record: [string, number][] = JSON.parse(first.store.get(PIXEL_RECORD)!);
    const next = await page(body, 'v1', first.store);
    const remembered = record.find(([id]) => id == 'p');
    return {
      firedOnTheNextPage: next.fired.length == 1,
      ...(remembered && { rememberedForMinutes: (remembered[1] - NOW) / 6e4 }),
    };
  },
};

/** Whether the fired pixel hides the Referer (only `true` does). */
const hideReferrer = (field: string, measure: (value: unknown) => Promise<boolean[]>): Field<boolean[]> => ({
  field,
  absent: [false],
  cases: [
    ['right type: true', true, [true]],
    ['right type: false', false, [false]],
    ['wrong type: string', 'true'],
    ['wrong type: string', 'yes'],
    ['wrong type: empty string', ''],
    ['wrong type: number', 1],
    ['wrong type: number', 0],
    ['wrong type: array', [true]],
    ['wrong type: object', {}],
    ['wrong type: null', null],
  ],
  says: ([hidden]) => (hidden ? 'fired without a Referer' : 'fired with the Referer'),
  measure,
});

/** A cookie destination's `domain`: written, or skipped with reason 'domain'. */
type Written = { outcome: [string, string?]; cookie?: string };
const WRITTEN: Written = { outcome: ['written'], cookie: 'v' };
const SKIPPED: Written = { outcome: ['skipped', 'domain'] };
const domain = (field: string, measure: (value: unknown) => Promise<Written>): Field<Written> => ({
  field,
  absent: WRITTEN,
  cases: [
    // The fake jar writes segtag's own cookies on example.com.
    ['right type: the same domain', 'example.com', WRITTEN],
    ['right type: with a leading dot', '.example.com', WRITTEN],
    ['right type: upper case', 'EXAMPLE.COM', WRITTEN],
    ['right type: leading dot, mixed case', '.Example.Com', WRITTEN],
    ['right type: a subdomain', 'www.example.com', SKIPPED],
    ['right type: another domain', 'other.com', SKIPPED],
    ['right type: a suffix of it', 'ample.com', SKIPPED],
    ['right type: a trailing dot', 'example.com.', SKIPPED],
    ['right type: two leading dots', '..example.com', SKIPPED],
    ['right type: empty string', '', SKIPPED],
    ['wrong type: number', 5],
    ['wrong type: array of the same domain', ['example.com']],
    ['wrong type: array of another domain', ['other.com']],
    ['wrong type: object', {}],
    ['wrong type: boolean true', true],
    ['wrong type: boolean false', false],
    ['wrong type: null', null],
  ],
  says: (w) => (w.cookie ? 'written' : "skipped with reason 'domain'"),
  measure,
});

const cookieDays = async (body: object, protocol: 'v1' | 'dcs', name: string) => {
  const { jar } = await page(body, protocol);
  expect(jar.get(name)?.value).toBeDefined();
  return jar.get(name)?.days;
};
const cookieWritten = async (body: object, protocol: 'v1' | 'dcs'): Promise<Written> => {
  const { jar, outcomes } = await page(body, protocol);
  expect(outcomes).toHaveLength(1);
  const [{ type, id, status, reason }] = outcomes;
  expect([type, id]).toEqual(['cookie', 'aam']);
  return { outcome: reason ? [status, reason] : [status], ...(jar.has('aam') && { cookie: jar.get('aam')!.value }) };
};
const referrer = async (body: object, protocol: 'v1' | 'dcs') =>
  (await page(body, protocol)).fired.map((f) => f.hideReferrer);

const FIELDS: Field<any>[] = [
  days('v1 ttl (segment cookie)', (ttl) => cookieDays(withField({ segments: ['1001'] }, 'ttl', ttl), 'v1', 'segtag')),
  pixelTtl,
  hideReferrer('v1 pixels[].hideReferrer', (hr) =>
    referrer({ segments: [], pixels: [withField({ id: 'p', url: 'https://a.example/p' }, 'hideReferrer', hr)] }, 'v1'),
  ),
  days('v1 cookies[].ttl', (ttl) =>
    cookieDays({ segments: [], cookies: [withField({ name: 'aam', value: 'v' }, 'ttl', ttl)] }, 'v1', 'aam'),
  ),
  domain('v1 cookies[].domain', (d) =>
    cookieWritten({ segments: [], cookies: [withField({ name: 'aam', value: 'v' }, 'domain', d)] }, 'v1'),
  ),
  days('DCS stuff[].ttl (segment cookie)', (ttl) =>
    cookieDays({ stuff: [withField({ cn: 'segs', cv: 'seg=1001' }, 'ttl', ttl)] }, 'dcs', 'segs'),
  ),
  days('DCS stuff[].ttl (cookie destination)', (ttl) =>
    cookieDays({ stuff: [withField({ cn: 'aam', cv: 'v' }, 'ttl', ttl)] }, 'dcs', 'aam'),
  ),
  domain('DCS stuff[].dmn (cookie destination)', (dmn) =>
    cookieWritten({ stuff: [withField({ cn: 'aam', cv: 'v' }, 'dmn', dmn)] }, 'dcs'),
  ),
  hideReferrer('DCS dests[].hr', (hr) =>
    referrer({ dests: [withField({ id: '4', c: 'https://partner.example/p', y: 'img' }, 'hr', hr)] }, 'dcs'),
  ),
];

const show = (value: unknown) => (value === ABSENT ? 'absent' : JSON.stringify(value));

const ROWS = FIELDS.flatMap(({ field, absent, cases, says, measure }) =>
  [['absent', ABSENT, absent] as [string, unknown, unknown], ...cases].map(([kind, value, effect]) => {
    const like = effect === undefined;
    const expected = like ? absent : effect;
    return {
      name: `${field} = ${show(value)} (${kind}) → ${like ? 'like absent: ' : ''}${says(expected)}`,
      measure: () => measure(value),
      expected,
    };
  }),
);

describe('optional answer fields: a wrong type or an out-of-range value counts as absent', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  // A loop rather than it.each: it.each's `$name` truncates the names, which are the table.
  for (const { name, measure, expected } of ROWS) {
    it(name, async () => {
      expect(await measure()).toEqual(expected);
    });
  }

  it('DCS: the segment cookie ignores dmn, whatever it is', async () => {
    for (const dmn of ['other.com', '', 5, null, ['example.com']]) {
      const { jar } = await page({ stuff: [{ cn: 'segs', cv: 'seg=1001', dmn }] }, 'dcs');
      expect(jar.get('segs')).toEqual({ value: 'seg=1001', days: DEFAULT_DAYS });
    }
  });
});
