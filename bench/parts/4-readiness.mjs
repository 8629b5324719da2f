/**
 * Part 4 — ad-call readiness: on a returning visitor's page (the previous page's cookies, made by
 * a real earlier visit), the time from the script tag arriving (its resource timing responseEnd:
 * the browser compiles and runs it from there) to
 *   - `segtag('getTargeting')` resolving with the cached segments, and
 *   - `segtag('ready', 1000)` resolving, with a decisioning server that answers after 50 ms.
 * Commands are queued through the stub before the async script tag, as the README shows.
 */
import { SCRIPT_TAG } from '../lib/paths.mjs';
import { stubSnippet } from '../lib/pages.mjs';
import { answerRtc, FIXED_SEGMENTS, startSite } from '../lib/site.mjs';
import { fmt, median, p95 } from '../lib/stats.mjs';
import { markdownTable } from '../lib/table.mjs';
import { options } from '../lib/options.mjs';

export const SERVER_DELAY_MS = 50;

function readinessPage(endpoint) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sports news</title>
${stubSnippet()}
<script>
window.__r = {};
segtag('init', { endpoint: '${endpoint}', site: 'bench' });
segtag('page', { c_section: 'sports' });
segtag('getTargeting').then(function (t) { __r.targetingAt = performance.now(); __r.targeting = t; });
segtag('ready', 1000).then(function (t) { __r.readyAt = performance.now(); __r.ready = t; });
</script>
<script async src="/lib/segtag.min.js"></script>
</head><body><h1>Sports news</h1><div id="ad-slot"></div></body></html>`;
}

export async function run({ browser }) {
  const rtc = await startSite({ routes: { '/v1/rtc': (req, res) => answerRtc(req, res, SERVER_DELAY_MS) } });
  const site = await startSite({ files: { '/lib/segtag.min.js': [SCRIPT_TAG, 'text/javascript'] } });
  site.pages['/article'] = readinessPage(`http://dcs.pub.test:${rtc.port}/v1/rtc`);
  const url = `http://www.pub.test:${site.port}/article`;
  const waitDone = (p) =>
    p.waitForFunction(() => window.__r?.readyAt && window.__r?.targetingAt, null, { timeout: 10_000 });
  const expected = FIXED_SEGMENTS.join();
  try {
    // The previous page: a first visit whose answer leaves the segment cookie behind.
    const first = await browser.newContext();
    const p0 = await first.newPage();
    await p0.goto(url);
    await waitDone(p0);
    const cookies = await first.cookies();
    await first.close();
    if (!cookies.some((c) => c.name == 'segtag')) throw new Error('the first visit left no segment cookie');

    const targetingMs = [];
    const readyMs = [];
    let wrongTargeting = 0;
    let wrongReady = 0;
    let failed = 0;
    for (let i = 0; i < options.pages; i++) {
      const context = await browser.newContext();
      await context.addCookies(cookies);
      try {
        const p = await context.newPage();
        await p.goto(url);
        await waitDone(p);
        const r = await p.evaluate(() => {
          const res = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/segtag.min.js'));
          return { ...window.__r, loadedAt: res?.responseEnd };
        });
        targetingMs.push(r.targetingAt - r.loadedAt);
        readyMs.push(r.readyAt - r.loadedAt);
        if ((r.targeting?.seg ?? []).join() != expected) wrongTargeting++;
        if ((r.ready?.seg ?? []).join() != expected) wrongReady++;
      } catch (e) {
        failed++;
      } finally {
        await context.close();
      }
    }
    const rows = [
      { what: "getTargeting() with the previous page's cookie", ms: targetingMs, wrong: wrongTargeting },
      { what: `ready(1000), server answering in ${SERVER_DELAY_MS} ms`, ms: readyMs, wrong: wrongReady },
    ].map((r) => ({ what: r.what, pages: r.ms.length, p50: median(r.ms), p95: p95(r.ms), wrong: r.wrong }));
    const table = markdownTable(
      ['from script tag loaded to', 'pages:', 'p50 ms:', 'p95 ms:', 'wrong segments'],
      rows.map((r) => [r.what, r.pages, fmt(r.p50), fmt(r.p95), r.wrong]),
    );
    return {
      title: 'Ad-call readiness',
      rows,
      failed,
      table,
      notes: [
        `ready(): ${fmt(rows[1].p50 - SERVER_DELAY_MS)} ms p50 beyond the server's ${SERVER_DELAY_MS} ms. ` +
          'Start is the script response end (the browser compiles and runs the tag from there); expected segments ' +
          `\`${expected}\`; failed pages: ${failed}.`,
      ],
    };
  } finally {
    await site.close();
    await rtc.close();
  }
}
