/**
 * Type-level checks, compiled with the TypeScript compiler:
 * - the real GPT types (@types/google-publisher-tag) and Prebid.js's own types fit segtag's
 *   GoogletagLike, GptTargetable and PbjsLike;
 * - the published .d.ts files compile for a consumer that has no @types/google-publisher-tag.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

// Inside the project, so the fixtures resolve packages from its node_modules.
mkdirSync('node_modules/.cache', { recursive: true });
const dir = mkdtempSync(resolve('node_modules/.cache/segtag-types-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Compiles the sources as one program; returns the error messages. */
function diagnostics(sources: string[], options: ts.CompilerOptions) {
  const files = sources.map((source, i) => {
    const file = join(dir, `t${Math.random().toString(36).slice(2)}${i}.ts`);
    writeFileSync(file, source);
    return file;
  });
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    ...options,
  });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

const src = JSON.stringify(resolve('src/index.ts').replace(/\.ts$/, ''));

describe('public types', () => {
  it(
    "the real googletag, googletag.Slot and Prebid.js's pbjs fit applyGpt and applyPrebid",
    { timeout: 90_000 },
    () => {
      const errors = diagnostics(
        [
          `/// <reference types="google-publisher-tag" />
        import { applyGpt, type GoogletagLike, type GptTargetable } from ${src};
        const g: GoogletagLike = googletag;
        declare const slot: googletag.Slot;
        const s: GptTargetable = slot;
        applyGpt({ seg: ['1'] }, googletag, { slots: [slot, s], refresh: true });
        applyGpt({ seg: ['1'] }, g);
        // and a mistake is caught
        // @ts-expect-error slots are GPT slots, not ad unit paths
        applyGpt({ seg: ['1'] }, googletag, { slots: ['/1234/top'] });`,
          `import type {} from 'prebid.js';
        import type {} from 'prebid.js/global.d.ts';
        import { applyPrebid, createSegtag, type PbjsLike } from ${src};
        const p: PbjsLike = pbjs;
        void applyPrebid(createSegtag({ endpoint: '/rtc', site: 's' }), pbjs, { name: 'example.com' });
        void p;`,
        ],
        {
          typeRoots: [resolve('node_modules/@types')],
          types: [],
          skipLibCheck: true,
          allowImportingTsExtensions: true,
        },
      );
      expect(errors).toEqual([]);
    },
  );

  it("every entry's published .d.ts compiles without @types/google-publisher-tag", { timeout: 90_000 }, () => {
    const errors = diagnostics(
      [
        `import { applyGpt, applyPrebid, toAdServerParams, toOrtb2, createSegtag, type Targeting } from ${JSON.stringify(resolve('dist/segtag'))};
        import { parseSegmentCookie } from ${JSON.stringify(resolve('dist/cookie'))};
        import { destinations } from ${JSON.stringify(resolve('dist/destinations'))};
        import { autoPage } from ${JSON.stringify(resolve('dist/auto-page'))};
        import { dcs } from ${JSON.stringify(resolve('dist/dcs'))};
        import { toOrtb2 as ortb2 } from ${JSON.stringify(resolve('dist/prebid'))};
        import { gamTargeting } from ${JSON.stringify(resolve('dist/gpt'))};
        import { toAdServerParams as params } from ${JSON.stringify(resolve('dist/ad-server'))};
        import { SEGMENT_ID, type CallRequest } from ${JSON.stringify(resolve('dist/protocol'))};
        const t: Targeting = parseSegmentCookie('segtag=seg=1', { format: 'single' });
        const tag = createSegtag({ endpoint: '/rtc', site: 's', protocol: 'dcs', autoPage: true }, { dcs, destinations, autoPage });
        tag.onDestinations?.((o) => o.status);
        // @ts-expect-error a feature is passed as imported, not by name
        createSegtag({ endpoint: '/rtc', site: 's' }, { dcs: 'dcs' });
        const r: CallRequest | undefined = undefined;
        void [ortb2, gamTargeting, params, SEGMENT_ID.test('1'), r];
        applyGpt(t);
        void applyPrebid(tag, undefined, { name: 'example.com', ms: 300 });
        const q: string = toAdServerParams(t, { style: 'gam' });
        const o = toOrtb2(t, { name: 'example.com', segtax: 4 });
        void [q, o];`,
      ],
      // no @types at all: a consumer without GPT's types
      { typeRoots: [], types: [], skipLibCheck: false },
    );
    expect(errors).toEqual([]);
  });
});
