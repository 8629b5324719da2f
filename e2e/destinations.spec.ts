import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import fc from 'fast-check';
import { answer, startSite, STUB, failOnPageErrors } from './support/site';
import { asWire, COOKIE_OCTETS, dcsAnswer, v1Answer } from '../test/support/arbitraries';

type Site = Awaited<ReturnType<typeof startSite>>;
let site: Site;
/** What reached the loopback pixel endpoint, in order. */
let hits: { url: string; at: number; referer?: string }[];

const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** Records every image URL the page assigns (what segtag tried to fire, whatever the scheme). */
const RECORD_IMAGES = `(() => {
  const d = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, 'src');
  window.__imgs = [];
  window.__imgTimes = [];
  Object.defineProperty(HTMLImageElement.prototype, 'src', { ...d, set(v) { window.__imgs.push(String(v)); window.__imgTimes.push(performance.now()); d.set.call(this, v); } });
})()`;

test.beforeEach(async ({ page, context }) => {
  site = await startSite();
  hits = [];
  site.route('/px', (req, _b, res) => {
    hits.push({ url: req.url!, at: Date.now(), referer: req.headers.referer });
    if (req.url!.includes('broken')) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'image/gif', 'cache-control': 'no-store' }).end(GIF);
  });
  // Nothing leaves the machine: pixel URLs on other hosts are aborted.
  await context.route(
    (url) => url.hostname != '127.0.0.1' && !url.hostname.endsWith('.pub.test'),
    (r) => r.abort(),
  );
  await page.addInitScript(RECORD_IMAGES);
  failOnPageErrors(page);
});
test.afterEach(() => site.close());

/** A publisher page with the script tag; `init` is the config literal. */
const tagPage = (path: string, init: string, script = 'segtag-sync.min.js', extra = '') =>
  site.page(
    path,
    `<!doctype html><title>P</title>${STUB}<script src="/${script}"></script>
    <script>
      window.outcomes = [];
      window.rejections = 0;
      addEventListener('unhandledrejection', () => window.rejections++);
      segtag('init', ${init});
      segtag('onDestinations', (o) => outcomes.push(o));
      window.result = segtag('page', { c_section: 'news' });
      ${extra}
    </script>`,
  );

const outcomes = (page: Page) => page.evaluate(() => (window as any).outcomes);
const cookieMap = async (context: BrowserContext) =>
  Object.fromEntries((await context.cookies()).map((c) => [c.name, c]));

test('pixel syncs fire as images, spaced, with macros, hiding the referrer when asked', async ({ page }) => {
  const px = (n: number, more = {}) => ({ id: 'p' + n, url: `${site.origin}/px?n=${n}&u=%uid%&r=%rnd%`, ...more });
  site.route('/rtc', (_req, _b, res) =>
    answer(
      res,
      200,
      JSON.stringify({
        segments: ['1'],
        pixels: [px(0), px(1, { hideReferrer: true }), px(2), px(3), { id: 'p4', url: `${site.origin}/px?n=4&broken` }],
      }),
    ),
  );
  const url = tagPage('/pixels', `{ endpoint: '/rtc', site: 'pub' }`);
  await page.goto(url);
  await expect.poll(() => hits.length).toBe(5);
  await expect.poll(async () => (await outcomes(page)).length).toBe(5);

  // Fired in the server's order; they may reach the server (and finish) in any order.
  const fired: string[] = await page.evaluate(() => (window as any).__imgs);
  expect(fired.map((u) => new URL(u, site.origin).searchParams.get('n'))).toEqual(['0', '1', '2', '3', '4']);
  const hitOf = (n: string) => hits.find((h) => new URL(h.url, site.origin).searchParams.get('n') == n)!;
  expect(hits.map((h) => new URL(h.url, site.origin).searchParams.get('n')).sort()).toEqual(['0', '1', '2', '3', '4']);
  const uid = (await page.context().cookies()).find((c) => c.name == 'segtag_uid')!.value;
  for (const h of ['0', '1', '2', '3'].map(hitOf)) {
    const q = new URL(h.url, site.origin).searchParams;
    expect(q.get('u')).toBe(uid);
    expect(q.get('r')).toMatch(/^\d+$/);
  }
  // Spaced at least 100 ms apart where the page fires them (timers only ever run late).
  // Arrival times on the server are no measure: Chrome holds back image requests while
  // the page is still loading and may then send several at once.
  const times: number[] = await page.evaluate(() => (window as any).__imgTimes);
  expect(times).toHaveLength(5);
  for (let i = 1; i < 5; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(99);
  expect(times[4] - times[0]).toBeLessThan(2000);
  // hideReferrer: no Referer header at all; the others carry the page URL.
  expect(hitOf('1').referer).toBeUndefined();
  expect(hitOf('0').referer).toBe(url);
  const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
  expect((await outcomes(page)).sort(byId)).toEqual([
    { type: 'pixel', id: 'p0', status: 'loaded' },
    { type: 'pixel', id: 'p1', status: 'loaded' },
    { type: 'pixel', id: 'p2', status: 'loaded' },
    { type: 'pixel', id: 'p3', status: 'loaded' },
    { type: 'pixel', id: 'p4', status: 'error' },
  ]);
});

test('javascript:, data:, blob:, relative and overlong URLs never fire', async ({ page }) => {
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  const bad = [
    'javascript:window.pwned=1',
    'data:image/gif;base64,R0lGODlhAQABAAAAACw=',
    'blob:' + site.origin + '/x',
    '/px?relative',
    `${site.origin}/px?long=${'x'.repeat(5000)}`,
  ];
  site.route('/rtc', (_req, _b, res) =>
    answer(
      res,
      200,
      JSON.stringify({
        segments: [],
        pixels: [...bad.map((url, i) => ({ id: 'b' + i, url })), { id: 'ok', url: `${site.origin}/px?ok` }],
      }),
    ),
  );
  await page.goto(tagPage('/bad', `{ endpoint: '/rtc', site: 'pub' }`));
  await expect.poll(async () => (await outcomes(page)).length).toBe(6);
  expect(await outcomes(page)).toEqual([
    ...bad.map((_, i) => ({ type: 'pixel', id: 'b' + i, status: 'skipped', reason: 'url' })),
    { type: 'pixel', id: 'ok', status: 'loaded' },
  ]);
  expect(hits.map((h) => h.url)).toEqual(['/px?ok']);
  expect(await page.evaluate(() => (window as any).__imgs)).toEqual([`${site.origin}/px?ok`]);
  expect(
    requests.filter((r) => !r.startsWith(site.origin + '/') || (r.includes('/px?') && !r.endsWith('/px?ok'))),
  ).toEqual([]);
  expect(await page.evaluate(() => (window as any).pwned)).toBeUndefined();
});

test('pixels are de-duplicated by id for ttl minutes across page loads', async ({ page }) => {
  site.route('/rtc', (_req, _b, res) =>
    answer(
      res,
      200,
      JSON.stringify({
        segments: [],
        pixels: [
          { id: 'ttl', url: `${site.origin}/px?ttl`, ttl: 60 },
          { id: 'page', url: `${site.origin}/px?page` },
        ],
      }),
    ),
  );
  // The second page view after the first call answered: events raised together share a call.
  const url = tagPage(
    '/dedupe',
    `{ endpoint: '/rtc', site: 'pub' }`,
    'segtag-sync.min.js',
    `window.result.then(() => segtag('page'));`,
  );
  await page.goto(url);
  await expect.poll(async () => (await outcomes(page)).length).toBe(4);
  expect(hits.map((h) => h.url).sort()).toEqual(['/px?page', '/px?ttl']);
  // The second call's skips are reported at once, the first call's loads when the images load.
  expect((await outcomes(page)).map((o: any) => o.reason || o.status).sort()).toEqual([
    'loaded',
    'loaded',
    'seen',
    'seen',
  ]);
  const record = JSON.parse((await page.evaluate(() => localStorage.getItem('segtag_px:pub')))!);
  expect(record.map((e: [string, number]) => e[0])).toEqual(['ttl']);

  await page.goto(url);
  await expect.poll(async () => (await outcomes(page)).length).toBe(4);
  // Second page: the ttl pixel is remembered, the page-only one fires once more.
  expect(hits.map((h) => h.url).sort()).toEqual(['/px?page', '/px?page', '/px?ttl']);
});

test('cookie destinations: only allowlisted names, on the domain segtag uses, valid bytes', async ({
  page,
  context,
}) => {
  site.route('/rtc', (_req, _b, res) =>
    answer(
      res,
      200,
      JSON.stringify({
        segments: ['9'],
        cookies: [
          { name: 'aam', value: 'seg=123,456', ttl: 30, domain: 'pub.test' },
          { name: 'partner', value: 'x;y "z"' },
          { name: 'other', value: 'nope' },
          { name: 'segtag_uid', value: 'hijack' },
          { name: 'partner', value: 'late', domain: 'evil.test' },
          { name: 'aam; domain=evil.test', value: 'x' },
        ],
      }),
    ),
  );
  tagPage('/cookies', `{ endpoint: '/rtc', site: 'pub', cookieDestinations: ['aam', 'partner'] }`);
  await page.goto(`http://www.pub.test:${site.port}/cookies`);
  await expect.poll(async () => (await outcomes(page)).length).toBe(6);
  const jar = await cookieMap(context);
  expect(Object.keys(jar).sort()).toEqual(['aam', 'partner', 'segtag', 'segtag_uid']);
  expect(jar.aam).toMatchObject({ value: 'seg=123%2C456', domain: '.pub.test', path: '/', sameSite: 'Lax' });
  expect(jar.aam.expires * 1000 - Date.now()).toBeGreaterThan(29 * 86400e3);
  expect(jar.partner).toMatchObject({ value: 'x%3By%20%22z%22', domain: '.pub.test' });
  expect(jar.segtag_uid.value).not.toBe('hijack');
  for (const c of Object.values(jar)) expect(c.value).toMatch(COOKIE_OCTETS);
  expect((await outcomes(page)).map((o: any) => [o.id, o.status, o.reason ?? null])).toEqual([
    ['aam', 'written', null],
    ['partner', 'written', null],
    ['other', 'skipped', 'name'],
    ['segtag_uid', 'skipped', 'name'],
    ['partner', 'skipped', 'domain'],
    ['aam; domain=evil.test', 'skipped', 'name'],
  ]);
});

test("withdrawal deletes allowlisted destination cookies, earlier pages' too, and no other cookie", async ({
  page,
  context,
}) => {
  let calls = 0;
  site.route(
    '/rtc',
    (_req, _b, res) => (
      calls++,
      answer(res, 200, JSON.stringify({ segments: ['1'], cookies: [{ name: 'partner', value: 'p' }] }))
    ),
  );
  // An earlier page wrote `aam`; the publisher's own cookie is not segtag's to delete.
  await context.addCookies([
    { name: 'aam', value: 'seg=1', url: site.origin },
    { name: 'publisher', value: 'keep', url: site.origin },
  ]);
  const url = tagPage(
    '/withdraw',
    `{ endpoint: '/rtc', site: 'pub', cookieDestinations: ['aam', 'partner'] }`,
    'segtag-sync.min.js',
    `window.result.then(() => segtag('setConsent', 'out'));`,
  );
  await page.goto(url);
  await expect.poll(async () => (await context.cookies()).map((c) => c.name).sort()).toEqual(['publisher']);
  expect(calls).toBe(1);
});

test('the standard segtag.min.js carries no destinations: it rejects cookieDestinations, and ignores pixels and cookies in an answer', async ({
  page,
  context,
}) => {
  site.route('/rtc', (_req, _b, res) =>
    answer(
      res,
      200,
      JSON.stringify({
        segments: ['1'],
        pixels: [{ id: 'p1', url: `${site.origin}/px?n=1` }],
        cookies: [{ name: 'aam', value: 'x' }],
      }),
    ),
  );
  const url = site.page(
    '/plain',
    `<!doctype html>${STUB}<script src="/segtag.min.js"></script>
    <script>
      window.refused = segtag('init', { endpoint: '/rtc', site: 'pub', cookieDestinations: ['aam'] }).then(() => 'resolved', (e) => e.message);
      segtag('init', { endpoint: '/rtc', site: 'pub' });
      window.onDest = segtag('onDestinations', () => {}).then(() => 'resolved', (e) => e.message);
      window.result = segtag('page');
    </script>`,
  );
  await page.goto(url);
  expect(await page.evaluate(() => (window as any).refused)).toBe(
    'segtag: invalid cookieDestinations (feature destinations not included)',
  );
  expect(await page.evaluate(() => (window as any).result)).toMatchObject({ ok: true, segments: ['1'] });
  expect(await page.evaluate(() => (window as any).onDest)).toBe('segtag: invalid command onDestinations');
  await page.waitForTimeout(300);
  expect(await page.evaluate(() => (window as any).__imgs)).toEqual([]);
  expect(hits).toEqual([]);
  expect((await context.cookies()).map((c) => c.name).sort()).toEqual(['segtag', 'segtag_uid']);
});

test('the standard build rejects protocol dcs, naming the missing feature', async ({ page }) => {
  const url = site.page(
    '/std',
    `<!doctype html>${STUB}<script src="/segtag.min.js"></script>
    <script>window.out = segtag('init', { endpoint: '/event', site: 'pub', protocol: 'dcs' }).then(() => 'resolved', (e) => e.message);</script>`,
  );
  await page.goto(url);
  expect(await page.evaluate(() => (window as any).out)).toBe('segtag: invalid protocol (feature dcs not included)');
});

test('segtag-aam.min.js speaks the /event format and maps the documented answer', async ({ page, context }) => {
  let request: { type?: string; body: string } | undefined;
  site.route('/event', (req, body, res) => {
    request = { type: req.headers['content-type'], body };
    // FIELD-NOTES section 1's documented answer, the destination URL moved to loopback.
    answer(
      res,
      200,
      JSON.stringify({
        stuff: [{ cn: 'aam', cv: 'seg=123,456', ttl: 30, dmn: 'example.com' }],
        dests: [{ id: '4', c: `${site.origin}/px?x=1`, hr: true, y: 'img' }],
        uuid: '22920112968019678612904394744954398990',
        dcs_region: 7,
        tid: '31ZpxW5bQGc=',
      }),
    );
  });
  await page.goto(
    tagPage(
      '/aam',
      `{ endpoint: '/event', site: 'pub', protocol: 'dcs', cookie: { name: 'aam' } }`,
      'segtag-aam.min.js',
      `segtag('identify', { '12345': 'abc' });`,
    ),
  );
  expect(await page.evaluate(() => (window as any).result)).toEqual({
    ok: true,
    segments: ['123', '456'],
    targeting: { seg: ['123', '456'] },
  });
  expect(request!.type).toBe('application/x-www-form-urlencoded');
  // identify() ran in the same task as page(), so the call carries the declared id.
  expect(request!.body).toMatch(/^c_section=news&d_uuid=[0-9a-f-]{36}&d_cid=12345%01abc&d_rtbd=json&d_dst=1$/);
  await expect.poll(() => hits.length).toBe(1);
  expect(hits[0]).toMatchObject({ url: '/px?x=1', referer: undefined });
  const jar = await cookieMap(context);
  expect(jar.aam.value).toBe('seg=123%2C456');
  expect(jar.segtag_uid.value).toBe('22920112968019678612904394744954398990');
  // A later call carries the declared id as DPID%01DPUUID and the adopted uuid.
  await page.evaluate(() => (window as any).segtag('page'));
  expect(request!.body).toBe('d_uuid=22920112968019678612904394744954398990&d_cid=12345%01abc&d_rtbd=json&d_dst=1');
});

test('fuzz in the browser: hostile answers never throw, pollute, write or fire what they should not', async ({
  page,
  context,
}) => {
  test.setTimeout(90_000);
  const cases = [
    ...fc.sample(v1Answer, { numRuns: 150, seed: 6 }).map((b, i) => ({ text: asWire(b, i % 5 == 0), protocol: 'v1' })),
    ...fc
      .sample(dcsAnswer, { numRuns: 150, seed: 7 })
      .map((b, i) => ({ text: asWire(b, i % 5 == 0), protocol: 'dcs' })),
  ];
  site.route('/fz', (req, _b, res) =>
    answer(res, 200, cases[+new URL(req.url!, site.origin).searchParams.get('i')!].text),
  );
  const url = site.page(
    '/fuzz',
    `<!doctype html>    <script type="module">
      import { createSegtag } from '/segtag.mjs';
      import { destinations } from '/destinations.mjs';
      import { dcs } from '/dcs.mjs';
      window.rejections = 0;
      addEventListener('unhandledrejection', () => window.rejections++);
      window.protoBefore = Object.getOwnPropertyNames(Object.prototype).sort().join();
      window.runAll = async (protocols) => {
        const results = [];
        for (let i = 0; i < protocols.length; i++) {
          const tag = createSegtag({ endpoint: '/fz?i=' + i, site: 'f' + i, protocol: protocols[i], cookieDestinations: ['aam', 'partner'], cookie: { name: protocols[i] == 'dcs' ? 'segs' : 'segtag' } }, { dcs, destinations });
          tag.onDestinations(() => {});
          results.push(typeof (await tag.page()).ok);
        }
        return results;
      };
    </script>`,
  );
  await page.goto(url);
  await page.waitForFunction(() => (window as any).runAll);
  const results = await page.evaluate(
    (p) => (window as any).runAll(p),
    cases.map((c) => c.protocol),
  );
  expect(results).toEqual(cases.map(() => 'boolean'));
  await page.waitForTimeout(1500); // the last pixels (10 per answer, 100 ms apart)

  expect(
    await page.evaluate(() => [
      (window as any).rejections,
      Object.getOwnPropertyNames(Object.prototype).sort().join() == (window as any).protoBefore,
      ({} as any).polluted,
    ]),
  ).toEqual([0, true, undefined]);
  for (const c of await context.cookies()) {
    expect(['segtag', 'segs', 'segtag_uid', 'aam', 'partner']).toContain(c.name);
    expect(c.value).toMatch(COOKIE_OCTETS);
    expect(c.name.length + c.value.length).toBeLessThanOrEqual(4096);
  }
  const imgs: string[] = await page.evaluate(() => (window as any).__imgs);
  expect(imgs.length).toBeGreaterThan(20);
  for (const src of imgs) expect(['http:', 'https:']).toContain(new URL(src).protocol);
});
