/**
 * segtag with the real Prebid.js from npm (its not-for-production build, every module in).
 * Prebid's outbound requests never leave the machine: the bid request to the OpenX adapter's
 * endpoint is intercepted and answered "no bid"; anything else off loopback is aborted.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { answer, startSite, STUB, failOnPageErrors } from './support/site';

const PREBID = 'node_modules/prebid.js/dist/not-for-prod/prebid.js';
const OPENX = 'https://rtb.openx.net/openrtbb/prebidjs';

type Site = Awaited<ReturnType<typeof startSite>>;
let site: Site;
let bidRequests: any[];
let offLoopback: string[];

test.beforeEach(async ({ page, context }) => {
  site = await startSite();
  bidRequests = [];
  offLoopback = [];
  failOnPageErrors(page);
  // Routes registered later run first: the catch-all aborts what the OpenX route does not take.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(site.origin + '/') || url.startsWith('blob:') || url.startsWith('data:'))
      return route.continue();
    offLoopback.push(url);
    return route.abort();
  });
  await context.route(OPENX + '*', (route) => {
    bidRequests.push(JSON.parse(route.request().postData() || 'null'));
    return route.fulfill({ status: 204 });
  });
  site.route('/prebid.js', (_req, _b, res) => {
    res.writeHead(200, { 'content-type': 'text/javascript' });
    res.end(readFileSync(PREBID));
  });
});
test.afterEach(() => site.close());

/** The publisher's Prebid setup: one ad unit with the OpenX adapter (OpenRTB). */
const PREBID_SETUP = (load = 'async') => `<script ${load} src="/prebid.js"></script>
<script>
  window.pbjs = window.pbjs || { que: [] };
  pbjs.que.push(function () {
    pbjs.setConfig({ userSync: { syncEnabled: false }, bidderTimeout: 3000 });
    pbjs.addAdUnits([{
      code: 'top',
      mediaTypes: { banner: { sizes: [[300, 250]] } },
      bids: [{ bidder: 'openx', params: { unit: '539439964', delDomain: 'test-d.openx.net' } }]
    }]);
  });
</script>`;

/**
 * applyPrebid holds requestBids on it; `held` is how long, from the call to the auction.
 * Prebid is loaded synchronously first, so `held` is segtag's hold, not Prebid's download.
 */
const npmPage = (ms: number) => `<!doctype html>
${PREBID_SETUP('')}
<script type="module">
  import { createSegtag, applyPrebid } from '/segtag.mjs';
  const tag = createSegtag({ endpoint: '/rtc', site: 'pub' });
  tag.page();
  const t0 = performance.now();
  applyPrebid(tag, pbjs, { ms: ${ms}, name: 'segtag.example', segtax: 600 }).then(() => {
    pbjs.que.push(() => {
      window.held = performance.now() - t0;
      pbjs.requestBids({ bidsBackHandler: () => (window.auctionDone = true) });
    });
  });
</script>`;

const ours = (request: any) => (request?.user?.data || []).filter((d: any) => d.name == 'segtag.example');

test('fresh segments reach the bidders: ortb2.user.data and the outgoing bid request, held less than the ceiling', async ({
  page,
}) => {
  site.route('/rtc', (_req, _b, res) => answer(res, 200, JSON.stringify({ segments: ['1001', '1004'] })));
  await page.goto(site.page('/pb', npmPage(3000)));
  await page.waitForFunction(() => (window as any).auctionDone, null, { timeout: 15_000 });
  const expected = { name: 'segtag.example', ext: { segtax: 600 }, segment: [{ id: '1001' }, { id: '1004' }] };
  const ortb2 = await page.evaluate(() => (window as any).pbjs.getConfig('ortb2'));
  expect(ortb2.user.data).toEqual([expected]);
  expect(bidRequests).toHaveLength(1);
  expect(ours(bidRequests[0])).toEqual([expected]);
  // a ceiling, not a delay: the auction started as soon as the answer came, far before 3000 ms
  expect(await page.evaluate(() => (window as any).held)).toBeLessThan(1500);
  expect(offLoopback).toEqual([]); // nothing but the intercepted bid request tried to leave
});

test('a slow server: requestBids is held at most the ceiling, then bids with the cached segments', async ({
  page,
  context,
}) => {
  site.route('/rtc', () => {}); // never answers within the test
  await context.addCookies([{ name: 'segtag', value: 'seg=cached1%2Ccached2', url: site.origin }]);
  await page.goto(site.page('/pb-slow', npmPage(300)));
  await page.waitForFunction(() => (window as any).auctionDone, null, { timeout: 15_000 });
  const held = await page.evaluate(() => (window as any).held);
  expect(held).toBeGreaterThanOrEqual(290);
  expect(held).toBeLessThan(1000);
  expect(ours(bidRequests[0])).toEqual([
    { name: 'segtag.example', ext: { segtax: 600 }, segment: [{ id: 'cached1' }, { id: 'cached2' }] },
  ]);
});

test('no segments: nothing is merged, the auction runs without a segtag entry', async ({ page }) => {
  site.route('/rtc', (_req, _b, res) => answer(res, 200, '{"segments":[]}'));
  await page.goto(site.page('/pb-none', npmPage(300)));
  await page.waitForFunction(() => (window as any).auctionDone, null, { timeout: 15_000 });
  expect(bidRequests).toHaveLength(1);
  expect(ours(bidRequests[0])).toEqual([]);
});

test('script tag recipe from the README: ready(ms), then mergeConfig in pbjs.que', async ({ page }) => {
  site.route('/rtc', (_req, _b, res) => answer(res, 200, JSON.stringify({ segments: ['a1', 'b2'] })));
  const readme = readFileSync('README.md', 'utf8');
  const recipe = readme.match(/<!-- prebid-script-tag -->\s*```html\n([\s\S]*?)```/)![1];
  expect(recipe).toContain("segtag('ready', 300)");
  await page.goto(
    site.page(
      '/pb-tag',
      `<!doctype html>${STUB}<script async src="/segtag.min.js"></script>
      <script>segtag('init', { endpoint: '/rtc', site: 'pub' }); segtag('page');</script>
      ${PREBID_SETUP()}
      <script>function initAdserver() { window.auctionDone = true; }</script>
      ${recipe.replace("segtag('ready', 300)", "segtag('ready', 5000)") /* Prebid's parse can block the page past 300 ms */}`,
    ),
  );
  await page.waitForFunction(() => (window as any).auctionDone, null, { timeout: 15_000 });
  expect(ours(bidRequests[0])).toEqual([{ name: 'segtag.example', segment: [{ id: 'a1' }, { id: 'b2' }] }]);
});
