/**
 * Property tests for the segment cookie formats: what segtag writes through js-cookie is
 * read back by segtag (browser and server side) and by two independent cookie parsers.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import Cookies from 'js-cookie';
import { parseCookie, stringifySetCookie } from 'cookie';
import { Cookie, CookieJar } from 'tough-cookie';
import { parseSegments, serializeSegments } from '../src/core/segment-cookie';
import { resolveCookie } from '../src/core/config';
import { decodeCookieValue, parseSegmentCookie } from '../src/cookie';
import { SEGMENT_ID } from '../src/protocol/patterns';

const encode = (v: string) => Cookies.converter.write(v, '');
const decode = (v: string) => Cookies.converter.read(v, '');

const chars = (s: string) => fc.constantFrom(...s.split(''));
const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-';
const SEPARATORS = '=,&|;/~!*^@#$';
const segmentId = fc.string({ unit: chars(ID_CHARS), minLength: 1, maxLength: 64 });
/** The settings a publisher can give and the server's segments, in priority order. */
const scenario = fc.record({
  cookie: fc.record({
    name: fc.stringMatching(/^[\w-]{1,64}$/),
    key: fc.stringMatching(/^[A-Za-z_]\w{0,19}$/),
    format: fc.constantFrom('single' as const, 'pairs' as const),
    separators: fc.uniqueArray(chars(SEPARATORS), { minLength: 2, maxLength: 2 }),
    maxBytes: fc.integer({ min: 64, max: 4096 }),
  }),
  segments: fc.uniqueArray(segmentId, { maxLength: 400 }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function write({ cookie: c, segments }: Scenario) {
  const cfg = resolveCookie({
    name: c.name,
    key: c.key,
    format: c.format,
    keySeparator: c.separators[0],
    valueSeparator: c.separators[1],
    maxBytes: c.maxBytes,
  });
  const { _value: value, _kept: kept } = serializeSegments(cfg, segments, cfg.name, cfg._maxBytes, encode);
  return { cfg, value, kept, stored: encode(value) };
}

/** RFC 6265 section 4.1.1: cookie-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E */
const COOKIE_OCTETS = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;
const RUNS = { numRuns: 300 };

describe('segment cookie formats (property)', () => {
  it('never exceeds maxBytes and keeps the longest prefix that fits', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { cfg, kept, stored } = write(s);
        expect(cfg.name.length + stored.length).toBeLessThanOrEqual(cfg._maxBytes);
        expect(kept).toEqual(s.segments.slice(0, kept.length));
        if (kept.length < s.segments.length) {
          const more = serializeSegments(cfg, s.segments.slice(0, kept.length + 1), cfg.name, Infinity, encode);
          expect(cfg.name.length + encode(more._value).length).toBeGreaterThan(cfg._maxBytes);
        }
      }),
      RUNS,
    );
  });

  it('writes only RFC 6265 cookie-octets', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { cfg, stored } = write(s);
        expect(stored).toMatch(COOKIE_OCTETS);
        // The `cookie` package validates a value it is told not to encode.
        expect(() => stringifySetCookie({ name: cfg.name, value: stored }, { encode: (v) => v })).not.toThrow();
      }),
      RUNS,
    );
  });

  it('round-trips what fits: browser read, server read, `cookie` and `tough-cookie`', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { cfg, kept, stored } = write(s);
        const expected = kept.length ? { [cfg.key]: kept } : {};
        // browser side: js-cookie's read, then the shared parser
        expect(parseSegments(decode(stored), cfg)).toEqual(kept);
        // server side: the Cookie header among other cookies, one of them malformed
        const name = cfg.name;
        const header = `a_${name}=1; ${name}=${stored}; z_${name}=%E0%A4%A`;
        const options = {
          name,
          key: cfg.key,
          format: cfg._format,
          keySeparator: cfg._keySeparator,
          valueSeparator: cfg._valueSeparator,
        };
        expect(parseSegmentCookie(header, options)).toEqual(expected);
        // the `cookie` package's parser and decoder
        expect(parseSegments(parseCookie(header)[name], cfg)).toEqual(kept);
        // tough-cookie: a jar stores the Set-Cookie and builds the Cookie header
        const jar = new CookieJar();
        jar.setCookieSync(`${name}=${stored}; Path=/; SameSite=Lax`, 'https://www.example.com/');
        const toughHeader = jar.getCookieStringSync('https://www.example.com/a');
        expect(Cookie.parse(toughHeader)!.value).toBe(stored);
        expect(parseSegmentCookie(toughHeader, options)).toEqual(expected);
      }),
      RUNS,
    );
  });

  it('reading never throws and yields only allowlisted ids, whatever the header', () => {
    const nasty = fc.oneof(
      fc.string({ unit: chars('%=,;&"\\ seg0123456789ABCDEFabcdef') }),
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'grapheme' }),
    );
    fc.assert(
      fc.property(nasty, (header) => {
        const t = parseSegmentCookie(header, { name: 'segtag' });
        for (const v of Object.values(t).flat()) expect(v).toMatch(SEGMENT_ID);
        expect(() => parseSegments(header, resolveCookie())).not.toThrow();
        expect(() => parseSegmentCookie('segtag=' + header)).not.toThrow();
      }),
      { numRuns: 400 },
    );
  });

  it('decodes cookie values exactly like js-cookie (and skips what it cannot decode)', () => {
    fc.assert(
      fc.property(fc.string({ unit: chars('%"E0A4a9F2C3Bx=,') }), (raw) => {
        let expected: string | undefined;
        try {
          expected = decode(raw);
        } catch {}
        expect(decodeCookieValue(raw)).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });
});
