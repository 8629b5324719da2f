/**
 * The segment cookie in a real browser: what Chromium stores and sends in the Cookie header,
 * read on the server with segtag/cookie, agrees with getTargeting() in the page.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import fc from 'fast-check';
import { parseSegmentCookie } from '../src/cookie';
import type { CookieConfig } from '../src/types';
import { answer, startSite, failOnPageErrors } from './support/site';

type Site = Awaited<ReturnType<typeof startSite>>;
let site: Site;
let headers: string[];

test.beforeEach(async ({ page }) => {
  site = await startSite();
  headers = [];
  failOnPageErrors(page);
  // The decisioning server answers with the segments the case asks for.
  site.route('/rtc', (_req, body, res) =>
    answer(res, 200, JSON.stringify({ segments: JSON.parse(body).events[0].signals.want })),
  );
  // The publisher's server: records the Cookie header exactly as the browser sent it.
  site.route('/echo', (req, _b, res) => {
    headers.push(req.headers.cookie || '');
    res.writeHead(204).end();
  });
  site.route('/cookie.mjs', (_req, _b, res) => {
    res.writeHead(200, { 'content-type': 'text/javascript' });
    res.end(readFileSync('dist/cookie.mjs'));
  });
});
test.afterEach(() => site.close());

const PAGE = `<!doctype html><script type="module">
  import { createSegtag } from '/segtag.mjs';
  window.runCase = async (cookie, want) => {
    const tag = createSegtag({ endpoint: '/rtc', site: 'pub', cookie });
    const result = await tag.page({ want });
    const targeting = tag.getTargeting();
    await fetch('/echo');
    document.cookie = cookie.name + '=; max-age=0; path=/';
    tag.destroy();
    return { ok: result.ok, targeting };
  };
  window.ready = true;
</script>`;

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-'.split('');
const SEPARATORS = '=,&|;/~!*^@#$'.split('');
const scenario = fc.record({
  cookie: fc.record({
    name: fc.stringMatching(/^[\w-]{1,64}$/).filter((n) => !n.startsWith('segtag_')),
    key: fc.stringMatching(/^[A-Za-z_]\w{0,19}$/),
    format: fc.constantFrom('single' as const, 'pairs' as const),
    separators: fc.uniqueArray(fc.constantFrom(...SEPARATORS), { minLength: 2, maxLength: 2 }),
    maxBytes: fc.integer({ min: 64, max: 4096 }),
  }),
  segments: fc.uniqueArray(fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 1, maxLength: 64 }), {
    maxLength: 300,
  }),
});

/** RFC 6265 section 4.1.1 cookie-octets. */
const COOKIE_OCTETS = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;

test('generated formats and segment lists: the Cookie header read by parseSegmentCookie agrees with getTargeting()', async ({
  page,
}) => {
  test.setTimeout(180_000);
  await page.goto(site.page('/formats', PAGE));
  await page.waitForFunction(() => (window as any).ready);
  const cases = fc.sample(scenario, { numRuns: 150, seed: 20260921 });
  // and the edges: nothing, nothing fits, the default format full to its cap
  cases.push(
    { cookie: { name: 'segtag', key: 'seg', format: 'single', separators: ['=', ','], maxBytes: 3000 }, segments: [] },
    {
      cookie: { name: 'n'.repeat(64), key: 'k', format: 'pairs', separators: ['=', '&'], maxBytes: 64 },
      segments: ['x'.repeat(64)],
    },
    {
      cookie: { name: 'segtag', key: 'seg', format: 'single', separators: ['=', ','], maxBytes: 4096 },
      segments: Array.from({ length: 1000 }, (_, i) => 'seg' + i),
    },
  );
  let written = 0;
  for (const { cookie: c, segments } of cases) {
    const cookie: CookieConfig = {
      name: c.name,
      key: c.key,
      format: c.format,
      keySeparator: c.separators[0],
      valueSeparator: c.separators[1],
      maxBytes: c.maxBytes,
    };
    const { ok, targeting } = await page.evaluate(([cookie, want]) => (window as any).runCase(cookie, want), [
      cookie,
      segments,
    ] as const);
    expect(ok).toBe(true);
    const header = headers.pop()!;
    expect(parseSegmentCookie(header, cookie)).toEqual(targeting);
    // what the browser stored: within maxBytes, only cookie-octets, a prefix of the server's order
    const raw = header.split('; ').find((p) => p.startsWith(c.name + '='));
    if (!raw) {
      expect(targeting).toEqual({});
      continue;
    }
    written++;
    expect(raw.length - 1).toBeLessThanOrEqual(c.maxBytes); // name + value, without the '='
    expect(raw.slice(c.name.length + 1)).toMatch(COOKIE_OCTETS);
    const kept = targeting[c.key] || [];
    expect(kept).toEqual(segments.slice(0, kept.length));
  }
  expect(written).toBeGreaterThan(100);
});

test('a malformed cookie written by another script: no error in the page, and both sides read the same', async ({
  page,
  context,
}) => {
  const values: [string, object][] = [
    ['seg=%E0%A4%A', {}], // not UTF-8: js-cookie cannot decode it, so neither side reads it
    ['seg=1%2C%%2C2', { seg: ['1', '2'] }], // a stray %
    ['%', {}],
    ['seg=%zz%2C3', { seg: ['3'] }],
    ['"seg=4%2C5"', { seg: ['4', '5'] }], // quoted, as RFC 6265 allows
  ];
  await page.goto(site.page('/malformed', PAGE));
  await page.waitForFunction(() => (window as any).ready);
  for (const [value, expected] of values) {
    await context.addCookies([{ name: 'segtag', value, url: site.origin }]);
    const targeting = await page.evaluate(async () => {
      const { createSegtag } = await import('/segtag.mjs' as string);
      const tag = createSegtag({ endpoint: '/rtc', site: 'pub' });
      const t = tag.getTargeting();
      await fetch('/echo');
      return t;
    });
    expect(targeting).toEqual(expected);
    expect(parseSegmentCookie(headers.pop(), {})).toEqual(expected);
  }
  expect(await page.evaluate(() => 1)).toBe(1); // the page survived
});

test('segtag/cookie runs in a module worker: no DOM, like an edge runtime', async ({ page }) => {
  await page.goto(site.page('/worker', '<!doctype html><title>w</title>'));
  const result = await page.evaluate(async () => {
    const src = `import { parseSegmentCookie } from '${location.origin}/cookie.mjs';
      postMessage({ dom: typeof document, t: parseSegmentCookie('a=1; segtag=seg=1001%2C1004') });`;
    const worker = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })), { type: 'module' });
    return new Promise((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(e.message));
    });
  });
  expect(result).toEqual({ dom: 'undefined', t: { seg: ['1001', '1004'] } });
});
