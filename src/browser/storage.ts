import type { KeyValueStore } from '../core/platform';

type Method = 'getItem' | 'setItem' | 'removeItem';

/**
 * Every access is guarded: the `localStorage` getter throws in sandboxed frames and when
 * the visitor blocks site data, `setItem` throws when the quota is full (and in some
 * private modes), and a page may replace or remove it altogether.
 */
const call = (method: Method, ...args: [string, string?]) => {
  try {
    return (localStorage as any)[method](...args) ?? null;
  } catch {
    return null;
  }
};

/** segtag's only door to localStorage. */
export const storage: KeyValueStore = {
  get: (key) => call('getItem', key),
  set: (key, value) => void call('setItem', key, value),
  remove: (key) => void call('removeItem', key),
};
