// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { storage } from '../src/browser/storage';

describe('storage (guarded localStorage)', () => {
  it('reads, writes and removes', () => {
    storage.set('k', 'v');
    expect(localStorage.getItem('k')).toBe('v');
    expect(storage.get('k')).toBe('v');
    storage.remove('k');
    expect(storage.get('k')).toBeNull();
  });

  it('never throws when the localStorage getter or a method throws, or localStorage is gone', () => {
    localStorage.setItem('k', 'kept');
    const original = Object.getOwnPropertyDescriptor(globalThis, 'localStorage');
    for (const broken of [
      {
        get: () => {
          throw new DOMException('denied', 'SecurityError');
        },
      },
      {
        get: () => ({
          getItem() {
            throw new Error('x');
          },
          setItem() {
            throw new DOMException('full', 'QuotaExceededError');
          },
          removeItem() {
            throw new Error('x');
          },
        }),
      },
      { get: () => undefined }, // a page that removed localStorage
    ]) {
      Object.defineProperty(globalThis, 'localStorage', { configurable: true, ...broken });
      expect(storage.get('k')).toBeNull();
      expect(() => storage.set('k', 'v')).not.toThrow();
      expect(() => storage.remove('k')).not.toThrow();
    }
    Object.defineProperty(globalThis, 'localStorage', original!);
    expect(storage.get('k')).toBe('kept');
  });
});
