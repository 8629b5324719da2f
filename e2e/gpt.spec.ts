import { expect, test, type Page } from '@playwright/test';
import { answer, startSite, STUB, failOnPageErrors } from './support/site';
import { GPT_STANDIN } from './support/gpt-standin';

type Site = Awaited<ReturnType<typeof startSite>>;
let site: Site;
let warnings: string[];

test.beforeEach(async ({ page }) => {
  site = await startSite();
  warnings = [];
  failOnPageErrors(page);
  page.on('console', (m) => m.type() == 'warning' && warnings.push(m.text()));
});
test.afterEach(() => site.close());

const gpt = (page: Page) => page.evaluate(() => (window as any).__gpt);
/** The publisher's GPT setup with the initial load held (disableInitialLoad recipe). */
const HELD_SLOT = `<script>
  window.googletag = window.googletag || { cmd: [] };
  googletag.cmd.push(function () {
    window.slot = googletag.defineSlot('/1234/top', [300, 250], 'top').addService(googletag.pubads());
    googletag.pubads().disableInitialLoad();
    googletag.enableServices();
    googletag.display('top');
  });
</script>`;

test('the stand-in enforces GPT rules: a 21-character key, a 41-character value and a reserved character are refused', async ({
  page,
}) => {
  const url = site.page('/control', `<!doctype html>${GPT_STANDIN}`);
  await page.goto(url);
  await page.evaluate(() => {
    const p = (window as any).googletag.pubads();
    p.setTargeting('k'.repeat(21), '1');
    p.setTargeting('seg', ['1', 'v'.repeat(41)]);
    p.setTargeting('seg', 'a(b');
    p.setTargeting('seg', ['ok']);
  });
  const g = await gpt(page);
  expect(g.rejected).toHaveLength(3);
  expect(g.targeting).toEqual({ seg: ['ok'] });
});

test('script tag: segtag("gpt", 2000, { refresh: true }) sends the first ad request with the segments, minus a 41-character id', async ({
  page,
}) => {
  const long = 'x'.repeat(41); // a valid segment id (up to 64), too long for GAM
  site.route('/rtc', (_req, _b, res) => answer(res, 200, JSON.stringify({ segments: ['1001', long, '1004'] })));
  const url = site.page(
    '/article',
    `<!doctype html>${STUB}<script async src="/segtag.min.js"></script>
    ${HELD_SLOT}
    <script>
      segtag('init', { endpoint: '/rtc', site: 'pub', debug: true });
      segtag('page');
      window.done = segtag('gpt', 2000, { refresh: true });
    </script>
    ${GPT_STANDIN}`,
  );
  await page.goto(url);
  expect(await page.evaluate(() => (window as any).done)).toEqual({ seg: ['1001', long, '1004'] });
  await expect.poll(async () => (await gpt(page)).requests).toHaveLength(1);
  const g = await gpt(page);
  expect(g.requests).toEqual([{ slot: 'top', targeting: { seg: ['1001', '1004'] } }]);
  expect(g.rejected).toEqual([]);
  expect(g.refreshes).toBe(1);
  expect(warnings).toContain(`segtag: GAM rules drop seg ${long}`);
});

test('script tag: 500 segments: the cookie keeps what fits maxBytes and GPT receives exactly that, in order', async ({
  page,
  context,
}) => {
  const segments = Array.from({ length: 500 }, (_, i) => `s${i}`);
  site.route('/rtc', (_req, _b, res) => answer(res, 200, JSON.stringify({ segments })));
  const url = site.page(
    '/many',
    `<!doctype html>${STUB}<script src="/segtag.min.js"></script>
    ${HELD_SLOT}${GPT_STANDIN}
    <script>
      segtag('init', { endpoint: '/rtc', site: 'pub', debug: true });
      segtag('page');
      window.done = segtag('gpt', 1000, { refresh: true });
    </script>`,
  );
  await page.goto(url);
  const targeting = await page.evaluate(() => (window as any).done);
  const stored = (await context.cookies()).find((c) => c.name == 'segtag')!;
  expect('segtag'.length + stored.value.length).toBeLessThanOrEqual(3000);
  const kept = decodeURIComponent(stored.value).slice('seg='.length).split(',');
  expect(kept.length).toBeGreaterThan(300);
  expect(kept.length).toBeLessThan(500);
  expect(kept).toEqual(segments.slice(0, kept.length));
  expect(targeting).toEqual({ seg: kept });
  await expect.poll(async () => (await gpt(page)).requests).toHaveLength(1);
  const g = await gpt(page);
  expect(g.requests[0].targeting).toEqual({ seg: kept });
  expect(g.rejected).toEqual([]);
  expect(warnings).toContain(`segtag: cookie.maxBytes: dropped ${500 - kept.length} segments`);
});

test('npm applyGpt: keys and values GAM would refuse never reach GPT, with a debug warning each', async ({ page }) => {
  const url = site.page(
    '/npm-rules',
    `<!doctype html>${HELD_SLOT}${GPT_STANDIN}
    <script type="module">
      import { applyGpt } from '/segtag.mjs';
      applyGpt(
        { ['k'.repeat(21)]: ['1'], '1abc': ['1'], 'a b': ['1'], seg: ['ok', 'x'.repeat(41), 'a(b', "c'd", 'e;f', 'v'.repeat(40)] },
        googletag,
        { debug: true, refresh: true },
      );
      window.applied = true;
    </script>`,
  );
  await page.goto(url);
  await page.waitForFunction(() => (window as any).applied);
  const g = await gpt(page);
  expect(g.rejected).toEqual([]);
  expect(g.targeting).toEqual({ seg: ['ok', 'v'.repeat(40)] });
  expect(g.requests).toEqual([{ slot: 'top', targeting: { seg: ['ok', 'v'.repeat(40)] } }]);
  expect(warnings.filter((w) => w.startsWith('segtag: GAM rules drop'))).toHaveLength(7);
});

test('npm applyGpt: slot-level targeting; follow re-applies fresher segments after the first ad call', async ({
  page,
  context,
}) => {
  // The server holds its answer until the test releases it, after the first ad request went
  // out. The call's timeout (60 s, the most allowed) outlasts the test's 30 s, so the held call
  // cannot time out first, however slow the machine: no timer races the release.
  let arrived!: () => void;
  let release!: () => void;
  const requested = new Promise<void>((r) => (arrived = r));
  const answered = new Promise<void>((r) => (release = r));
  site.route('/rtc', async (_req, _b, res) => {
    arrived();
    await answered;
    answer(res, 200, JSON.stringify({ segments: ['fresh1', 'fresh2'] }));
  });
  await context.addCookies([{ name: 'segtag', value: 'seg=old', url: site.origin }]);
  const url = site.page(
    '/follow',
    `<!doctype html>${HELD_SLOT}${GPT_STANDIN}
    <script type="module">
      import { createSegtag, applyGpt } from '/segtag.mjs';
      const tag = createSegtag({ endpoint: '/rtc', site: 'pub', timeout: 60000 });
      window.call = tag.page();
      const t = await tag.ready(300);
      applyGpt(t, googletag, { slots: [window.slot], refresh: true, follow: tag });
      window.applied = true;
    </script>`,
  );
  await page.goto(url);
  await page.waitForFunction(() => (window as any).applied);
  await requested; // the call is in flight, held
  let g = await gpt(page);
  expect(g.requests).toEqual([{ slot: 'top', targeting: { seg: ['old'] } }]);
  expect(g.targeting).toEqual({}); // slot-level only
  release();
  expect(await page.evaluate(() => (window as any).call)).toMatchObject({ ok: true, segments: ['fresh1', 'fresh2'] });
  await page.evaluate(() => (window as any).googletag.pubads().refresh([(window as any).slot]));
  g = await gpt(page);
  expect(g.requests[1]).toEqual({ slot: 'top', targeting: { seg: ['fresh1', 'fresh2'] } });
  expect(g.refreshes).toBe(2); // segtag refreshed once; the second is the page's own
});
