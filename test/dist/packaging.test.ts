/**
 * The packages as a new user gets them (after `npm run build`): `npm pack` both workspaces,
 * install the tarballs into empty directories, and use them from there.
 * - segtag alone brings no other package (the part of js-cookie it uses is bundled), runs no
 *   install script, imports in Node and in a page bundled by esbuild.
 * - segtag-server (with the segtag tarball: it is not on the registry) answers --help, starts on
 *   its default store (SQLite), answers a call, and serves the demo page and the npm modules.
 * It reaches the npm registry for the dependencies (fastify, better-sqlite3...), and
 * better-sqlite3 may compile from source: about a minute and a half.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { chromium, type Browser } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumLaunchOptions } from '../../e2e/support/chromium.mjs';
import { startCli, stopCli, type CliServer } from '../../server/test/support/cli-process';

const run = promisify(execFile);
const ROOT = resolve('.');
const work = mkdtempSync(join(tmpdir(), 'segtag-pack-'));
const npm = (args: string[], cwd: string) =>
  run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], { cwd, maxBuffer: 1 << 24, timeout: 240_000 });
let tarballs: { sdk: string; server: string };

/** An empty project directory with a package.json, as `npm init -y` makes. */
function emptyProject(name: string) {
  const project = mkdtempSync(join(work, name + '-'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  return project;
}

/** Every package directory under node_modules (scoped ones as `@scope/name`). */
function installedPackages(project: string): string[] {
  const top = join(project, 'node_modules');
  return readdirSync(top)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => (n.startsWith('@') ? readdirSync(join(top, n)).map((m) => `${n}/${m}`) : [n]))
    .sort();
}

const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];

beforeAll(async () => {
  const packed = async (workspace: string[]) => {
    const { stdout } = await npm(['pack', ...workspace, '--pack-destination', work, '--json'], ROOT);
    return join(work, JSON.parse(stdout)[0].filename);
  };
  tarballs = { sdk: await packed([]), server: await packed(['-w', 'segtag-server']) };
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the segtag tarball, installed alone', () => {
  let project: string;
  beforeAll(async () => {
    project = emptyProject('sdk');
    await npm(['install', tarballs.sdk], project);
  }, 240_000);

  it('brings no other package (js-cookie is bundled) and no install script', () => {
    expect(installedPackages(project)).toEqual(['segtag']);
    for (const name of installedPackages(project)) {
      const { scripts = {} } = JSON.parse(readFileSync(join(project, 'node_modules', name, 'package.json'), 'utf8'));
      expect(
        Object.keys(scripts).filter((s) => INSTALL_SCRIPTS.includes(s)),
        name,
      ).toEqual([]);
    }
  });

  it('ships the builds, the types and the docs a user needs, and no sources or tests', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name],
      );
    const shipped = files(join(project, 'node_modules/segtag'));
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/segtag.mjs',
      'dist/segtag.d.ts',
      'dist/segtag.min.js',
    ])
      expect(shipped).toContain(f);
    expect(shipped.filter((f) => /^(src|test|e2e|server|bench)\//.test(f))).toEqual([]);
  });

  it('imports in Node: every entry, and the helpers that need no browser run', async () => {
    const script = `
      const segtag = await import('segtag');
      const cookie = await import('segtag/cookie');
      const protocol = await import('segtag/protocol');
      for (const entry of ['dcs', 'destinations', 'auto-page', 'gpt', 'prebid', 'ad-server']) await import('segtag/' + entry);
      console.log(JSON.stringify({
        create: typeof segtag.createSegtag,
        ortb2: segtag.toOrtb2({ seg: ['1'] }, { name: 'example.com' }),
        cookie: cookie.parseSegmentCookie('segtag=seg=9'),
        id: protocol.SEGMENT_ID.test('1001'),
      }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({
      create: 'function',
      ortb2: { user: { data: [{ name: 'example.com', segment: [{ id: '1' }] }] } },
      cookie: { seg: ['9'] },
      id: true,
    });
  });

  describe('in a page bundled by esbuild', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch(chromiumLaunchOptions);
    });
    afterAll(() => browser?.close());

    it('runs the call loop against a server and writes the segment cookie', async () => {
      const app = `
        import { createSegtag } from 'segtag';
        import { autoPage } from 'segtag/auto-page';
        const tag = createSegtag({ endpoint: '/rtc', site: 'app', consent: { mode: 'in' } }, { autoPage });
        window.result = tag.page({ c_section: 'sports' });`;
      const result = await build({
        stdin: { contents: app, resolveDir: project, loader: 'js' },
        bundle: true,
        minify: true,
        format: 'esm',
        write: false,
        logLevel: 'silent',
      });
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.route('http://app.test/**', (route) => {
        const path = new URL(route.request().url()).pathname;
        if (path == '/rtc') return route.fulfill({ contentType: 'application/json', body: '{"segments":["1001"]}' });
        return route.fulfill({
          contentType: 'text/html',
          body: `<!doctype html><script type="module">${result.outputFiles[0].text}</script>`,
        });
      });
      await page.goto('http://app.test/');
      await page.waitForFunction(() => (window as any).result);
      expect(await page.evaluate(() => (window as any).result)).toMatchObject({ ok: true, segments: ['1001'] });
      expect(await page.evaluate(() => document.cookie)).toContain('segtag=seg=1001');
      expect(errors).toEqual([]);
    });
  });
});

describe('the segtag-server tarball, installed with the segtag tarball', () => {
  let project: string;
  let server: CliServer | undefined;
  const cli = () => join(project, 'node_modules/segtag-server/dist/cli.mjs');
  beforeAll(async () => {
    project = emptyProject('server');
    await npm(['install', tarballs.sdk, tarballs.server], project);
  }, 300_000);
  afterAll(async () => {
    if (server) await stopCli(server).catch(() => server!.child.kill('SIGKILL'));
  });

  it('answers --help through its bin', async () => {
    const { stdout } = await run(join(project, 'node_modules/.bin/segtag-server'), ['--help'], { cwd: project });
    expect(stdout).toMatch(/segtag-server/);
    expect(stdout).toMatch(/--store/);
  });

  it('starts on its default store, answers a call, serves the demo and the npm modules', async () => {
    const demo = (await run(process.execPath, [cli(), '--help'])).stdout.includes('--demo') ? ['--demo'] : [];
    server = await startCli(['--quiet', ...demo], { cli: cli(), cwd: project });
    expect(server.output()).toMatch(/store: sqlite/);
    const call = await fetch(server.url + '/v1/rtc', {
      method: 'POST',
      body: JSON.stringify({
        v: 1,
        site: 'demo',
        uid: 'visitor-0001',
        events: [
          { id: 'e1', type: 'page', ts: Date.now(), url: 'https://pub.example/', signals: { c_section: 'sports' } },
        ],
      }),
    });
    expect(call.status).toBe(200);
    expect((await call.json()).segments).toEqual(expect.any(Array));
    const demoPage = await fetch(server.url + '/');
    expect(demoPage.status).toBe(200);
    expect(await demoPage.text()).toContain('<script async src="/segtag.min.js"></script>');
    const script = await fetch(server.url + '/segtag.min.js');
    expect(script.status).toBe(200);
    const jsCookie = await fetch(server.url + '/lib/vendor/js-cookie.mjs');
    expect(jsCookie.status).toBe(200);
    expect(await jsCookie.text()).toContain('/*! js-cookie');
    const npmBuild = await fetch(server.url + '/segtag.mjs');
    expect(npmBuild.status).toBe(200);
  });
});
