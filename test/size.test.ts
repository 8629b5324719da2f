import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

/**
 * Size budgets, deterministic (gzip -9 of the built files). `npm test` builds first.
 * The script tag's budget grows with features but never above 5120 bytes.
 */
export const BUDGETS = {
  // Consent (TCF, GPP, GPC readers and the gate) took it from 3601 to about 4550.
  'dist/segtag.min.js': 4608,
  'src/stub.js': 200,
};

const gzipped = (path: string) => gzipSync(readFileSync(path), { level: 9 }).length;

describe('size budgets (gzip -9)', () => {
  for (const [path, budget] of Object.entries(BUDGETS)) {
    it(`${path} stays within ${budget} bytes`, () => {
      const size = gzipped(path);
      console.log(`${path}: ${size} B gzip (budget ${budget})`);
      expect(size).toBeLessThanOrEqual(budget);
    });
  }

  it('the README shows exactly the tested stub', () => {
    const stub = readFileSync('src/stub.js', 'utf8').trim();
    expect(readFileSync('README.md', 'utf8')).toContain(`<script>${stub}</script>`);
  });
});
