/**
 * The built CLI as npm installs it in an app: node_modules/segtag-server (its `files`: dist/,
 * examples/) with its dependencies beside it, the segtag package beside it (here, this
 * repository), and without the optional ioredis. It finds the SDK's files (js-cookie is bundled in
 * them) and its own examples through module resolution, keeps profiles in the default SQLite store
 * under the working directory, and says what to install when asked for a Redis store.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CLI, startCli, stopCli } from './support/cli-process';
import { call, pageEvent, REPO_DIR, SERVER_DIR, type Json } from './support/server';

const app = mkdtempSync(join(tmpdir(), 'segtag-installed-'));
const installed = join(app, 'node_modules/segtag-server');
const cli = join(installed, 'dist/cli.mjs');
const work = join(app, 'work');

beforeAll(() => {
  mkdirSync(join(installed, 'dist'), { recursive: true });
  mkdirSync(work);
  copyFileSync(join(SERVER_DIR, 'package.json'), join(installed, 'package.json'));
  copyFileSync(CLI, cli);
  cpSync(join(SERVER_DIR, 'examples'), join(installed, 'examples'), { recursive: true });
  // The regular dependencies only (no ioredis), as links to this repository's copies.
  const { dependencies } = JSON.parse(readFileSync(join(SERVER_DIR, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  for (const name of Object.keys(dependencies)) {
    const link = join(app, 'node_modules', name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(name == 'segtag' ? REPO_DIR : join(REPO_DIR, 'node_modules', name), link, 'dir');
  }
});
afterAll(() => rmSync(app, { recursive: true, force: true }));

it('serves the demo and the SDK files (js-cookie bundled in them), and keeps profiles in the default SQLite store', async () => {
  const server = await startCli(['--log-level', 'silent', '--demo'], { cli, cwd: work });
  try {
    const db = join(work, '.data/segtag.db');
    expect(server.output()).toContain(`\nstore: sqlite:${db}\n`);
    expect(server.output()).toContain(
      `\nrules: ${join(installed, 'examples/segments.json')}: 3 traits, 5 segments, ttl 30 days\n`,
    );

    const res = await fetch(`${server.url}/v1/rtc`, {
      method: 'POST',
      body: JSON.stringify(call(undefined, [pageEvent({ c_section: 'sports' })])),
    });
    expect(((await res.json()) as Json).segments).toEqual(['1001', '1004']);
    expect(existsSync(db)).toBe(true);

    const served = {
      '/': join(installed, 'examples/demo.html'),
      '/segtag.min.js': join(REPO_DIR, 'dist/segtag.min.js'),
      '/stub.js': join(REPO_DIR, 'dist/stub.js'),
      '/segtag.mjs': join(REPO_DIR, 'dist/segtag.mjs'),
      '/protocol.mjs': join(REPO_DIR, 'dist/protocol.mjs'),
      '/lib/vendor/js-cookie.mjs': join(REPO_DIR, 'dist/lib/vendor/js-cookie.mjs'),
    };
    for (const [path, file] of Object.entries(served)) {
      const got = await fetch(`${server.url}${path}`);
      expect([path, got.status, await got.text()]).toEqual([path, 200, readFileSync(file, 'utf8')]);
    }
    // js-cookie itself is not served (nor needed: the SDK's builds bundle it).
    const old = await fetch(`${server.url}/node_modules/js-cookie/dist/js.cookie.mjs`);
    expect([old.status, await old.json()]).toEqual([404, { error: 'not found' }]);
  } finally {
    expect(await stopCli(server)).toBe(0);
  }
});

it('a Redis store without ioredis installed: exits 1 saying `npm install ioredis`', () => {
  const install =
    'the redis store needs the ioredis package, an optional dependency of segtag-server that is not installed here: npm install ioredis';
  const serve = spawnSync(
    process.execPath,
    [cli, '--port', '0', '--log-level', 'silent', '--store', 'redis://127.0.0.1:6379'],
    { cwd: work, encoding: 'utf8', timeout: 15_000 },
  );
  expect([serve.status, serve.stderr]).toEqual([1, `segtag-server: ${install}\n`]);
  const s2s = spawnSync(process.execPath, [cli, 's2s', 'run', 'p1', '--store', 'redis://127.0.0.1:6379'], {
    cwd: work,
    encoding: 'utf8',
    timeout: 15_000,
  });
  expect([s2s.status, s2s.stderr]).toEqual([1, `segtag-server s2s: ${install}\n`]);
});
