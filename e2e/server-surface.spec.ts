/**
 * segtag-server's public surface as a browser sees it (issue 13): a page on an allowed origin
 * reads `Retry-After` from a 429 (rate limit) and a 503 (store down) answer of /v1/rtc, so the
 * SDK can honour it (`Access-Control-Expose-Headers`); a page on an origin not allowed gets
 * nothing and writes nothing; /metrics is on the admin listener and unreadable from any page.
 */
import { expect, test, type Page } from '@playwright/test';
import { createApp, type App } from '../server/src/app';
import { createMemoryStore } from '../server/src/stores/memory';
import { StoreUnavailableError, type ProfileStore } from '../server/src/stores/types';
import { startSite, failOnPageErrors } from './support/site';

type Site = Awaited<ReturnType<typeof startSite>>;
const RULES = 'server/examples/segments.json';
let site: Site;
let other: Site;
const apps: App[] = [];

test.beforeEach(async ({ page }) => {
  site = await startSite();
  other = await startSite();
  failOnPageErrors(page);
});
test.afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  await site.close();
  await other.close();
});

async function start(options: Parameters<typeof createApp>[0]) {
  const app = createApp({ watchRulesMs: 0, logger: false, ...options });
  apps.push(app);
  const { url } = await app.listen(0, '127.0.0.1');
  const { url: admin } = await app.listenAdmin(0);
  return { app, url, admin };
}

/** What a page's fetch of the SDK's call sees: status and the headers it may read, or the error. */
function callFrom(page: Page, endpoint: string) {
  return page.evaluate(async (endpoint) => {
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        body: JSON.stringify({
          v: 1,
          site: 'pub',
          events: [
            {
              id: Math.random().toString(36).slice(2),
              type: 'page',
              ts: Date.now(),
              url: location.href,
              signals: { c_section: 'sports' },
            },
          ],
        }),
      });
      return { status: res.status, retryAfter: res.headers.get('retry-after') };
    } catch (e) {
      return { error: (e as Error).name };
    }
  }, endpoint);
}

/** The sum of the samples whose line starts with `prefix` and contains `part`. */
const countOf = (metrics: string, prefix: string, part = '') =>
  metrics
    .split('\n')
    .filter((l) => l.startsWith(prefix) && l.includes(part))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);

test('a page on an allowed origin reads Retry-After from a 429', async ({ page }) => {
  const store = createMemoryStore();
  const { url } = await start({
    rules: RULES,
    store,
    corsOrigin: [site.origin],
    rateLimit: { max: 2, windowSeconds: 30 },
  });
  await page.goto(site.page('/article', '<!doctype html><title>Article</title>'));
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await callFrom(page, `${url}/v1/rtc`));
  expect(answers.map((a) => a.status)).toEqual([200, 200, 429, 429]);
  expect(answers[0].retryAfter).toBeNull();
  for (const limited of answers.slice(2)) {
    expect(limited.retryAfter).not.toBeNull();
    expect(Number(limited.retryAfter)).toBeGreaterThan(0);
    expect(Number(limited.retryAfter)).toBeLessThanOrEqual(30);
  }
  expect(store.size).toBe(2);
});

test('a page on an allowed origin reads Retry-After from a 503 (store down)', async ({ page }) => {
  const mine = createMemoryStore();
  const down: ProfileStore = {
    ...mine,
    update: () => Promise.reject(new StoreUnavailableError('down')),
    get: () => Promise.reject(new StoreUnavailableError('down')),
  };
  const { url } = await start({ rules: RULES, store: down, corsOrigin: [site.origin] });
  await page.goto(site.page('/article', '<!doctype html><title>Article</title>'));
  expect(await callFrom(page, `${url}/v1/rtc`)).toEqual({ status: 503, retryAfter: '1' });
});

test('a page on an origin not allowed gets nothing and writes nothing; no page reads /metrics', async ({ page }) => {
  const store = createMemoryStore();
  const { app, url, admin } = await start({ rules: RULES, store, corsOrigin: [site.origin] });
  const metrics = async () => (await app.admin.inject('/metrics')).body;
  const before = await metrics();

  await page.goto(other.page('/evil', '<!doctype html><title>Not allowed</title>'));
  // The browser sees a CORS failure; the server answered it 403 (counted below).
  expect(await callFrom(page, `${url}/v1/rtc`)).toEqual({ error: 'TypeError' });

  const after = await metrics();
  expect(store.size).toBe(0);
  const counted = 'segtag_events_total{result="counted"}';
  expect([countOf(before, counted), countOf(after, counted)]).toEqual([0, 0]);
  const rejected = (text: string) => countOf(text, 'segtag_http_requests_total{', 'status="403"');
  expect(rejected(after) - rejected(before)).toBe(1);

  // The allowed page is answered; neither page can read the admin listener.
  await page.goto(site.page('/ok', '<!doctype html><title>Allowed</title>'));
  expect(await callFrom(page, `${url}/v1/rtc`)).toEqual({ status: 200, retryAfter: null });
  expect(store.size).toBe(1);
  for (const p of [site.page('/m', '<!doctype html>'), other.page('/m', '<!doctype html>')]) {
    await page.goto(p);
    const read = await page.evaluate(async (admin) => {
      try {
        return await (await fetch(`${admin}/metrics`)).text();
      } catch (e) {
        return (e as Error).name;
      }
    }, admin);
    expect(read).toBe('TypeError');
    const pub = await page.evaluate(async (url) => {
      try {
        return (await fetch(`${url}/metrics`)).status;
      } catch (e) {
        return (e as Error).name;
      }
    }, url);
    expect(pub).toBe(p.startsWith(site.origin) ? 404 : 'TypeError');
  }
});
