import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { toAdServerParams } from '../src/integrations/ad-server';

const t = { seg: ['1', '2'], pos: ['top'] };

describe('toAdServerParams', () => {
  it("gam: the URL-encoded value of GAM's cust_params", () => {
    expect(toAdServerParams({ seg: ['1', '2'] }, { style: 'gam' })).toBe('seg%3D1%2C2');
    expect(toAdServerParams(t, { style: 'gam' })).toBe('seg%3D1%2C2%26pos%3Dtop');
    expect(decodeURIComponent(toAdServerParams(t, { style: 'gam' }))).toBe('seg=1,2&pos=top');
  });

  it('semicolon and query styles repeat the key for every value', () => {
    expect(toAdServerParams(t, { style: 'semicolon' })).toBe(';seg=1;seg=2;pos=top');
    expect(toAdServerParams(t, { style: 'query' })).toBe('seg=1&seg=2&pos=top');
    expect(toAdServerParams({ 'a b': ['x;y&z'] }, { style: 'query' })).toBe('a%20b=x%3By%26z');
    expect(toAdServerParams({ 'a=b': ['x&y', '1+1%'] }, { style: 'semicolon' })).toBe(';a%3Db=x%26y;a%3Db=1%2B1%25');
  });

  it('gam applies GAM key-value rules; all styles skip empty and unencodable values', () => {
    expect(toAdServerParams({ seg: ['ok', 'x'.repeat(41), 'a(b'] }, { style: 'gam' })).toBe('seg%3Dok');
    expect(toAdServerParams({ seg: ['', 'a\uD800', 'ok'] }, { style: 'query' })).toBe('seg=ok');
    expect(toAdServerParams({}, { style: 'semicolon' })).toBe('');
  });

  it('gam drops, never alters, keys and values cust_params cannot carry: , & = % +', () => {
    // Before: seg%3D1001%2Cx%26y%2C1004, which GAM reads as { seg: ['1001', 'x'], 'y,1004': [] }.
    expect(toAdServerParams({ seg: ['1001', 'x&y', '1004'] }, { style: 'gam' })).toBe('seg%3D1001%2C1004');
    expect(toAdServerParams({ seg: ['100%', '%41', 'a%2Cb', 'a b'] }, { style: 'gam' })).toBe('seg%3Da%20b');
    expect(toAdServerParams({ 'x&y': ['1'], 'k%41': ['2'], seg: ['3'] }, { style: 'gam' })).toBe('seg%3D3');
    expect(toAdServerParams({ seg: ['x&y'] }, { style: 'gam' })).toBe('');
  });

  it('debug warns once with every value toAdServerParams dropped, GAM rules per value', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    toAdServerParams({ seg: ['1001', 'x&y', 'a(b', '1004'], 'a&b': ['1'] }, { style: 'gam' });
    expect(warn).not.toHaveBeenCalled();
    toAdServerParams({ seg: ['1001', 'x&y', 'a(b', '1004'], 'a&b': ['1'] }, { style: 'gam', debug: true });
    expect(warn.mock.calls).toEqual([
      ['segtag: GAM rules drop', 'seg', 'a(b'],
      [
        'segtag: toAdServerParams dropped',
        [
          ['seg', 'x&y'],
          ['a&b', '1'],
        ],
      ],
    ]);
    warn.mockRestore();
  });

  it('maxBytes keeps the longest prefix in priority order, with a debug warning', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(toAdServerParams(t, { style: 'query', maxBytes: 11 })).toBe('seg=1&seg=2');
    expect(toAdServerParams(t, { style: 'query', maxBytes: 10, debug: true })).toBe('seg=1');
    expect(warn).toHaveBeenCalledWith('segtag: toAdServerParams dropped', [
      ['seg', '2'],
      ['pos', 'top'],
    ]);
    expect(toAdServerParams(t, { style: 'gam', maxBytes: 11 })).toBe('seg%3D1%2C2');
    expect(toAdServerParams(t, { style: 'gam', maxBytes: 10 })).toBe('seg%3D1');
    warn.mockRestore();
  });

  it('rejects a bad style or maxBytes with TypeErrors', () => {
    expect(() => toAdServerParams(t, { style: 'xml' as any })).toThrow(/style/);
    expect(() => toAdServerParams(t, undefined as any)).toThrow(/style/);
    expect(() => toAdServerParams(t, { style: 'gam', maxBytes: -1 })).toThrow(/maxBytes/);
  });

  it('never exceeds maxBytes and keeps a prefix of the values (property)', () => {
    const id = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/);
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^[a-z_]\w{0,19}$/), fc.uniqueArray(id, { maxLength: 50 }), { maxKeys: 3 }),
        fc.constantFrom('gam' as const, 'semicolon' as const, 'query' as const),
        fc.integer({ min: 0, max: 3000 }),
        (targeting, style, maxBytes) => {
          const out = toAdServerParams(targeting, { style, maxBytes });
          const all = toAdServerParams(targeting, { style });
          expect(out.length).toBeLessThanOrEqual(maxBytes);
          expect(all.startsWith(out)).toBe(true);
          if (all.length <= maxBytes) expect(out).toBe(all);
        },
      ),
      { numRuns: 300 },
    );
  });
});
