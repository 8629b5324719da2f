/**
 * Where the server finds its own examples and the SDK's files: through Node's module resolution,
 * so wherever npm put the segtag package. The SDK's files are its dist/ folder only: the builds
 * bundle js-cookie, so it is not looked for.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEMO_PAGE, EXAMPLE_RULES, findSdkFiles, PACKAGE_DIR } from '../src/paths';
import { REPO_DIR, SERVER_DIR } from './support/server';

const tmp = mkdtempSync(join(tmpdir(), 'segtag-paths-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes `node_modules/<name>/package.json` under `dir`, exporting its package.json as segtag does. */
function fakePackage(dir: string, name: string) {
  const file = join(dir, 'node_modules', name, 'package.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ name, exports: { './package.json': './package.json' } }));
  return dirname(file);
}

describe('the package', () => {
  it('its directory holds the example rules and the demo page', () => {
    expect(PACKAGE_DIR).toBe(SERVER_DIR);
    expect(existsSync(EXAMPLE_RULES)).toBe(true);
    expect(existsSync(DEMO_PAGE)).toBe(true);
  });
});

describe('findSdkFiles', () => {
  it('in the repository: the root package is segtag', () => {
    expect(findSdkFiles()).toEqual({ distDir: join(REPO_DIR, 'dist') });
  });

  it('installed (a module URL): segtag next to the server, no js-cookie needed', () => {
    const root = join(tmp, 'installed');
    const segtag = fakePackage(root, 'segtag');
    const cli = pathToFileURL(join(root, 'node_modules/segtag-server/dist/cli.mjs')).href;
    expect(findSdkFiles(cli)).toEqual({ distDir: join(segtag, 'dist') });
  });

  it('installed, a js-cookie package beside segtag or in it: still only dist/', () => {
    const root = join(tmp, 'with-js-cookie');
    const segtag = fakePackage(root, 'segtag');
    fakePackage(root, 'js-cookie');
    fakePackage(segtag, 'js-cookie');
    const cli = join(root, 'node_modules/segtag-server/dist/cli.mjs');
    expect(findSdkFiles(cli)).toEqual({ distDir: join(segtag, 'dist') });
  });

  it('without segtag: not found, no error', () => {
    const root = join(tmp, 'bare');
    expect(findSdkFiles(join(root, 'cli.mjs'))).toEqual({});
    const segtag = fakePackage(root, 'segtag');
    expect(findSdkFiles(join(root, 'cli.mjs'))).toEqual({ distDir: join(segtag, 'dist') });
  });
});
