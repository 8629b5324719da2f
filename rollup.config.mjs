import typescript from '@rollup/plugin-typescript';
import terser from '@rollup/plugin-terser';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { dts } from 'rollup-plugin-dts';
import { readFileSync } from 'node:fs';

// One TypeScript pass per bundle, over the files that bundle can reach; type errors fail the build.
const ts = (exclude = ['src/server/**']) =>
  typescript({ tsconfig: './tsconfig.json', include: ['src/**/*.ts'], exclude, noEmit: false, noEmitOnError: true });

// The command-queue stub publishers paste, shipped as-is next to the library.
const copyStub = {
  name: 'copy-stub',
  generateBundle() {
    this.emitFile({ type: 'asset', fileName: 'stub.js', source: readFileSync('src/stub.js', 'utf8') });
  },
};

const terse = () =>
  terser({
    ecma: 2020,
    compress: { passes: 3, unsafe_arrows: true },
    mangle: { toplevel: true },
    format: { comments: false },
  });

export default [
  // npm: ES module, js-cookie stays a dependency for the app's bundler to resolve and dedupe.
  {
    input: 'src/index.ts',
    external: ['js-cookie'],
    output: { file: 'dist/segtag.mjs', format: 'es', sourcemap: true },
    plugins: [ts()],
  },
  // Script tag: one self-contained minified IIFE that defines window.segtag. No "use strict"
  // prologue (`strict: false`): it is bytes every page downloads, and the code does not depend on
  // what strict mode changes (no `this` in plain calls, no strict-mode throw used as a signal).
  {
    input: 'src/script-tag.ts',
    output: { file: 'dist/segtag.min.js', format: 'iife', sourcemap: true, strict: false },
    plugins: [nodeResolve({ browser: true }), ts(), terse(), copyStub],
  },
  // Script tag with pixel syncs and cookie destinations.
  {
    input: 'src/script-tag-sync.ts',
    output: { file: 'dist/segtag-sync.min.js', format: 'iife', sourcemap: true, strict: false },
    plugins: [nodeResolve({ browser: true }), ts(), terse()],
  },
  // Script tag with destinations that also speaks Audience Manager's /event format (`protocol: 'dcs'`).
  {
    input: 'src/script-tag-aam.ts',
    output: { file: 'dist/segtag-aam.min.js', format: 'iife', sourcemap: true, strict: false },
    plugins: [nodeResolve({ browser: true }), ts(), terse()],
  },
  {
    input: 'src/index.ts',
    external: ['js-cookie'],
    output: { file: 'dist/segtag.d.ts', format: 'es' },
    plugins: [dts()],
  },
  // segtag/cookie: the segment cookie parser for servers (Node, edge runtimes). DOM-free and
  // self-contained: it imports no js-cookie and touches no global.
  {
    input: 'src/cookie.ts',
    output: { file: 'dist/cookie.mjs', format: 'es', sourcemap: true },
    plugins: [ts()],
  },
  {
    input: 'src/cookie.ts',
    output: { file: 'dist/cookie.d.ts', format: 'es' },
    plugins: [dts()],
  },
  // The decisioning server and its CLI, for Node; dependencies stay external.
  {
    input: 'src/server/cli.ts',
    external: (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0'),
    output: { file: 'dist/server/cli.mjs', format: 'es', sourcemap: true, banner: '#!/usr/bin/env node' },
    plugins: [ts([])],
  },
];
