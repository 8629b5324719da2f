import type { CookieJar, Platform } from '../src/core/platform';

/** What the scripted server answers: status, parsed body and Retry-After. */
export interface FakeAnswer {
  status: number;
  body: unknown;
  retry?: string | null;
}

/**
 * An in-memory platform for core tests: a cookie map, a storage map, a scripted server,
 * recorded pixels, a switchable network state, and hooks to fire lifecycle events and
 * navigations.
 */
let platforms = 0;

export function fakePlatform(
  answer: (body: any, keepalive?: boolean) => Promise<FakeAnswer> | FakeAnswer = () => ({
    status: 200,
    body: { segments: [] },
  }),
  /** Pass another platform's store to share "localStorage" between tabs or page loads. */
  store = new Map<string, string>(),
) {
  const jar = new Map<string, { value: string; days: number }>();
  const sent: any[] = [];
  /** Pixels fired: url, hideReferrer and the platform clock when fired. */
  const fired: { url: string; hideReferrer: boolean; at: number }[] = [];
  const lifecycleListeners = new Set<(hidden: boolean, leaving?: boolean) => void>();
  const navigationListeners = new Set<() => void>();
  const state = { online: true, url: 'https://www.example.com/a', now: 1_700_000_000_000 as number | undefined };
  // Ids are unique across platforms too: two fake tabs must not share a tab id or event ids.
  const prefix = (++platforms).toString(16).padStart(8, '0');
  let n = 0;
  const cookies: CookieJar = {
    get: (name) => jar.get(name)?.value,
    set: (name, value, days) => void jar.set(name, { value, days }),
    remove: (name) => void jar.delete(name),
    // On www.example.com, where example.com is the broadest domain.
    _domain: () => 'example.com',
    encode: (v) => encodeURIComponent(v).replace(/%(2[346BF]|3[AC-F]|40|5[BDE]|60|7[BCD])/g, decodeURIComponent),
  };
  const platform: Platform = {
    _cookies: cookies,
    _storage: {
      get: (key) => store.get(key) ?? null,
      set: (key, value) => void store.set(key, value),
      remove: (key) => void store.delete(key),
    },
    _post: async (_url, body, _timeout, keepalive, contentType) => {
      // JSON (protocol v1) is recorded parsed, anything else (the DCS form) as sent.
      const parsed = contentType ? { body, contentType } : JSON.parse(body);
      sent.push(parsed);
      if (keepalive) parsed.keepalive = true; // noted on the recorded request for tests
      const { status, body: answered, retry } = await answer(parsed, keepalive);
      return { _status: status, _body: answered, _retry: retry };
    },
    _fire: async (url, hideReferrer) => {
      fired.push({ url, hideReferrer, at: Date.now() });
      return !url.includes('broken');
    },
    _online: () => state.online,
    _lifecycle(listener) {
      lifecycleListeners.add(listener);
      return () => lifecycleListeners.delete(listener);
    },
    _context: () => ({ url: state.url, title: 'A' }),
    _uuid: () => `${prefix}-0000-4000-8000-${String(++n).padStart(12, '0')}`,
    // A fixed clock by default; `state.now = undefined` follows Date.now (and vitest's fake timers).
    _now: () => state.now ?? Date.now(),
  };
  /** `true`: the page is hidden; `true, true`: it is left (pagehide); `false`: visible again or back online. */
  const fire = (hidden: boolean, leaving?: boolean) => lifecycleListeners.forEach((l) => l(hidden, leaving));
  const navigate = (url: string) => {
    state.url = url;
    navigationListeners.forEach((l) => l());
  };
  /** The browser's history hook, for autoPage (not part of the Platform). */
  const navigation = (listener: () => void) => {
    navigationListeners.add(listener);
    return () => void navigationListeners.delete(listener);
  };
  return {
    platform,
    jar,
    store,
    sent,
    fired,
    state,
    fire,
    navigate,
    navigation,
    lifecycleListeners,
    navigationListeners,
  };
}
