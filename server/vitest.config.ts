/**
 * The server's unit tests: `npx vitest run --config server/vitest.config.ts` (or a project of the
 * root config). They run the TypeScript sources; the tests that run the built CLI are in
 * vitest.dist.config.ts, for after `npm run build -w segtag-server`.
 */
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

/** The tests that spawn server/dist/cli.mjs (users of test/support/cli-process.ts). */
export const DIST_TESTS = [
  'test/s2s-kill.test.ts',
  'test/installed.test.ts',
  'test/s2s-scaleout.test.ts',
  'test/s2s-redis-restart.test.ts',
  'test/drain.test.ts',
  'test/surface-cli.test.ts',
];

export const root = fileURLToPath(new URL('.', import.meta.url));

/** The sources import the protocol as the package subpath: point it at its source, as tsconfig.json's `paths` does. */
export const alias = [
  { find: /^segtag\/protocol$/, replacement: fileURLToPath(new URL('../src/protocol/index.ts', import.meta.url)) },
];

export default defineConfig({
  root,
  resolve: { alias },
  test: {
    name: 'server',
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...DIST_TESTS],
    environment: 'node',
    testTimeout: 20_000,
  },
});
