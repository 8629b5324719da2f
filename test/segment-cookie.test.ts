import { describe, expect, it } from 'vitest';
import Cookies from 'js-cookie';
import { parseSegments, serializeSegments } from '../src/core/segment-cookie';

const encode = (v: string) => Cookies.converter.write(v, '');

describe('segment cookie value', () => {
  it('serializes as key=id,id and stores the comma percent-encoded', () => {
    const { value, kept } = serializeSegments('seg', ['123', '456'], 'segtag', 3000, encode);
    expect(value).toBe('seg=123,456');
    expect(kept).toEqual(['123', '456']);
    expect(encode(value)).toBe('seg=123%2C456');
  });

  it('keeps the longest prefix whose name + encoded value fits maxBytes', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `segment_${i}`);
    for (const maxBytes of [64, 100, 1000, 3000, 4096]) {
      const { value, kept } = serializeSegments('seg', ids, 'segtag', maxBytes, encode);
      const size = 'segtag'.length + encode(value).length;
      expect(size).toBeLessThanOrEqual(maxBytes);
      expect(kept).toEqual(ids.slice(0, kept.length));
      // one more segment would not have fitted
      const next = 'segtag'.length + encode(value + ',' + ids[kept.length]).length;
      expect(next).toBeGreaterThan(maxBytes);
    }
  });

  it('round-trips through parseSegments', () => {
    const ids = ['1', 'a.b', 'x:y', 'z-_'];
    const { value } = serializeSegments('k', ids, 'n', 3000, encode);
    expect(parseSegments(value, 'k')).toEqual(ids);
  });

  it('reads nothing from a value written under another key or by someone else', () => {
    expect(parseSegments('other=1,2', 'seg')).toEqual([]);
    expect(parseSegments(undefined, 'seg')).toEqual([]);
    expect(parseSegments('seg=1,<script>,2', 'seg')).toEqual(['1', '2']);
    expect(parseSegments('segx=1', 'seg')).toEqual([]);
  });
});
