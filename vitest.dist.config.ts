import { defineConfig } from 'vitest/config';

// `npm run test:dist`, after `npm run build`: what needs the built packages (size budgets,
// published types, the packed tarballs, the server CLI as a process).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'segtag-dist',
          include: ['test/dist/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120000,
        },
      },
      './server/vitest.dist.config.ts',
    ],
  },
});
