/**
 * `npm run build -w segtag-server`: the CLI as one ES module, dist/cli.mjs. Every bare import
 * stays an import (node: builtins, fastify, better-sqlite3, ioredis, and `segtag/protocol`,
 * which the installed segtag package answers with its dist/protocol.mjs); only the server's own
 * files are bundled. The TypeScript plugin only strips types: `tsc -b` at the root type-checks
 * everything once before the builds.
 */
import typescript from '@rollup/plugin-typescript';

const bare = (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0');

export default {
  input: 'src/cli.ts',
  external: bare,
  output: { file: 'dist/cli.mjs', format: 'es', sourcemap: true, banner: '#!/usr/bin/env node' },
  plugins: [
    typescript({
      tsconfig: './tsconfig.json',
      // Transpile only: no type check, no project-build outputs (declarations, .tsbuildinfo).
      noCheck: true,
      composite: false,
      incremental: false,
      declaration: false,
      declarationMap: false,
      emitDeclarationOnly: false,
      noEmit: false,
      outDir: 'dist',
    }),
  ],
};
