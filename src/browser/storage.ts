import type { KeyValueStore } from '../core/platform';

/**
 * Runs `op` on localStorage, never throwing: the `localStorage` getter throws in sandboxed
 * frames and when the visitor blocks site data, `setItem` throws when the quota is full
 * (and in some private modes), and a page may replace or remove localStorage altogether.
 */
const guard = <T>(op: (ls: Storage) => T) => {
  try {
    return op(localStorage);
  } catch {}
};

/** segtag's only door to localStorage. */
export const storage: KeyValueStore = {
  get: (key) => guard((ls) => ls.getItem(key)) ?? null,
  set: (key, value) => guard((ls) => ls.setItem(key, value)),
  remove: (key) => guard((ls) => ls.removeItem(key)),
};
