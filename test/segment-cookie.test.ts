import { describe, expect, it } from 'vitest';
import Cookies from 'js-cookie';
import { parseSegments, serializeSegments, type SegmentFormat } from '../src/core/segment-cookie';
import { resolveCookie } from '../src/core/config';

const encode = (v: string) => Cookies.converter.write(v, '');
const single = resolveCookie();
const pairs = resolveCookie({ format: 'pairs' });
const fmt = (o: Partial<SegmentFormat>) => ({ ...single, ...o });

describe('segment cookie value', () => {
  it('default: single key, serialized, stored with the comma percent-encoded', () => {
    const { _value: value, _kept: kept } = serializeSegments(single, ['123', '456'], 'segtag', 3000, encode);
    expect(value).toBe('seg=123,456');
    expect(kept).toEqual(['123', '456']);
    expect(encode(value)).toBe('seg=123%2C456');
  });

  it('pairs: key=value joined with &, stored literally', () => {
    const { _value: value } = serializeSegments(pairs, ['123', '456'], 'segtag', 3000, encode);
    expect(value).toBe('seg=123&seg=456');
    expect(encode(value)).toBe('seg=123&seg=456');
  });

  it('custom key and separators', () => {
    expect(
      serializeSegments(fmt({ key: 'aud', _keySeparator: '|', _valueSeparator: ';' }), ['1', '2'], 'n', 3000, encode)
        ._value,
    ).toBe('aud|1;2');
    expect(
      serializeSegments(
        fmt({ _format: 'pairs', key: 'x', _keySeparator: '~', _valueSeparator: '!' }),
        ['1', '2'],
        'n',
        3000,
        encode,
      )._value,
    ).toBe('x~1!x~2');
  });

  it('keeps the longest prefix whose name + encoded value fits maxBytes', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `segment_${i}`);
    for (const f of [single, pairs])
      for (const maxBytes of [64, 100, 1000, 3000, 4096]) {
        const { _value: value, _kept: kept } = serializeSegments(f, ids, 'segtag', maxBytes, encode);
        expect('segtag'.length + encode(value).length).toBeLessThanOrEqual(maxBytes);
        expect(kept).toEqual(ids.slice(0, kept.length));
        // one more segment would not have fitted
        const next = serializeSegments(f, ids.slice(0, kept.length + 1), 'segtag', Infinity, encode)._value;
        expect('segtag'.length + encode(next).length).toBeGreaterThan(maxBytes);
      }
  });

  it('round-trips through parseSegments in every format', () => {
    const ids = ['1', 'a.b', 'x:y', 'z-_'];
    for (const f of [single, pairs, fmt({ key: 'k', _keySeparator: '#', _valueSeparator: '$' })]) {
      const { _value: value } = serializeSegments(f, ids, 'n', 3000, encode);
      expect(parseSegments(value, f)).toEqual(ids);
    }
  });

  it('reads a pairs cookie with single settings and vice versa when the separators match', () => {
    expect(parseSegments('seg=1&seg=2', fmt({ _valueSeparator: '&' }))).toEqual(['1', '2']);
    expect(parseSegments('seg=1&2', pairs)).toEqual(['1', '2']);
  });

  it('reads nothing from a value written under another key or by someone else', () => {
    expect(parseSegments('other=1,2', single)).toEqual([]);
    expect(parseSegments(undefined, single)).toEqual([]);
    expect(parseSegments('', single)).toEqual([]);
    expect(parseSegments('seg=1,<script>,2', single)).toEqual(['1', '2']);
    expect(parseSegments('segx=1', single)).toEqual([]);
    expect(parseSegments('seg=1&x=2&seg=3', pairs)).toEqual(['1', '3']);
    expect(parseSegments('seg=%E0%A4%A,1', single)).toEqual(['1']);
  });
});
