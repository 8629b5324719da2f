import { expect, test, type Page } from '@playwright/test';
import { startCountingServer, type Fault } from './support/counting-server';
import { startSite, STUB, failOnPageErrors } from './support/site';

/**
 * Delivery: faults, reloads, unloads, two tabs, single-page apps and offline, in
 * Chromium against loopback servers (a publisher site, and a
 * counting decisioning server on another origin). The back/forward cache: bfcache.spec.ts.
 */

type Site = Awaited<ReturnType<typeof startSite>>;
type Server = Awaited<ReturnType<typeof startCountingServer>>;
let site: Site;
const servers: Server[] = [];
const server = async (plan?: Parameters<typeof startCountingServer>[0]) => {
  const s = await startCountingServer(plan);
  servers.push(s);
  return s;
};

// Any uncaught error or unhandled rejection on a page fails the test.
const watch = (page: Page) => failOnPageErrors(page);

test.beforeEach(async ({ page }) => {
  site = await startSite();
  watch(page);
});
test.afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await site.close();
});

/** A publisher page with the stub, the script tag and an `init` for `endpoint`. */
const tagged = (endpoint: string, script = '', options = {}, build = '/segtag.min.js') =>
  `<!doctype html><title>Page</title>${STUB}<script src="${build}"></script>
  <script>
    segtag('init', ${JSON.stringify({ endpoint, site: 'pub', timeout: 500, ...options })});
    ${script}
  </script>`;

const queued = (page: Page) => page.evaluate(() => localStorage.getItem('segtag_q_pub'));

test('200 events with 30% of calls failing: each arrives exactly once after de-duplication, and the cookie ends right', async ({
  page,
  context,
}) => {
  const faults: Fault[] = ['503', '429', 'abort', 'hang', 'lost'];
  let f = 0;
  // Calls 1-5 fail once with each kind of fault, then 11-13, 21-23 ...: 30% or more of any
  // run of calls, and every kind is hit however the events were batched.
  const api = await server((n) => (n <= 5 || (n % 10 >= 1 && n % 10 <= 3) ? faults[f++ % faults.length] : undefined));
  const url = site.page(
    '/burst',
    tagged(
      api.url,
      `window.results = [];
      let i = 0;
      (function burst() {
        for (let k = 0; k < 4; k++, i++) segtag('track', 'e', { n: i }).then((r) => results.push(r));
        if (i < 200) setTimeout(burst, 40);
      })();`,
    ),
  );
  await page.goto(url);
  await expect.poll(() => api.seen.size, { timeout: 40000 }).toBe(200);
  await expect.poll(() => queued(page)).toBeNull();

  // Every event kept its id through every resend: one id per event, 200 distinct ids.
  const idsOf = new Map<number, Set<string>>();
  for (const { events } of api.received)
    for (const e of events) idsOf.set(e.signals.n, (idsOf.get(e.signals.n) || new Set()).add(e.id));
  expect([...idsOf.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  expect([...idsOf.values()].every((ids) => ids.size == 1)).toBe(true);
  expect([...api.seen.values()].map((e) => e.signals.n).sort((a, b) => a - b)).toEqual(
    Array.from({ length: 200 }, (_, i) => i),
  );

  const failed = api.received.filter((r) => r.fault).length;
  test.info().annotations.push({ type: 'calls', description: `${api.received.length} calls, ${failed} failed` });
  expect(failed / api.received.length).toBeGreaterThanOrEqual(0.3);
  expect(new Set(api.received.map((r) => r.fault))).toEqual(new Set([undefined, ...faults]));
  // Resends happened (lost answers, timeouts), and de-duplication absorbed them.
  expect(api.received.reduce((sum, r) => sum + r.ids.length, 0)).toBeGreaterThan(200);
  // Never more than 50 events in one call.
  expect(Math.max(...api.received.map((r) => r.ids.length))).toBeLessThanOrEqual(50);

  // The last answer the page applied is the final count.
  expect((await context.cookies()).find((c) => c.name == 'segtag')?.value).toBe('seg=c200');
  await expect.poll(() => page.evaluate(() => (window as any).results.length)).toBe(200);
});

test('reload mid-flight: the events of the aborted call arrive from the next load, with the same ids', async ({
  page,
}) => {
  let hang = true;
  const api = await server(() => (hang ? 'hang' : undefined));
  const url = site.page('/reload', tagged(api.url, `segtag('page'); segtag('track', 'first-load');`));
  await page.goto(url);
  await expect.poll(() => api.received.length).toBe(1);
  const firstLoad = api.received[0].ids;
  expect(firstLoad).toHaveLength(2);
  expect(await queued(page)).toContain(firstLoad[0]);

  const reloaded = Date.now();
  await page.reload();
  hang = false;
  api.dropHung(); // the first load's call is gone for good
  const after = api.received.length;
  await expect.poll(() => firstLoad.every((id) => api.seen.has(id)), { timeout: 15000 }).toBe(true);
  // Handed over on pagehide: no waiting for the first load's lease (the call's timeout + 3 s =
  // 5 s from its last write), only for the second load's claim to stand (500 ms).
  expect(Date.now() - reloaded).toBeLessThan(4000);
  // They came from the second load: the first load's only request never got through.
  expect(api.received.slice(after).flatMap((r) => r.ids)).toEqual(expect.arrayContaining(firstLoad));
  // (The second load raised its own events too: one 'first-load' per load.)
  expect([...api.seen.values()].filter((e) => e.name == 'first-load')).toHaveLength(2);
  await expect.poll(() => queued(page)).toBeNull();
});

test('unload: a click that navigates away delivers the event raised just before it', async ({ page }) => {
  // The page view's call is still in flight when the visitor clicks away.
  const api = await server((n) => (n == 1 ? 'slow' : undefined));
  site.page('/elsewhere', '<!doctype html><title>Elsewhere</title><p>no tag here');
  const url = site.page(
    '/article',
    tagged(
      api.url,
      `segtag('page');</script>
      <a id="out" href="/elsewhere" onclick="segtag('track', 'outbound_click')">read on</a><script>`,
      { timeout: 3000 },
    ),
  );
  await page.goto(url);
  await expect.poll(() => api.received.length).toBe(1);
  await page.click('#out');
  await page.waitForURL('**/elsewhere');
  await expect
    .poll(() => [...api.seen.values()].map((e) => e.name || e.type).sort())
    .toEqual(['outbound_click', 'page']);
});

test('unload without keepalive fetch: the flush goes as a beacon, still a simple text/plain request', async ({
  page,
}) => {
  await page.addInitScript(() => delete (Request.prototype as any).keepalive);
  const api = await server((n) => (n == 1 ? 'slow' : undefined));
  site.page('/elsewhere', '<!doctype html><title>Elsewhere</title>');
  const url = site.page(
    '/article',
    tagged(
      api.url,
      `segtag('page');</script><a id="out" href="/elsewhere" onclick="segtag('track', 'outbound_click')">out</a><script>`,
      { timeout: 3000 },
    ),
  );
  await page.goto(url);
  await expect.poll(() => api.received.length).toBe(1);
  await page.click('#out');
  await page.waitForURL('**/elsewhere');
  await expect
    .poll(() => api.received.find((r) => r.events[0]?.name == 'outbound_click')?.contentType)
    .toBe('text/plain;charset=UTF-8');
});

test('two tabs of one site share the queue and never send the same event', async ({ context, page }) => {
  let failing = true;
  const api = await server(() => (failing ? '503' : undefined));
  const url = site.page('/tab', tagged(api.url));
  const second = await context.newPage();
  watch(second);
  const tabs = [page, second];
  const sentBy = tabs.map(() => new Set<string>());
  tabs.forEach((tab, i) =>
    tab.on('request', (r) => {
      if (r.url() == api.url) for (const e of r.postDataJSON().events) sentBy[i].add(e.id);
    }),
  );
  await Promise.all(tabs.map((tab) => tab.goto(url)));
  for (let k = 0; k < 5; k++) {
    for (const [i, tab] of tabs.entries())
      await tab.evaluate(([i, k]) => (window as any).segtag('track', `t${i}-${k}`), [i, k]);
    await page.waitForTimeout(100);
  }
  // Both tabs retry their own events for a while; none is sent by both.
  await expect.poll(() => sentBy.map((s) => s.size), { timeout: 10000 }).toEqual([5, 5]);
  await page.waitForTimeout(500);
  expect(sentBy.map((s) => s.size)).toEqual([5, 5]);
  expect([...sentBy[0]].filter((id) => sentBy[1].has(id))).toEqual([]);

  // The second tab closes with its events undelivered; the first takes them over.
  await second.close();
  failing = false;
  await expect.poll(() => api.seen.size, { timeout: 20000 }).toBe(10);
  for (const id of sentBy[1]) expect(api.seen.has(id)).toBe(true);
  await expect.poll(() => queued(page)).toBeNull();
});

test('single-page app: pushState x3, replaceState to the same path, popstate: exactly 4 page views', async ({
  page,
}) => {
  const api = await server();
  // Single-page apps' automatic page views ship in segtag-sync.min.js (and npm), not the standard tag.
  const url = site.page('/app', tagged(api.url, '', { autoPage: true }, '/segtag-sync.min.js'));
  await page.goto(url);
  for (const path of ['/app/1', '/app/2', '/app/3']) await page.evaluate((p) => history.pushState({}, '', p), path);
  await page.evaluate(() => history.replaceState({ tab: 2 }, '', '/app/3'));
  await page.evaluate(() => new Promise((r) => (addEventListener('popstate', r, { once: true }), history.back())));
  const pageViews = () => [...api.seen.values()].filter((e) => e.type == 'page').map((e) => new URL(e.url).pathname);
  await expect.poll(pageViews).toEqual(['/app/1', '/app/2', '/app/3', '/app/2']);
  await page.waitForTimeout(300);
  expect(pageViews()).toHaveLength(4);

  // A manual page() in the same tick as a navigation counts once, with its signals.
  await page.evaluate(() => {
    history.pushState({}, '', '/app/4');
    (window as any).segtag('page', { c_section: 'four' });
  });
  await expect.poll(pageViews).toHaveLength(5);
  await page.waitForTimeout(300);
  expect([...api.seen.values()].filter((e) => e.type == 'page').slice(4)).toMatchObject([
    { url: site.origin + '/app/4', signals: { c_section: 'four' } },
  ]);
});

test('the standard script tag rejects autoPage: true, naming the missing feature, and sends nothing', async ({
  page,
}) => {
  const api = await server();
  const url = site.page(
    '/spa-standard',
    tagged(api.url, `window.out = segtag('page').then(() => 'resolved', (e) => e.message);`, {
      autoPage: true,
    }).replace("segtag('init',", "window.init = segtag('init',") +
      `<script>window.init = window.init.then(() => 'resolved', (e) => e.message);</script>`,
  );
  await page.goto(url);
  expect(await page.evaluate(() => (window as any).init)).toBe(
    'segtag: invalid autoPage (feature autoPage not included)',
  );
  expect(await page.evaluate(() => (window as any).out)).toBe('segtag: invalid page (call init first)');
  await page.evaluate(() => history.pushState({}, '', '/spa-standard/2'));
  await page.waitForTimeout(300);
  expect(api.received).toHaveLength(0);
});

test('offline: holds events while offline and sends them when back online', async ({ page, context }) => {
  const api = await server();
  const url = site.page('/offline', tagged(api.url));
  await page.goto(url);
  await context.setOffline(true);
  const result = await page.evaluate(() => (window as any).segtag('track', 'while_offline'));
  expect(result).toMatchObject({ ok: false, error: 'offline' });
  await page.waitForTimeout(500);
  expect(api.received).toHaveLength(0);
  expect(await queued(page)).toContain('while_offline');
  await context.setOffline(false);
  await expect.poll(() => [...api.seen.values()].map((e) => e.name)).toEqual(['while_offline']);
});
