import type { CookieJar, HttpAnswer, Platform } from '../src/core/platform';

/** An in-memory platform for core tests: a cookie map and a scripted server. */
export function fakePlatform(answer: (body: any) => Promise<HttpAnswer> | HttpAnswer = () => ({ status: 200, body: { segments: [] } })) {
  const jar = new Map<string, { value: string; days: number }>();
  const sent: any[] = [];
  let n = 0;
  const cookies: CookieJar = {
    get: (name) => jar.get(name)?.value,
    set: (name, value, days) => void jar.set(name, { value, days }),
    remove: (name) => void jar.delete(name),
    encode: (v) => encodeURIComponent(v).replace(/%(2[346BF]|3[AC-F]|40|5[BDE]|60|7[BCD])/g, decodeURIComponent),
  };
  const platform: Platform = {
    cookies,
    post: async (_url, body) => {
      const parsed = JSON.parse(body);
      sent.push(parsed);
      return answer(parsed);
    },
    context: () => ({ url: 'https://www.example.com/a', title: 'A' }),
    uuid: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
    now: () => 1_700_000_000_000,
  };
  return { platform, jar, sent };
}
