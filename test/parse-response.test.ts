import { describe, expect, it } from 'vitest';
import { MAX_SEGMENTS, parseResponse } from '../src/protocol/parse-response';

describe('parseResponse', () => {
  it('copies only the known fields', () => {
    const body = JSON.parse(
      '{"segments":["1","a.b:c-d_e"],"uid":"abcdefgh-1234","ttl":7,"tid":"t1","extra":1,"__proto__":{"polluted":1}}',
    );
    const r = parseResponse(body)!;
    expect(r).toEqual({ segments: ['1', 'a.b:c-d_e'], uid: 'abcdefgh-1234', ttl: 7 });
    expect(Object.keys(r)).not.toContain('extra');
    expect(({} as any).polluted).toBeUndefined();
  });

  it.each([null, 'x', 1, [], { segments: 'a,b' }, { segments: {} }, {}])('rejects a malformed body %j', (body) => {
    expect(parseResponse(body)).toBeUndefined();
  });

  it('drops invalid elements and keeps the rest in order', () => {
    const long = 'x'.repeat(65);
    const r = parseResponse({ segments: ['1', 2, null, 'a b', long, 'x;y', '', '3', {}, '1'] })!;
    expect(r.segments).toEqual(['1', '3']);
  });

  it('accepts an empty list as "qualifies for nothing"', () => {
    expect(parseResponse({ segments: [] })).toEqual({ segments: [] });
  });

  it('adopts a uid only when it matches the allowlist', () => {
    for (const uid of ['short', 'has space in it', 'x'.repeat(65), 42, 'a;b=cdefgh']) {
      expect(parseResponse({ segments: [], uid })!.uid).toBeUndefined();
    }
    expect(parseResponse({ segments: [], uid: 'A1_b2-C3' })!.uid).toBe('A1_b2-C3');
  });

  it('ignores a ttl outside 0-400 days', () => {
    for (const ttl of [0, -1, 401, '7', NaN]) expect(parseResponse({ segments: [], ttl })!.ttl).toBeUndefined();
  });

  it('caps the number of segments taken', () => {
    const segments = Array.from({ length: MAX_SEGMENTS + 50 }, (_, i) => String(i));
    expect(parseResponse({ segments })!.segments).toHaveLength(MAX_SEGMENTS);
  });
});
