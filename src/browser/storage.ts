import type { PlatformStorage } from '../core/platform';

/**
 * localStorage, guarded: the `localStorage` getter itself throws in sandboxed frames and
 * when storage is blocked, setItem throws on quota and in some private modes.
 */
const use = <T>(f: (s: Storage) => T): T | null => {
  try {
    return f(localStorage);
  } catch {
    return null;
  }
};

export const storage: PlatformStorage = {
  get: (key) => use((s) => s.getItem(key)),
  set: (key, value) => void use((s) => s.setItem(key, value)),
  remove: (key) => void use((s) => s.removeItem(key)),
};
