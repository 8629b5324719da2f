import { describe, expect, it } from 'vitest';
import { copyIds, copySignals } from '../src/core/validate-input';

describe('copySignals and copyIds', () => {
  it('copy the values, so that a later change by the page changes nothing', () => {
    const list = ['a'];
    const signals = copySignals({ c_list: list, n: 1, b: true });
    list.push('b');
    expect(signals).toEqual({ c_list: ['a'], n: 1, b: true });
  });

  // JSON.parse makes "__proto__" an own key; assigning it to the copy would replace the
  // copy's prototype with the page's array instead of adding a signal.
  it('skip an own "__proto__" key instead of making it the copy\'s prototype', () => {
    const signals = copySignals(JSON.parse('{"__proto__":["x"],"c_a":"1"}'));
    expect(Object.getPrototypeOf(signals)).toBe(Object.prototype);
    expect(Object.keys(signals)).toEqual(['c_a']);
    expect((signals as Record<string, unknown>).length).toBeUndefined();
    const ids = copyIds(JSON.parse('{"__proto__":"x","crm":"h1"}'));
    expect(Object.getPrototypeOf(ids)).toBe(Object.prototype);
    expect(ids).toEqual({ crm: 'h1' });
  });

  it('reject values of other types with a TypeError naming the key', () => {
    expect(() => copySignals({ c: { nested: 1 } })).toThrow(new TypeError('segtag: invalid signal "c"'));
    expect(() => copySignals({ c: NaN })).toThrow(TypeError);
    expect(() => copyIds({ crm: 1 })).toThrow(new TypeError('segtag: invalid id "crm"'));
  });
});
