/**
 * The SDK in Chromium against `segtag-server` started as a real child process (the built
 * server/dist/cli.mjs) with the embedded SQLite store: the demo page qualifies a visitor, the
 * server stops on SIGTERM and restarts with the profile intact; an Audience Manager-style call
 * to /event from another origin is answered.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSite, failOnPageErrors } from './support/site';
import { startCli as start, stopCli as stop, type CliServer as Server } from '../server/test/support/cli-process';

const startCli = (args: string[]) => start(['--quiet', '--demo', ...args]);

const segmentCookie = async (context: BrowserContext) =>
  (await context.cookies()).find((c) => c.name == 'segtag')?.value;
async function waitForCookie(context: BrowserContext, page: Page, value: string) {
  await expect.poll(() => segmentCookie(context), { timeout: 5000 }).toBe(value);
  await expect(page.locator('#targeting')).toHaveText(`seg=${decodeURIComponent(value.slice(4))}`);
}

let dir: string;
const servers: Server[] = [];
test.beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'segtag-e2e-cli-'));
});
test.afterEach(async () => {
  for (const s of servers.splice(0)) await stop(s).catch(() => s.child.kill('SIGKILL'));
  rmSync(dir, { recursive: true, force: true });
});

test('the demo page against the CLI server; SIGTERM, restart, and the visitor is remembered', async ({
  page,
  context,
}) => {
  failOnPageErrors(page);
  const store = `sqlite:${join(dir, 'segtag.db')}`;
  const first = await startCli(['--store', store]);
  servers.push(first);
  expect(first.output()).toMatch(/^rules: .*segments\.json: \d+ traits, \d+ segments, ttl 30 days$/m);

  // Page view 1 (c_section=sports) -> 1001 and 1004; an F1 video -> 1002.
  await page.goto(`${first.url}/`);
  await waitForCookie(context, page, 'seg=1001%2C1004');
  await page.click('#track-video');
  await waitForCookie(context, page, 'seg=1001%2C1002%2C1004');
  const uid = (await context.cookies()).find((c) => c.name == 'segtag_uid')!.value;

  expect(await stop(servers.pop()!)).toBe(0);
  expect(first.output()).toMatch(/SIGTERM: draining for \d+ ms, then shutting down/);

  // Same SQLite file, same browser: page views 2 and 3 reach "3+ page views" (1003) and, all
  // being sports pages, "3+ sports pages in 7 days" (1005).
  const second = await startCli(['--store', store]);
  servers.push(second);
  await context.clearCookies({ name: 'segtag' }); // the answer must come from the server's memory of the visitor
  await page.goto(`${second.url}/`);
  await waitForCookie(context, page, 'seg=1001%2C1002%2C1004');
  await page.click('#page-view');
  await waitForCookie(context, page, 'seg=1001%2C1002%2C1003%2C1004%2C1005');
  expect((await context.cookies()).find((c) => c.name == 'segtag_uid')!.value).toBe(uid);
});

test('an Audience Manager-style /event call from a publisher page on another origin', async ({ page }) => {
  const server = await startCli(['--store', 'memory']);
  servers.push(server);
  const site = await startSite();
  try {
    const url = site.page('/aam', '<!doctype html><title>AAM-style page</title>');
    await page.goto(url);
    const answer = await page.evaluate(async (endpoint) => {
      const body = new URLSearchParams({
        c_section: 'sports',
        d_uuid: '22920112968019678612904394744954398990',
        d_rtbd: 'json',
        d_dst: '1',
      });
      const res = await fetch(`${endpoint}/event`, { method: 'POST', body });
      return { status: res.status, json: await res.json() };
    }, server.url);
    expect(answer).toEqual({
      status: 200,
      json: {
        stuff: [{ cn: 'aam', cv: 'seg=1001,1004', ttl: 30 }],
        dests: [],
        uuid: '22920112968019678612904394744954398990',
        tid: expect.stringMatching(/^[A-Za-z0-9+/]{11}=$/),
      },
    });
  } finally {
    await site.close();
  }
});
