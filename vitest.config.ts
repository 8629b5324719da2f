import { defineConfig } from 'vitest/config';

// `npm run test:unit`: the SDK's and the server's unit tests, from the sources (no build needed).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'segtag',
          include: ['test/**/*.test.ts'],
          exclude: ['test/dist/**'],
          environment: 'node',
          testTimeout: 20000,
        },
      },
      './server/vitest.config.ts',
    ],
  },
});
