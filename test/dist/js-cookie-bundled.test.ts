import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * js-cookie as the builds carry it (after `npm run build`): bundled, with only what segtag calls
 * (scripts/js-cookie-write-only.mjs), its license comment kept in the npm build's copy, and no
 * module of the npm build importing the js-cookie package (segtag has no dependencies).
 */
const dist = (...path: string[]) => join('dist', ...path);
const modules = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? modules(join(dir, e.name)) : e.name.endsWith('.mjs') ? [join(dir, e.name)] : [],
  );
// js-cookie's reader (its `get`) and the two methods that make new instances.
const DROPPED = /withAttributes|withConverter|document\.cookie\?document\.cookie\.split/;

describe('js-cookie in the builds', () => {
  for (const file of ['segtag.min.js', 'segtag-sync.min.js', 'segtag-aam.min.js']) {
    it(`${file} carries js-cookie's writer and not its reader`, () => {
      const code = readFileSync(dist(file), 'utf8');
      expect(code).toMatch(/\.toUTCString\(\)/); // js-cookie's `set`
      expect(code).not.toMatch(DROPPED);
    });
  }

  it('the npm build has one copy, lib/vendor/js-cookie.mjs, with its license comment', () => {
    const vendor = readFileSync(dist('lib/vendor/js-cookie.mjs'), 'utf8');
    expect(vendor).toMatch(/^\/\*! js-cookie v3\.0\.8 \| MIT \*\//);
    expect(vendor).not.toMatch(DROPPED);
    for (const file of modules('dist'))
      expect(readFileSync(file, 'utf8'), file).not.toMatch(/from\s*["']js-cookie["']/);
  });

  it('the package has no runtime dependencies', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    expect(pkg.dependencies ?? {}).toEqual({});
  });
});
