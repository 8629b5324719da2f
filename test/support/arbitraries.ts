import fc from 'fast-check';

/**
 * Hostile answer bodies for the fuzz tests (unit and browser): arbitrary JSON mixed
 * with the strings that matter (`__proto__`, allowlisted and forbidden cookie names,
 * dangerous URL schemes, bytes a cookie must not hold, huge strings), in the shapes
 * of protocol v1 (`segments`, `pixels`, `cookies`) and DCS (`stuff`, `dests`, `uuid`).
 */
export const NASTY = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'aam',
  'partner',
  'segtag',
  'segtag_uid',
  'evil',
  'javascript:alert(1)',
  'JAVASCRIPT:alert(1)',
  ' javascript:alert(1)',
  'data:image/gif;base64,R0lGODlh',
  'blob:https://a.example/1',
  'vbscript:x',
  'about:blank',
  '/relative',
  '//a.example/x',
  'https://a.example/p?u=%uid%&r=%rnd%',
  'http://a.example/p',
  'https://a.example/' + 'x'.repeat(5000),
  'seg=1,2',
  'a;b',
  'a; domain=evil.com',
  'x\u0000y',
  'line\nbreak',
  'é',
  '\ud800',
  '"quoted"',
  'back\\slash',
  'example.com',
  '.example.com',
  'evil.com',
  'img',
  'iframe',
  '1',
  '4',
];

const str = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 3, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }) },
  { weight: 1, arbitrary: fc.constant('z'.repeat(70000)) },
);

export const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    str,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(str, tie('v'), { maxKeys: 4 }),
  ),
})).v;

const field = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: a }, { weight: 1, arbitrary: json });
const list = <T>(item: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 4, arbitrary: fc.array(fc.oneof({ weight: 3, arbitrary: item }, json), { maxLength: 14 }) }, json);
const cookieName = fc.constantFrom('aam', 'partner', 'segtag', 'segtag_uid', 'evil', '__proto__', 'a;b');
const ttl = fc.oneof(
  fc.integer({ min: -5, max: 1000 }),
  fc.double(),
  fc.constantFrom('5', '5; domain=evil.com', 1e308),
);
const pixelUrl = fc.oneof(
  fc.constantFrom(...NASTY.filter((s) => /:|\//.test(s))),
  fc.webUrl({ validSchemes: ['https', 'http'] }),
  fc.string(),
);

export const v1Answer = fc.record(
  {
    segments: fc.oneof(fc.array(fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.:-]{1,8}$/), json), { maxLength: 10 }), json),
    uid: field(fc.stringMatching(/^[A-Za-z0-9_-]{8,20}$/)),
    ttl: field(ttl),
    pixels: list(
      fc.record(
        {
          id: field(fc.constantFrom('1', '2', '__proto__', 'p')),
          url: field(pixelUrl),
          ttl: field(ttl),
          hideReferrer: json,
        },
        { requiredKeys: [] },
      ),
    ),
    cookies: list(
      fc.record(
        {
          name: field(cookieName),
          value: field(str),
          ttl: field(ttl),
          domain: field(fc.constantFrom('example.com', '.example.com', 'evil.com')),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

export const dcsAnswer = fc.record(
  {
    stuff: list(
      fc.record(
        {
          cn: field(cookieName),
          cv: field(fc.oneof(str, fc.constant('seg=1,2,x y'))),
          ttl: field(ttl),
          dmn: field(fc.constantFrom('example.com', 'evil.com')),
        },
        { requiredKeys: [] },
      ),
    ),
    dests: list(
      fc.record(
        {
          id: field(fc.oneof(fc.constantFrom('4', '__proto__'), fc.integer())),
          c: field(pixelUrl),
          hr: json,
          y: field(fc.constantFrom('img', 'iframe')),
        },
        { requiredKeys: [] },
      ),
    ),
    uuid: field(fc.stringMatching(/^\d{20,38}$/)),
    tid: json,
  },
  { requiredKeys: [] },
);

/**
 * The body as the network delivers it: JSON text, parsed, so `__proto__` arrives as an
 * own key exactly as `JSON.parse` makes it; sometimes with an explicit `__proto__` item.
 */
export const asWire = (body: unknown, proto: boolean) => {
  const text = JSON.stringify(body) ?? 'null';
  return proto && text.startsWith('{')
    ? '{"__proto__":{"polluted":1},"pixels":[{"__proto__":{"polluted":1},"id":"q","url":"javascript:alert(1)"}],' +
        text.slice(1).replace(/^}$/, '"x":1}')
    : text;
};

/** RFC 6265 cookie-octets. */
export const COOKIE_OCTETS = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;
