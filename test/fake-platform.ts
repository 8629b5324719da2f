import type { CookieJar, HttpAnswer, Platform, PlatformStorage } from '../src/core/platform';

/** An in-memory platform for core tests: a cookie map and a scripted server. */
export function fakePlatform(answer: (body: any) => Promise<HttpAnswer> | HttpAnswer = () => ({ status: 200, body: { segments: [] } })) {
  const jar = new Map<string, { value: string; days: number; domain?: string }>();
  const store = new Map<string, string>();
  const sent: any[] = [];
  /** Pixels fired: url, hideReferrer and the platform clock when fired. */
  const fired: { url: string; hideReferrer: boolean; at: number }[] = [];
  let n = 0;
  const cookies: CookieJar = {
    get: (name) => jar.get(name)?.value,
    set: (name, value, days, domain) => {
      // The jar's domain rule on www.example.com, where example.com is the broadest domain.
      if (domain != null && !['example.com', '.example.com', 'www.example.com'].includes(domain)) return false;
      jar.set(name, { value, days, ...(domain != null && { domain }) });
      return true;
    },
    remove: (name) => void jar.delete(name),
    encode: (v) => encodeURIComponent(v).replace(/%(2[346BF]|3[AC-F]|40|5[BDE]|60|7[BCD])/g, decodeURIComponent),
  };
  const storage: PlatformStorage = {
    get: (key) => store.get(key) ?? null,
    set: (key, value) => void store.set(key, value),
    remove: (key) => void store.delete(key),
  };
  const platform: Platform = {
    cookies,
    storage,
    post: async (_url, body, _timeout, contentType) => {
      // JSON (protocol v1) is recorded parsed, anything else (the DCS form) as sent.
      const parsed = contentType ? { body, contentType } : JSON.parse(body);
      sent.push(parsed);
      return answer(parsed);
    },
    fire: async (url, hideReferrer) => {
      fired.push({ url, hideReferrer, at: Date.now() });
      return !url.includes('broken');
    },
    context: () => ({ url: 'https://www.example.com/a', title: 'A' }),
    uuid: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
    now: () => 1_700_000_000_000,
  };
  return { platform, jar, sent, store, fired };
}
