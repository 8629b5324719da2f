/**
 * Bundles a tiny app the way a publisher's build would, from the BUILT package as npm resolves
 * it (`segtag` is node_modules/segtag, this repository): with rollup (node-resolve + terser)
 * and with esbuild (--bundle --minify), both as ES modules. License comments are left out of
 * both (esbuild `legalComments: 'none'`, terser `comments: false`): they are js-cookie's, not
 * code, and where they go is the app's choice. esbuild's default adds a license block of about
 * 70 B gzip at the end of the bundle.
 */
import { build } from 'esbuild';
import { rollup } from 'rollup';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import { gzipSync } from 'node:zlib';

export type Bundler = 'rollup' | 'esbuild';

const virtual = (source: string) => ({
  name: 'virtual-app',
  resolveId: (id: string) => (id == 'app' ? id : null),
  load: (id: string) => (id == 'app' ? source : null),
});

export async function bundle(source: string, bundler: Bundler, format: 'es' | 'iife' = 'es'): Promise<string> {
  if (bundler == 'esbuild') {
    const result = await build({
      stdin: { contents: source, resolveDir: process.cwd(), loader: 'js' },
      bundle: true,
      minify: true,
      format: format == 'es' ? 'esm' : 'iife',
      platform: 'browser',
      target: 'es2020',
      write: false,
      logLevel: 'silent',
      legalComments: 'none',
    });
    return result.outputFiles[0].text;
  }
  const b = await rollup({
    input: 'app',
    plugins: [virtual(source), nodeResolve({ browser: true })],
    onwarn: () => {},
  });
  const plugins = [
    terser({ ecma: 2020, compress: { passes: 2 }, mangle: { toplevel: true }, format: { comments: false } }),
  ];
  const { output } = await b.generate({ format, plugins });
  await b.close();
  return output.map((chunk) => ('code' in chunk ? chunk.code : '')).join('');
}

export const gzipSize = (code: string | Buffer) => gzipSync(code, { level: 9 }).length;
