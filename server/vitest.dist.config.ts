/**
 * The tests that run the built CLI (server/dist/cli.mjs) as a child process: after
 * `npm run build -w segtag-server`, `npx vitest run --config server/vitest.dist.config.ts`.
 */
import { defineConfig } from 'vitest/config';
import { alias, DIST_TESTS, root } from './vitest.config.ts';

export default defineConfig({
  root,
  // The tests themselves still import a few sources (to prepare a store).
  resolve: { alias },
  test: {
    name: 'server-dist',
    include: DIST_TESTS,
    environment: 'node',
    testTimeout: 60_000,
  },
});
