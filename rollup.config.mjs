import typescript from '@rollup/plugin-typescript';
import terser from '@rollup/plugin-terser';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { dts } from 'rollup-plugin-dts';
import { readFileSync } from 'node:fs';
import { jsCookieWriteOnly } from './scripts/js-cookie-write-only.mjs';

// The browser SDK's build. Type checking is done once, before this runs, by `tsc -b` over the
// project references (see tsconfig.json); here TypeScript only strips types (`noCheck`).
// The server package builds itself (server/rollup.config.mjs).

/** The npm entries: `segtag` and its subpaths (package.json "exports"), each side-effect free. */
const entries = {
  segtag: 'src/index.ts',
  dcs: 'src/dcs.ts',
  destinations: 'src/destinations.ts',
  'auto-page': 'src/auto-page.ts',
  gpt: 'src/gpt.ts',
  prebid: 'src/prebid.ts',
  'ad-server': 'src/ad-server.ts',
  cookie: 'src/cookie.ts',
  protocol: 'src/protocol/index.ts',
};

const ts = () =>
  typescript({
    tsconfig: './tsconfig.base.json',
    include: ['src/**/*.ts'],
    compilerOptions: {
      lib: ['ES2022', 'DOM', 'DOM.Iterable'],
      types: [],
      composite: false,
      declaration: false,
      emitDeclarationOnly: false,
      noEmit: false,
      noCheck: true,
      noEmitOnError: true,
    },
  });

// The command-queue stub publishers paste, shipped as-is next to the library.
const copyStub = {
  name: 'copy-stub',
  generateBundle() {
    this.emitFile({ type: 'asset', fileName: 'stub.js', source: readFileSync('src/stub.js', 'utf8') });
  },
};

/**
 * Internal properties are written `_name` in the source and mangled here (names with two
 * leading underscores, such as the CMPs' `__tcfapi`, are the page's and stay). One name cache
 * for all the chunks of a build, so that a property keeps one short name across files. It
 * starts with the queue's in-memory fields named like their stored keys (src/core/queue.ts
 * maps one form to the other explicitly; with the same letters, the two mappings compress to
 * almost nothing). Correctness never depends on these names.
 */
const nameCache = () => ({ props: { props: { $_event: 'e', $_owner: 'o', $_leaseEnd: 'x', $_verifyAt: 'v' } } });

/** `comments`: the comments kept (the npm build keeps `/*!` license comments). */
const terse = (comments = false, cache = nameCache()) =>
  terser({
    ecma: 2020,
    // pure_getters: reading a property has no side effect segtag relies on.
    // inline: 1 keeps single-use functions (the queue's named steps) as functions instead of
    // wrapping them in IIFEs where they are called.
    compress: { passes: 7, inline: 1, unsafe_arrows: true, unsafe_methods: true, pure_getters: true },
    mangle: { toplevel: true, properties: { regex: /^_[^_]/ } },
    format: { comments },
    nameCache: cache,
  });

/** Script tag: one self-contained minified IIFE that defines window.segtag. */
const scriptTag = (input, file, extra = []) => ({
  input,
  // No "use strict" prologue (`strict: false`) and no `//# sourceMappingURL` line (the map is
  // written next to the file, `hidden`): bytes every page downloads. The code does not depend on
  // what strict mode changes; a developer loads the map by hand (docs/api.md).
  output: { file, format: 'iife', sourcemap: 'hidden', strict: false },
  plugins: [nodeResolve({ browser: true }), jsCookieWriteOnly(), ts(), terse(), ...extra],
});

export default [
  // npm: ES modules, minified with mangled internals like the script tags. js-cookie is bundled
  // (lib/vendor/js-cookie.mjs, its license comment kept) without the methods segtag never calls:
  // an app's bundler could not drop them from js-cookie's API object (scripts/js-cookie-write-only.mjs).
  {
    input: entries,
    // One file per module, so that an app's bundler can leave out every module the app's imports
    // do not reach: js-cookie, for one, is imported by the cookie jar alone.
    output: {
      dir: 'dist',
      format: 'es',
      sourcemap: true,
      preserveModules: true,
      preserveModulesRoot: 'src',
      entryFileNames: ({ isEntry, name }) =>
        isEntry ? '[name].mjs' : /node_modules\/js-cookie\//.test(name) ? 'lib/vendor/js-cookie.mjs' : 'lib/[name].mjs',
    },
    plugins: [nodeResolve({ browser: true }), jsCookieWriteOnly(), ts(), terse(/^!/)],
  },
  scriptTag('src/script-tag.ts', 'dist/segtag.min.js', [copyStub]),
  scriptTag('src/script-tag-sync.ts', 'dist/segtag-sync.min.js'),
  scriptTag('src/script-tag-aam.ts', 'dist/segtag-aam.min.js'),
  // Public types, bundled from the declarations `tsc -b` wrote to .tsbuild/.
  {
    input: Object.fromEntries(
      Object.entries(entries).map(([name, file]) => [name, file.replace(/^src\/(.*)\.ts$/, '.tsbuild/src/$1.d.ts')]),
    ),
    external: ['js-cookie'],
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].d.ts', chunkFileNames: 'chunks/[name]-[hash].d.ts' },
    plugins: [dts()],
  },
];
