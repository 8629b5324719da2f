import typescript from '@rollup/plugin-typescript';
import terser from '@rollup/plugin-terser';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { dts } from 'rollup-plugin-dts';

// One TypeScript pass per bundle, over the files that bundle can reach; type errors fail the build.
const ts = (exclude = ['src/server/**']) =>
  typescript({ tsconfig: './tsconfig.json', include: ['src/**/*.ts'], exclude, noEmit: false, noEmitOnError: true });

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
  // Script tag: one self-contained minified IIFE that defines window.segtag.
  {
    input: 'src/script-tag.ts',
    output: { file: 'dist/segtag.min.js', format: 'iife', sourcemap: true },
    plugins: [nodeResolve({ browser: true }), ts(), terse()],
  },
  // Script tag that also speaks Audience Manager's /event format (`protocol: 'dcs'`).
  {
    input: 'src/script-tag-aam.ts',
    output: { file: 'dist/segtag-aam.min.js', format: 'iife', sourcemap: true },
    plugins: [nodeResolve({ browser: true }), ts(), terse()],
  },
  {
    input: 'src/index.ts',
    external: ['js-cookie'],
    output: { file: 'dist/segtag.d.ts', format: 'es' },
    plugins: [dts()],
  },
  // The decisioning server and its CLI, for Node; dependencies stay external.
  {
    input: 'src/server/cli.ts',
    external: (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0'),
    output: { file: 'dist/server/cli.mjs', format: 'es', sourcemap: true },
    plugins: [ts([])],
  },
];
