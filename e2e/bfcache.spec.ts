import { expect, test } from '@playwright/test';
import config from '../playwright.config';
import { startCountingServer } from './support/counting-server';
import { startSite, STUB, failOnPageErrors } from './support/site';

// Playwright launches Chromium with --disable-back-forward-cache (so that page.goBack()
// always hits the network); this file needs the cache, so it drops that one default flag.
// launchOptions force a worker of their own, hence a file of its own.
test.use({ launchOptions: { ...config.use!.launchOptions, ignoreDefaultArgs: ['--disable-back-forward-cache'] } });

test('a tagged page is restored from the back/forward cache: segtag adds no unload listener', async ({ page }) => {
  failOnPageErrors(page);
  const site = await startSite();
  const api = await startCountingServer();
  try {
    // Served without Cache-Control: no-store, which would keep it out of the cache.
    const html = `<!doctype html><title>Cached</title>${STUB}<script src="/segtag.min.js"></script>
    <script>
      segtag('init', { endpoint: '${api.url}', site: 'pub' });
      segtag('page');
      addEventListener('pageshow', (e) => (window.shows = (window.shows || []).concat(e.persisted)));
    </script>`;
    site.route('/cached', (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    });
    site.page('/next', '<!doctype html><title>Next</title>');
    await page.goto(site.origin + '/cached');
    await expect.poll(() => api.seen.size).toBe(1);
    await page.evaluate(() => (window as any).segtag('track', 'before_leaving'));
    await page.goto(site.origin + '/next');
    // A page restored from the cache fires no load event: wait for the commit only.
    await page.goBack({ waitUntil: 'commit' });
    await expect.poll(() => page.evaluate(() => (window as any).shows)).toEqual([false, true]);
    // Still delivering after the restore.
    await page.evaluate(() => (window as any).segtag('track', 'after_restore'));
    await expect
      .poll(() => [...api.seen.values()].map((e) => e.name || e.type))
      .toEqual(['page', 'before_leaving', 'after_restore']);
  } finally {
    await api.close();
    await site.close();
  }
});
