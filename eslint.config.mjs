// ESLint (flat config): typescript-eslint's recommended rules on every TypeScript and JavaScript
// file; formatting is Prettier's (`npm run format`), so eslint-config-prettier turns off the
// rules it owns. Layering (what may import what) is the compiler's job: see tsconfig.json.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'server/dist/',
      '.tsbuild/',
      'node_modules/',
      'test-results/',
      'playwright-report/',
      'bench/.cache/',
      '.tmp/',
      '.data/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      // `_`-prefixed parameters are deliberately unused (a callback's position); `_`-prefixed
      // properties are internal and mangled by the build.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Untrusted JSON and host APIs (CMPs, GPT, Prebid) are handled as `any` at the edges, then checked.
      '@typescript-eslint/no-explicit-any': 'off',
      // `catch {}` around host APIs that may throw is deliberate: nothing is thrown into the page.
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  { files: ['src/**/*.{ts,js}'], languageOptions: { globals: globals.browser } },
  {
    files: ['server/**/*.{ts,mjs}', 'scripts/**', 'bench/**', 'e2e/**', 'test/**', '*.config.*', '**/*.config.*'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
);
