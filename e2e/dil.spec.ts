/**
 * Adobe's DIL (9.5) against segtag-server's /event, in Chromium: DIL's exact call (a credentialed
 * XMLHttpRequest POST, form-encoded, `d_dil_ver` and `_ts` in the query), across two page loads;
 * the same with the Experience Cloud id (d_mid) only; a disallowed origin; JSONP from a
 * `<script>`; and URL destinations (`dests`) fired by segtag-aam.min.js.
 *
 * The page (the test site, http://127.0.0.1:SITE) and the server (http://127.0.0.1:SERVER) are
 * different origins but the same site. On plain http the server's visitor cookie is
 * `SameSite=Lax` (Chromium refuses `SameSite=None` without `Secure`, which needs https), and
 * a Lax cookie travels on a same-site credentialed call only: a cross-site page (a publisher on
 * another domain) needs the server on https, where the cookie is `SameSite=None; Secure`.
 * `http://localhost:SITE` is the disallowed origin.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { createApp, type App } from '../server/src/app';
import { createMemoryStore } from '../server/src/stores/memory';
import { failOnPageErrors, startSite, STUB } from './support/site';

type Site = Awaited<ReturnType<typeof startSite>>;
let site: Site;
let app: App;
let server: string;
let store: ReturnType<typeof createMemoryStore>;

const RULES = {
  ttlDays: 30,
  traits: [
    { id: 'sports', where: { signal: 'c_section', op: 'equals', value: 'sports' } },
    { id: 'pv', where: { type: 'page' } },
  ],
  segments: [
    { id: '1001', name: 'Sports readers', rule: { trait: 'sports' } },
    { id: '2002', name: 'Two page views', rule: { trait: 'pv', atLeast: 2 } },
  ],
  urlDestinations: [{ id: 'px-4', url: 'https://px.pub.test/sync?u=%uid%&r=%rnd%', segments: ['1001'] }],
};

test.beforeEach(async ({ page }) => {
  failOnPageErrors(page);
  site = await startSite();
  store = createMemoryStore();
  app = createApp({ rules: RULES, store, corsOrigin: [site.origin], logger: false, watchRulesMs: 0 });
  server = (await app.listen(0, '127.0.0.1')).url;
});
test.afterEach(async () => {
  await app.close();
  await site.close();
});

/**
 * A page that makes DIL 9.5's call as its `fireCORS` does (dist/dil.js of
 * Adobe-Marketing-Cloud/dil): `corsSrc` = `/event?d_dil_ver=9.5&_ts=<ms>`, `corsPostData` =
 * `[d_mid=...&]d_nsid=0&d_ld=_ts%3D<ms>&d_rtbd=json&d_jsonv=1&d_dst=1&<signals>&h_referer=<url>`,
 * `withCredentials = true`, `Content-Type: application/x-www-form-urlencoded`.
 */
function dilPage(path: string, mid?: string) {
  return site.page(
    path,
    `<!doctype html><title>DIL page</title>
    <script>
      window.dil = new Promise((resolve) => {
        var ts = new Date().getTime();
        var corsSrc = '${server}/event?d_dil_ver=' + encodeURIComponent('9.5') + '&_ts=' + ts;
        var corsPostData = ${mid ? `'d_mid=${mid}&' + ` : ''}'d_nsid=0' + '&d_ld=' + encodeURIComponent('_ts=' + ts) +
          '&d_rtbd=json&d_jsonv=1&d_dst=1' + '&c_section=sports' + '&h_referer=' + encodeURIComponent(location.href);
        var xhr = new XMLHttpRequest();
        xhr.onreadystatechange = function () {
          if (xhr.readyState === 4) resolve({ status: xhr.status, text: xhr.responseText });
        };
        xhr.open('POST', corsSrc, true);
        xhr.withCredentials = true;
        xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
        xhr.send(corsPostData);
      });
    </script>`,
  );
}

interface Exchange {
  request: { method: string; url: string; headers: Record<string, string>; body: string | null };
  response: { status: number; headers: Record<string, string>; body: unknown };
}

/** Loads the page, waits for DIL's call, returns what the page read and the raw exchange. */
async function loadDil(page: Page, url: string) {
  const responded = page.waitForResponse((r) => r.url().startsWith(`${server}/event`));
  await page.goto(url);
  const response = await responded;
  const read = (await page.evaluate(() => (window as any).dil)) as { status: number; text: string };
  const request = response.request();
  const exchange: Exchange = {
    request: {
      method: request.method(),
      url: request.url(),
      headers: await request.allHeaders(),
      body: request.postData(),
    },
    response: { status: response.status(), headers: await response.allHeaders(), body: read.text },
  };
  return { read, answer: read.status == 200 ? JSON.parse(read.text) : undefined, exchange };
}

const visitorCookie = async (context: BrowserContext) =>
  (await context.cookies(server)).find((c) => c.name == 'demdex');

test('DIL: two page loads, the second recognised by the cookie alone; a two-visit segment qualifies', async ({
  page,
  context,
}) => {
  const url = dilPage('/article');
  const first = await loadDil(page, url);
  expect(first.read.status).toBe(200);
  expect(first.answer).toEqual({
    stuff: [{ cn: 'aam', cv: 'seg=1001', ttl: 30 }],
    dests: [
      { id: 'px-4', c: expect.stringMatching(/^https:\/\/px\.pub\.test\/sync\?u=\d{38}&r=\d+$/), hr: false, y: 'img' },
    ],
    uuid: expect.stringMatching(/^[1-9]\d{37}$/),
    tid: expect.any(String),
  });
  const uuid = first.answer.uuid as string;
  expect(first.exchange.request.headers.cookie).toBeUndefined();
  expect(first.exchange.response.headers).toMatchObject({
    'access-control-allow-origin': site.origin,
    'access-control-allow-credentials': 'true',
    'set-cookie': `demdex=${uuid}; Max-Age=34560000; Path=/; HttpOnly; SameSite=Lax`,
  });
  expect(await visitorCookie(context)).toMatchObject({ value: uuid, httpOnly: true, domain: '127.0.0.1', path: '/' });

  const second = await loadDil(page, url);
  // DIL never sends d_uuid: only the cookie says who this is.
  expect(second.exchange.request.body).not.toContain('d_uuid');
  expect(second.exchange.request.headers.cookie).toBe(`demdex=${uuid}`);
  expect(second.answer).toMatchObject({ stuff: [{ cn: 'aam', cv: 'seg=1001,2002', ttl: 30 }], uuid });

  if (process.env.SEGTAG_PRINT_EXCHANGE) console.log(JSON.stringify([first.exchange, second.exchange], null, 2));
});

test('DIL with the Experience Cloud id only (d_mid, no cookie): the same visitor on the second load', async ({
  page,
  context,
}) => {
  const mid = '90077121775993806112115099951483039736';
  const url = dilPage('/mid', mid);
  const first = await loadDil(page, url);
  await context.clearCookies();
  const second = await loadDil(page, url);
  expect(second.exchange.request.headers.cookie).toBeUndefined();
  expect(second.exchange.request.body).toMatch(new RegExp(`^d_mid=${mid}&d_nsid=0&`));
  expect(second.answer.uuid).toBe(first.answer.uuid);
  expect(second.answer.stuff).toEqual([{ cn: 'aam', cv: 'seg=1001,2002', ttl: 30 }]);
});

test('a disallowed origin gets no credentialed answer (403 before anything is counted)', async ({ page, context }) => {
  const url = dilPage('/elsewhere').replace('127.0.0.1', 'localhost');
  const seen: { status?: number; headers?: Record<string, string>; failure?: string }[] = [];
  page.on('requestfailed', (r) => {
    if (r.url().startsWith(`${server}/event`)) seen.push({ failure: r.failure()?.errorText });
  });
  page.on('response', async (r) => {
    if (r.url().startsWith(`${server}/event`)) seen.push({ status: r.status(), headers: await r.allHeaders() });
  });
  await page.goto(url);
  // The browser hides the answer from the page: DIL sees status 0.
  expect(await page.evaluate(() => (window as any).dil)).toEqual({ status: 0, text: '' });
  for (const s of seen) {
    if (s.status !== undefined) expect(s.status).toBe(403);
    expect(s.headers ?? {}).not.toHaveProperty('access-control-allow-origin');
    expect(s.headers ?? {}).not.toHaveProperty('set-cookie');
  }
  expect(await visitorCookie(context)).toBeUndefined();
  expect(store.size).toBe(0);
  // What the browser was answered, seen from outside it: 403, no CORS headers, no cookie.
  const direct = await fetch(`${server}/event?d_dil_ver=9.5`, {
    method: 'POST',
    headers: { origin: `http://localhost:${site.port}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'd_nsid=0&d_rtbd=json&c_section=sports',
  });
  expect(direct.status).toBe(403);
  expect(direct.headers.get('access-control-allow-origin')).toBeNull();
  expect(direct.headers.get('set-cookie')).toBeNull();
  expect(store.size).toBe(0);
});

test('JSONP: a <script src=...&d_cb=cb> calls cb with the answer', async ({ page }) => {
  const url = site.page(
    '/jsonp',
    `<!doctype html><title>JSONP</title>
    <script>window.cb = function (answer) { window.got = answer; };</script>
    <script src="${server}/event?c_section=sports&d_rtbd=json&d_cb=cb"></script>`,
  );
  await page.goto(url);
  expect(await page.evaluate(() => (window as any).got)).toMatchObject({
    stuff: [{ cn: 'aam', cv: 'seg=1001', ttl: 30 }],
    uuid: expect.stringMatching(/^[1-9]\d{37}$/),
  });
});

test('dests fire as pixels from segtag-aam.min.js', async ({ page }) => {
  const fired: string[] = [];
  await page.context().route('https://px.pub.test/**', (route) => {
    fired.push(route.request().url());
    return route.fulfill({
      status: 200,
      contentType: 'image/gif',
      body: Buffer.from('R0lGODlhAQABAAAAACw=', 'base64'),
    });
  });
  const url = site.page(
    '/aam',
    `<!doctype html><title>AAM</title>${STUB}<script src="/segtag-aam.min.js"></script>
    <script>
      segtag('init', { endpoint: '${server}/event', site: 'pub', protocol: 'dcs', cookie: { name: 'aam' } });
      window.result = segtag('page', { c_section: 'sports' });
    </script>`,
  );
  await page.goto(url);
  expect(await page.evaluate(() => (window as any).result)).toMatchObject({ ok: true, segments: ['1001'] });
  await expect.poll(() => fired.length).toBe(1);
  const uid = (await page.context().cookies()).find((c) => c.name == 'segtag_uid')!.value;
  expect(fired[0]).toMatch(new RegExp(`^https://px\\.pub\\.test/sync\\?u=${uid}&r=\\d+$`));
});
