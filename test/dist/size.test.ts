import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundle, gzipSize, type Bundler } from './bundle';

/**
 * Size budgets, deterministic (gzip -9), after `npm run build`. The script tags' budgets are
 * caps set by the issues; see docs/performance.md for what each part costs.
 */
export const FILE_BUDGETS = {
  // The standard script tag: the call loop, delivery, consent, GPT, cookie formats
  // (issue #12's cap; js-cookie, which the stack mandates, is about 553 B of it).
  'dist/segtag.min.js': 5632,
  // Plus pixel syncs, cookie destinations and autoPage.
  'dist/segtag-sync.min.js': 6976,
  // Plus the Audience Manager (DCS) codec.
  'dist/segtag-aam.min.js': 7360,
  'src/stub.js': 200,
};

/**
 * What an app that imports only this pays, bundled and minified by its own bundler (issue #12):
 * every entry is side-effect free, so nothing else comes along.
 */
export const IMPORT_BUDGETS: [string, string, number][] = [
  ['createSegtag', `import { createSegtag } from 'segtag'; window.x = createSegtag;`, 5500],
  ['toOrtb2', `import { toOrtb2 } from 'segtag'; window.x = toOrtb2;`, 600],
  ['toAdServerParams', `import { toAdServerParams } from 'segtag'; window.x = toAdServerParams;`, 1000],
  ['segtag/cookie', `import { parseSegmentCookie } from 'segtag/cookie'; window.x = parseSegmentCookie;`, 800],
];

describe('script-tag size budgets (gzip -9)', () => {
  for (const [path, budget] of Object.entries(FILE_BUDGETS)) {
    it(`${path} stays within ${budget} bytes`, () => {
      const size = gzipSize(readFileSync(path));
      console.log(`${path}: ${size} B gzip (budget ${budget})`);
      expect(size).toBeLessThanOrEqual(budget);
    });
  }

  it('the README shows exactly the tested stub', () => {
    const stub = readFileSync('src/stub.js', 'utf8').trim();
    expect(readFileSync('README.md', 'utf8')).toContain(`<script>${stub}</script>`);
  });
});

describe('per-import size budgets: a tiny app bundled with rollup and with esbuild (gzip -9)', () => {
  for (const bundler of ['rollup', 'esbuild'] as Bundler[]) {
    for (const [name, source, budget] of IMPORT_BUDGETS) {
      it(`${bundler}: ${name} alone stays within ${budget} bytes`, async () => {
        const size = gzipSize(await bundle(source, bundler));
        console.log(`${bundler} ${name}: ${size} B gzip (budget ${budget})`);
        expect(size).toBeLessThanOrEqual(budget);
      });
    }
  }

  it('importing only toOrtb2 brings neither the call loop nor js-cookie', async () => {
    for (const bundler of ['rollup', 'esbuild'] as Bundler[]) {
      const code = await bundle(IMPORT_BUDGETS[1][1], bundler);
      expect(code).not.toMatch(/segtag_uid|document\.cookie|localStorage/);
    }
  });
});
