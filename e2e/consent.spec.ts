import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { answer, startSite, STUB, failOnPageErrors } from './support/site';
import { iabBundle, TCF_STUB, tcString, VENDOR } from './support/iab';

/**
 * The consent matrix in Chromium: each row is a consent situation a publisher's page
 * can be in, with the real IAB CMP libraries serving `__tcfapi` / `__gpp`; each column
 * is checked from outside segtag: cookies through `context.cookies()`, localStorage,
 * and the requests the page made.
 */

type Site = Awaited<ReturnType<typeof startSite>>;
let site: Site;
let calls: any[];

/**
 * Pixels (issue 6) are not in this build yet. When they land: put a pixel pointing at
 * PIXEL_PATH into RTC_ANSWER (in the protocol's field for URL destinations) and set
 * PIXELS to true; the pixel column then expects a pixel exactly where a call was made.
 * Until then the column still holds: no request at all other than the allowed ones.
 */
const PIXELS = false;
const PIXEL_PATH = '/px';
const RTC_ANSWER = { segments: ['1001', '1004'] };

const GRANTED_TC = tcString();
const NO_PURPOSE_1_TC = tcString({ purposes: [2, 3, 4] });

test.beforeEach(async ({ page }) => {
  site = await startSite();
  calls = [];
  site.route('/rtc', (_req, body, res) => {
    calls.push(JSON.parse(body));
    answer(res, 200, JSON.stringify(RTC_ANSWER));
  });
  site.route(PIXEL_PATH, (_req, _body, res) => void res.writeHead(200, { 'content-type': 'image/gif' }).end());
  const iab = await iabBundle();
  site.route('/iab.js', (_req, _body, res) => void res.writeHead(200, { 'content-type': 'text/javascript' }).end(iab));
  site.route(
    '/tcf-stub.js',
    (_req, _body, res) => void res.writeHead(200, { 'content-type': 'text/javascript' }).end(TCF_STUB),
  );
  failOnPageErrors(page);
});
test.afterEach(() => site.close());

const tcf = (update: string) =>
  `<script src="/tcf-stub.js"></script><script src="/iab.js"></script>
  <script>new IAB.TcfCmpApi(10, 1, true).update(${update}, false);</script>`;
const gpp = (saleOptOut: number) =>
  `<script src="/iab.js"></script>
  <script>
    const gpp = new IAB.GppCmpApi(10, 1);
    gpp.setFieldValue('usnat', 'SaleOptOutNotice', 1);
    gpp.setFieldValue('usnat', 'SaleOptOut', ${saleOptOut});
    gpp.setApplicableSections([7]);
    gpp.setSignalStatus('ready');
  </script>`;
const GPC = () => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true });

interface Cells {
  cookies: boolean;
  /** Real-time calls the page made. */
  calls: number;
}
interface Row {
  name: string;
  consent?: object;
  /** HTML before segtag: the CMP's stub and libraries. */
  head?: string;
  /** An expression the test evaluates in the page 1 s after load, after checking `before`. */
  later?: string;
  initScript?: () => void;
  /** What holds 1 s after load, before `later` runs. */
  before?: Cells;
  after: Cells;
  /** The `consent` each call carries. */
  wire?: object;
  /** What became of the first event, when not the default (sent if a call was made, else 'no consent'). */
  first?: 'held';
}

const matrix: Row[] = [
  { name: 'no CMP', after: { cookies: true, calls: 1 }, wire: {} },
  {
    name: 'TCF granted',
    head: tcf(JSON.stringify(GRANTED_TC)),
    consent: { vendorId: VENDOR },
    after: { cookies: true, calls: 1 },
    wire: { gdpr: true, tcf: GRANTED_TC },
  },
  { name: 'TCF purpose 1 denied', head: tcf(JSON.stringify(NO_PURPOSE_1_TC)), after: { cookies: false, calls: 0 } },
  { name: 'TCF gdprApplies false', head: tcf('null'), after: { cookies: true, calls: 1 }, wire: { gdpr: false } },
  {
    name: 'TCF answers late (after 1 s)',
    head: '<script src="/tcf-stub.js"></script>',
    later: `new Promise((loaded) => {
      const s = document.createElement('script');
      s.src = '/iab.js';
      s.onload = () => loaded(new IAB.TcfCmpApi(10, 1, true).update(${JSON.stringify(GRANTED_TC)}, false));
      document.head.append(s);
    })`,
    before: { cookies: false, calls: 0 },
    after: { cookies: true, calls: 1 },
    wire: { gdpr: true, tcf: GRANTED_TC },
  },
  {
    name: 'TCF never answers',
    head: '<script src="/tcf-stub.js"></script>',
    after: { cookies: false, calls: 0 },
    first: 'held',
  },
  {
    name: 'TCF UI shown, no decision',
    head: '<script src="/tcf-stub.js"></script><script src="/iab.js"></script><script>new IAB.TcfCmpApi(10, 1, true).update("", true);</script>',
    after: { cookies: false, calls: 0 },
    first: 'held',
  },
  { name: 'GPP US opt-out', head: gpp(1), after: { cookies: false, calls: 0 } },
  { name: 'GPP US, no opt-out', head: gpp(2), after: { cookies: true, calls: 1 }, wire: { gppSid: '7' } },
  { name: 'GPC on', initScript: GPC, after: { cookies: false, calls: 0 } },
  {
    name: 'pending then in',
    consent: { mode: 'pending' },
    later: `segtag('setConsent', 'in')`,
    before: { cookies: false, calls: 0 },
    after: { cookies: true, calls: 1 },
  },
  {
    name: 'in then out',
    consent: { mode: 'in' },
    later: `segtag('setConsent', 'out').then(() => segtag('page'))`,
    before: { cookies: true, calls: 1 },
    // The one call made before the withdrawal; none after it.
    after: { cookies: false, calls: 1 },
  },
];

/** The cells as the browser shows them, plus every request the page made. */
async function observe(page: Page, context: BrowserContext, requests: string[]) {
  const cookies = await context.cookies();
  const storageKeys = await page.evaluate(() => Object.keys(localStorage));
  return {
    cookies,
    storageKeys,
    calls: requests.filter((p) => p == '/rtc').length,
    pixels: requests.filter((p) => p == PIXEL_PATH).length,
  };
}

function check(
  seen: Awaited<ReturnType<typeof observe>>,
  cells: Cells,
  requests: string[],
  allowed: string[],
  when: string,
) {
  const names = seen.cookies.map((c) => c.name).sort();
  if (cells.cookies) expect(names, `${when}: cookies`).toEqual(['segtag', 'segtag_uid']);
  else {
    // Nothing at all: not even the domain probe's test cookie may remain.
    expect(names, `${when}: cookies`).toEqual([]);
    expect(seen.storageKeys, `${when}: localStorage`).toEqual([]);
  }
  expect(seen.calls, `${when}: real-time calls`).toBe(cells.calls);
  expect(seen.pixels > 0, `${when}: pixels`).toBe(PIXELS && cells.calls > 0 && cells.cookies);
  expect(
    requests.filter((p) => !allowed.includes(p)),
    `${when}: requests to anything else`,
  ).toEqual([]);
}

for (const row of matrix) {
  test(`consent matrix: ${row.name}`, async ({ page, context }) => {
    if (row.initScript) await context.addInitScript(row.initScript);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(new URL(r.url()).pathname));
    const url = site.page(
      '/article',
      `<!doctype html><title>Article</title>
      ${row.head ?? ''}
      ${STUB}
      <script src="/segtag.min.js"></script>
      <script>
        segtag('init', { endpoint: '/rtc', site: 'pub', consent: ${JSON.stringify(row.consent ?? {})} });
        window.first = segtag('page', { c_section: 'news' });
        const t0 = performance.now();
        window.ready = segtag('ready', 300).then((t) => ({ t, ms: performance.now() - t0 }));
      </script>`,
    );
    const allowed = ['/article', '/segtag.min.js', '/iab.js', '/tcf-stub.js', '/rtc', ...(PIXELS ? [PIXEL_PATH] : [])];
    await page.goto(url);

    // ready(300) is a ceiling whatever the consent: it never waits for a CMP.
    const { ms } = await page.evaluate(() => (window as any).ready);
    expect(ms).toBeLessThan(800);

    if (row.before) {
      await page.waitForTimeout(1000 - ms);
      check(await observe(page, context, requests), row.before, requests, allowed, 'before');
    }
    if (row.later) await page.evaluate(row.later);
    if (row.after.calls) await expect.poll(() => calls.length, { timeout: 5000 }).toBe(row.after.calls);
    // Time for anything that should not happen to happen: a CMP or a retry.
    await page.waitForTimeout(row.after.cookies ? 300 : 1500);
    if (row.after.cookies) await expect.poll(async () => (await context.cookies()).length).toBe(2);
    check(await observe(page, context, requests), row.after, requests, allowed, 'after');

    // The GPP string is the CMP's: any well-formed one.
    if (row.wire)
      expect(calls[0].consent).toEqual(
        'gppSid' in row.wire ? { ...row.wire, gpp: expect.stringMatching(/^D[\w.~-]+$/) } : row.wire,
      );
    // The page's first event: sent, dropped (denied), or held in memory (unknown).
    const first = await page.evaluate(() =>
      Promise.race([(window as any).first, new Promise((r) => setTimeout(() => r('held'), 100))]),
    );
    const outcome = first == 'held' ? 'held' : first.ok ? 'sent' : first.error;
    expect(outcome).toBe(row.first ?? (row.after.calls ? 'sent' : 'no consent'));
  });
}

test('withdrawal through the CMP deletes exactly the cookies segtag wrote, on the domain it wrote them', async ({
  page,
  context,
}) => {
  const host = 'www.news.example.co.uk';
  const origin = `http://${host}:${site.port}`;
  const requests: string[] = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  // The publisher's own cookies, one on segtag's own name but host-only: none is segtag's to delete.
  await context.addCookies([
    { name: 'pub_pref', value: 'dark', domain: '.example.co.uk', path: '/' },
    { name: 'cmp_seen', value: '1', url: origin },
    { name: 'segtag_uid', value: 'publisher-host-only-1', url: origin },
  ]);
  site.page(
    '/w',
    `<!doctype html><title>W</title>
    <script src="/tcf-stub.js"></script><script src="/iab.js"></script>
    <script>window.cmp = new IAB.TcfCmpApi(10, 1, true); cmp.update(${JSON.stringify(GRANTED_TC)}, false);</script>
    ${STUB}<script src="/segtag.min.js"></script>
    <script>segtag('init', { endpoint: '/rtc', site: 'pub' }); window.first = segtag('page');</script>`,
  );
  await page.goto(origin + '/w');
  expect((await page.evaluate(() => (window as any).first)).ok).toBe(true);
  const cookies = async () => (await context.cookies()).map((c) => `${c.name}@${c.domain}`).sort();
  expect(await cookies()).toEqual([
    'cmp_seen@www.news.example.co.uk',
    'pub_pref@.example.co.uk',
    'segtag@.example.co.uk',
    'segtag_uid@.example.co.uk',
    'segtag_uid@www.news.example.co.uk',
  ]);

  // The visitor withdraws purpose 1 in the CMP ('useractioncomplete').
  await page.evaluate((tc) => (window as any).cmp.update(tc, false), NO_PURPOSE_1_TC);
  expect(await cookies()).toEqual([
    'cmp_seen@www.news.example.co.uk',
    'pub_pref@.example.co.uk',
    'segtag_uid@www.news.example.co.uk',
  ]);
  expect(await page.evaluate(() => (window as any).segtag('page'))).toEqual({
    ok: false,
    segments: [],
    targeting: {},
    error: 'no consent',
  });
  expect(await page.evaluate(() => (window as any).segtag('getTargeting'))).toEqual({});
  await page.waitForTimeout(300);
  expect(calls).toHaveLength(1);
  expect(requests.filter((p) => p == '/rtc')).toHaveLength(1);
});

test("a returning visitor: while the CMP is silent segtag's cookies are neither read nor touched; a denial deletes them", async ({
  page,
  context,
}) => {
  const earlier = [
    { name: 'segtag', value: 'seg=111%2C222', url: site.origin },
    { name: 'segtag_uid', value: 'returning-visitor-1', url: site.origin },
    { name: 'pub_pref', value: 'dark', url: site.origin },
  ];
  const html = (head: string) =>
    `<!doctype html>${head}${STUB}<script src="/segtag.min.js"></script>
    <script>segtag('init', { endpoint: '/rtc', site: 'pub' }); segtag('page'); window.early = segtag('getTargeting');</script>`;
  const names = async () => (await context.cookies()).map((c) => `${c.name}=${c.value}`).sort();

  await context.addCookies(earlier);
  await page.goto(site.page('/silent', html('<script src="/tcf-stub.js"></script>')));
  expect(await page.evaluate(() => (window as any).early)).toEqual({});
  expect(await page.evaluate(() => (window as any).segtag('ready', 200))).toEqual({});
  await page.waitForTimeout(500);
  expect(await names()).toEqual(['pub_pref=dark', 'segtag=seg=111%2C222', 'segtag_uid=returning-visitor-1']);

  // Same visitor, next page: the CMP's stored answer is a denial.
  await page.goto(site.page('/denied', html(tcf(JSON.stringify(NO_PURPOSE_1_TC)))));
  expect(await page.evaluate(() => (window as any).early)).toEqual({});
  await expect.poll(names).toEqual(['pub_pref=dark']);
  expect(calls).toHaveLength(0);
});

test('events held while the CMP is late keep their own time and one visitor id, and carry the TC string that allowed them', async ({
  page,
}) => {
  const url = site.page(
    '/held',
    `<!doctype html><script src="/tcf-stub.js"></script>${STUB}<script src="/segtag.min.js"></script>
    <script>
      segtag('init', { endpoint: '/rtc', site: 'pub' });
      segtag('page');
      segtag('track', 'video_start');
      window.raisedAt = Date.now();
    </script>`,
  );
  await page.goto(url);
  await page.waitForTimeout(800);
  expect(calls).toHaveLength(0);
  const answeredAt = await page.evaluate(
    (tc) =>
      new Promise<number>((done) => {
        const s = document.createElement('script');
        s.src = '/iab.js';
        s.onload = () => (new (window as any).IAB.TcfCmpApi(10, 1, true).update(tc, false), done(Date.now()));
        document.head.append(s);
      }),
    GRANTED_TC,
  );
  // Raised in one task, both events ride in one call, sent once consent arrived.
  await expect.poll(() => calls.length).toBe(1);
  await page.waitForTimeout(300);
  expect(calls).toHaveLength(1);
  const raisedAt = await page.evaluate(() => (window as any).raisedAt);
  const [call] = calls;
  expect(call.events.map((e: { type: string }) => e.type)).toEqual(['page', 'track']);
  for (const e of call.events) {
    expect(e.ts).toBeLessThanOrEqual(raisedAt);
    expect(e.ts).toBeLessThan(answeredAt);
  }
  expect(call.consent).toEqual({ gdpr: true, tcf: GRANTED_TC });
  expect(call.uid).toMatch(/^[0-9a-f-]{36}$/);
});
