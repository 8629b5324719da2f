// @vitest-environment happy-dom
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parseAst } from 'rollup/parseAst';
import { jsCookieWriteOnly } from '../scripts/js-cookie-write-only.mjs';

/**
 * The build step that drops the js-cookie methods segtag never calls from the copy it bundles
 * (scripts/js-cookie-write-only.mjs). What is left must still write and remove cookies, and a
 * js-cookie whose code has another shape must stop the build.
 */
const file = createRequire(import.meta.url)
  .resolve('js-cookie')
  .replace(/js\.cookie\.js$/, 'js.cookie.mjs');
const source = readFileSync(file, 'utf8');
const context = {
  parse: (code: string) => parseAst(code),
  error: (message: string) => {
    throw new Error(message);
  },
};
const transform = (code: string, id = file) =>
  (jsCookieWriteOnly().transform as (code: string, id: string) => { code: string } | null).call(context, code, id);

/** The transformed module's default export, evaluated. */
async function load(code: string) {
  const url = 'data:text/javascript;base64,' + Buffer.from(code).toString('base64');
  return (await import(/* @vite-ignore */ url)).default;
}

describe('js-cookie-write-only (build plugin)', () => {
  it('leaves set, remove and the converter, and drops get, withAttributes and withConverter', async () => {
    const api = await load(transform(source)!.code);
    expect(Object.keys(Object.getPrototypeOf(api)).sort()).toEqual(['remove', 'set']);
    expect(api.converter.write('a,b')).toBe('a%2Cb');
    expect(api.converter.read('a%2Cb')).toBe('a,b');
    api.set('segtag_test', 'seg=1,2', { expires: 1 });
    expect(document.cookie).toContain('segtag_test=seg=1%2C2');
    api.remove('segtag_test');
    expect(document.cookie).not.toContain('segtag_test');
  });

  it('stops the build when js-cookie has another shape', () => {
    expect(() => transform(source.replace('withConverter:', 'withConverters:'))).toThrow(/unexpected js-cookie code/);
    expect(() => transform('export default {};')).toThrow(/unexpected js-cookie code/);
  });

  it('touches no other module', () => {
    expect(transform(source, '/repo/src/browser/cookie-jar.ts')).toBeNull();
  });
});
