import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { toAdServerParams, type AdServerStyle } from '../src/integrations/ad-server';
import { gamTargeting } from '../src/integrations/gam-rules';

/**
 * Each style's output decoded the way its ad server reads it, as [key, value] pairs in order
 * (`[key, null]` for a pair without `=`). The string goes into a real ad tag URL first, so
 * anything that breaks out of its place in the URL shows too.
 */
type Pair = [string, string | null];
const splitPair = (pair: string): Pair => {
  const i = pair.indexOf('=');
  return i < 0 ? [pair, null] : [pair.slice(0, i), pair.slice(i + 1)];
};

const decode: Record<AdServerStyle, (built: string) => Pair[]> = {
  // GAM: the query is URL-decoded once (URLSearchParams), then cust_params is split on `&`
  // into pairs, each pair on its first `=`, the values on `,`.
  gam(built) {
    const url = new URL(`https://pubads.g.doubleclick.net/gampad/ads?iu=/1/v&cust_params=${built}&sz=640x480`);
    const cust = url.searchParams.get('cust_params')!;
    return !cust
      ? []
      : cust.split('&').flatMap((pair): Pair[] => {
          const [k, v] = splitPair(pair);
          return v == null ? [[k, null]] : v.split(',').map((x): Pair => [k, x]);
        });
  },
  // Query-string ad servers: URLSearchParams over the whole query.
  query(built) {
    return [...new URL(`https://ads.example/ad?iu=1&${built}&ord=1`).searchParams].slice(1, -1);
  },
  // Path-style tags (`…/zone;seg=1;sz=300x250;ord=1?`): the last path segment split on `;`,
  // each parameter on its first `=`, both sides percent-decoded.
  semicolon(built) {
    const segment = new URL(`https://ad.example/N1/adj/site/zone${built};sz=300x250;ord=1?`).pathname.split('/').pop()!;
    return segment
      .split(';')
      .slice(1, -2)
      .map((p): Pair => {
        const [k, v] = splitPair(p);
        return [decodeURIComponent(k), v == null ? null : decodeURIComponent(v)];
      });
  },
};

const encodable = (s: string) => {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false; // a lone surrogate
  }
};
/** `s` read again as a form-encoded component, or null where that throws (a stray `%`). */
const decodedAgain = (s: string) => {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return null;
  }
};

/**
 * Whether a style can carry `value` under `key` unambiguously, judged by the decoders above,
 * not by the module's own character list. Never an empty value: `k=` and `k` read alike. For
 * gam, the pair must pass GAM's rules, decode back to itself on its own, and not change if
 * anything decoded the pieces a second time (GAM documents no second decode either way).
 */
function carries(style: AdServerStyle, key: string, value: string) {
  if (!value || !encodable(key) || !encodable(value)) return false;
  if (style != 'gam') return true;
  return (
    Object.keys(gamTargeting({ [key]: [value] })).length == 1 &&
    JSON.stringify(decode.gam(encodeURIComponent(`${key}=${value}`))) == JSON.stringify([[key, value]]) &&
    decodedAgain(key) == key &&
    decodedAgain(value) == value
  );
}

// A wide alphabet: every separator of the three formats and of URLs, `%` with hex digits
// after it, `+`, whitespace, GAM's reserved characters, non-ASCII, NUL, BOM, lone surrogates.
const char = fc.constantFrom(
  ...',&=+%;#?/ \t\n"\'!*~^()<>[]\\|.:_-aAbC0123F'.split(''),
  'é',
  '\u0000',
  '\uFEFF',
  '\uD800',
  '\uDC00',
  '😀',
);
const safe = fc.string({ unit: fc.constantFrom(...'abkxy_.:-'.split('')), minLength: 1, maxLength: 4 });
const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: char, maxLength: 8 }) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(safe, fc.string({ unit: char, maxLength: 2 }), fc.string({ unit: char, maxLength: 2 }))
      .map((p) => p.join('')),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
);
const key = fc.oneof(fc.constantFrom('seg', 'pos', 'k', 'x&y', 'k=v', 'a,b', 'k%41', 'k+1', 'a b', '1k', ''), text);
const value = fc.oneof(
  fc.constantFrom(
    '1001',
    '1004',
    'x&y',
    'a=b',
    'a,b',
    'a+b',
    'a b',
    '%41',
    '100%',
    'a%2Cb',
    '',
    'x'.repeat(40),
    'x'.repeat(41),
  ),
  text,
);
// `__proto__` is left out: gamTargeting assigns it as a prototype and loses it (its own bug).
const targeting = fc
  .uniqueArray(fc.tuple(key, fc.array(value, { maxLength: 6 })), { selector: ([k]) => k, maxLength: 5 })
  .map((entries) => Object.fromEntries(entries) as Record<string, string[]>);
const style = fc.constantFrom<AdServerStyle>('gam', 'query', 'semicolon');

/** [key, value] pairs from the debug warnings of toAdServerParams and of GAM's rules. */
const reported = (calls: unknown[][]) =>
  calls.flatMap(([message, ...args]) =>
    message == 'segtag: GAM rules drop'
      ? [args]
      : message == 'segtag: toAdServerParams dropped'
        ? (args[0] as unknown[][])
        : [['unexpected warning', message, ...args]],
  );
const sorted = (pairs: unknown[][]) => pairs.map((p) => JSON.stringify(p)).sort();

afterEach(() => vi.restoreAllMocks());

describe('toAdServerParams round trip through the ad server decoding', () => {
  it('decodes to exactly the values kept, in order, and drops only what the format cannot carry (property)', () => {
    fc.assert(
      fc.property(targeting, style, (input, style) => {
        const all = Object.entries(input).flatMap(([k, values]) => values.map((v): Pair => [k, v]));
        expect(decode[style](toAdServerParams(input, { style }))).toEqual(
          all.filter(([k, v]) => carries(style, k, v!)),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('reports every dropped value in debug, and nothing without it (property)', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    fc.assert(
      fc.property(targeting, style, (input, style) => {
        warn.mockClear();
        const quiet = toAdServerParams(input, { style });
        expect(warn).not.toHaveBeenCalled();
        expect(toAdServerParams(input, { style, debug: true })).toBe(quiet);
        const all = Object.entries(input).flatMap(([k, values]) => values.map((v): Pair => [k, v]));
        expect(sorted(reported(warn.mock.calls))).toEqual(sorted(all.filter(([k, v]) => !carries(style, k, v!))));
      }),
      { numRuns: 1000 },
    );
  });

  it('x&y: gam drops it, with nothing invented and nothing lost; query and semicolon carry it', () => {
    const input = { seg: ['1001', 'x&y', '1004'] };
    expect(decode.gam(toAdServerParams(input, { style: 'gam' }))).toEqual([
      ['seg', '1001'],
      ['seg', '1004'],
    ]);
    expect(decode.query(toAdServerParams(input, { style: 'query' }))).toEqual([
      ['seg', '1001'],
      ['seg', 'x&y'],
      ['seg', '1004'],
    ]);
    expect(decode.semicolon(toAdServerParams(input, { style: 'semicolon' }))).toEqual([
      ['seg', '1001'],
      ['seg', 'x&y'],
      ['seg', '1004'],
    ]);
    // What the old output did: GAM read a segment `x` and a key `y,1004`.
    expect(decode.gam(encodeURIComponent('seg=1001,x&y,1004'))).toEqual([
      ['seg', '1001'],
      ['seg', 'x'],
      ['y,1004', null],
    ]);
  });
});
