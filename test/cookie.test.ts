import { describe, expect, it } from 'vitest';
import { parseSegmentCookie } from '../src/cookie';

describe('parseSegmentCookie (segtag/cookie)', () => {
  it('reads the default cookie from a Cookie header', () => {
    expect(parseSegmentCookie('_ga=GA1.1.1; segtag=seg=1001%2C1004; segtag_uid=abc')).toEqual({
      seg: ['1001', '1004'],
    });
    expect(parseSegmentCookie('segtag=seg=1001,1004')).toEqual({ seg: ['1001', '1004'] }); // written unencoded by a server
    expect(parseSegmentCookie('segtag="seg=1%2C2"')).toEqual({ seg: ['1', '2'] }); // quoted, as RFC 6265 allows
  });

  it('reads every format with the settings given to createSegtag', () => {
    expect(parseSegmentCookie('aud=kv=a&kv=b', { name: 'aud', key: 'kv', format: 'pairs' })).toEqual({
      kv: ['a', 'b'],
    });
    // unencoded, `;` would end the cookie: js-cookie writes it as %3B
    expect(parseSegmentCookie('x=k|1;2', { name: 'x', key: 'k', keySeparator: '|', valueSeparator: ';' })).toEqual({
      k: ['1'],
    });
    expect(parseSegmentCookie('x=k|1%3B2', { name: 'x', key: 'k', keySeparator: '|', valueSeparator: ';' })).toEqual({
      k: ['1', '2'],
    });
  });

  it('accepts Node header arrays, null and undefined', () => {
    expect(parseSegmentCookie(['a=1', 'segtag=seg=7'])).toEqual({ seg: ['7'] });
    expect(parseSegmentCookie(undefined)).toEqual({});
    expect(parseSegmentCookie(null)).toEqual({});
    expect(parseSegmentCookie('')).toEqual({});
  });

  it('takes the first cookie of that name that decodes, like js-cookie in the browser', () => {
    expect(parseSegmentCookie('segtag=seg=1; segtag=seg=2')).toEqual({ seg: ['1'] });
    expect(parseSegmentCookie('segtag=seg=%E0%A4%A; segtag=seg=2')).toEqual({ seg: ['2'] });
    expect(parseSegmentCookie('xsegtag=seg=1; segtag_uid=seg=2')).toEqual({});
  });

  it('never throws on malformed cookies written by others', () => {
    for (const header of [
      'segtag=%',
      'segtag=seg=%',
      'segtag=seg=1%2',
      'segtag=%E0%A4%A',
      ';;;=;segtag',
      'segtag',
      '=segtag=seg=1',
      'segtag=seg=__proto__',
    ])
      expect(() => parseSegmentCookie(header)).not.toThrow();
    expect(parseSegmentCookie('segtag=seg=1,%,2')).toEqual({ seg: ['1', '2'] });
    expect(parseSegmentCookie('segtag=seg=__proto__,constructor')).toEqual({ seg: ['__proto__', 'constructor'] });
    expect(({} as any).seg).toBeUndefined();
  });

  it('caps what it returns at 1000 segments', () => {
    const ids = Array.from({ length: 1500 }, (_, i) => String(i));
    expect(parseSegmentCookie('segtag=seg=' + ids.join('%2C')).seg).toHaveLength(1000);
  });

  it('throws a TypeError for invalid options, naming the problem', () => {
    expect(() => parseSegmentCookie('', { format: 'xml' as any })).toThrow(/cookie.format/);
    expect(() => parseSegmentCookie('', { keySeparator: ':' })).toThrow(TypeError);
  });
});
