import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { bundle } from './bundle';

// `segtag/cookie` as servers and edge functions load it: from the built package.
describe('segtag/cookie, built', () => {
  it('is a package subpath with its types', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    expect(Object.keys(pkg.exports['./cookie'])).toEqual(['types', 'import']);
    // As a consumer imports it (resolved through node_modules/segtag, this package): after the build.
    const mod = await import('segtag/cookie' as string);
    expect(mod.parseSegmentCookie('segtag=seg=9')).toEqual({ seg: ['9'] });
  });

  it('bundled, brings no js-cookie and touches no browser global', async () => {
    const code = await bundle(`export { parseSegmentCookie } from 'segtag/cookie';`, 'esbuild');
    expect(code).toContain('parseSegmentCookie');
    expect(code).not.toMatch(/\bimport\b|\brequire\(|document\.cookie|converter/);
    expect(code).not.toMatch(/\b(window|document|navigator|location|localStorage|globalThis|self)\b/);
  });

  it('runs in a bare JavaScript context, like an edge runtime without DOM or Node APIs', async () => {
    const code = await bundle(
      `import { parseSegmentCookie } from 'segtag/cookie'; globalThis.result = parseSegmentCookie(globalThis.header, { key: 'seg' });`,
      'rollup',
      'iife',
    );
    const context: Record<string, unknown> = { header: 'a=1; segtag=seg=1001%2C1004' };
    runInNewContext(code, context);
    expect(JSON.parse(JSON.stringify(context.result))).toEqual({ seg: ['1001', '1004'] });
  });
});
