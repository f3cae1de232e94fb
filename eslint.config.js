// Lint: typescript-eslint's recommended rules (syntax-based, not type-checked, so `npm run lint`
// stays fast on a small CI box; `tsc` already does the type checking).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'reports/**', 'coverage/**', '.tap/**', 'bench/out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        // Node 20 globals used by the code and tests (no browser code here).
        process: 'readonly', Buffer: 'readonly', console: 'readonly', URL: 'readonly',
        setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly',
        setImmediate: 'readonly', clearImmediate: 'readonly', queueMicrotask: 'readonly',
        performance: 'readonly', structuredClone: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly',
        TextEncoder: 'readonly', TextDecoder: 'readonly', fetch: 'readonly', crypto: 'readonly',
        __dirname: 'readonly', module: 'writable', require: 'readonly',
      },
    },
    rules: {
      // `_name` marks a parameter kept for its position in a callback signature.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests poke at decoded wire documents and JSON bodies whose shape is the thing under test.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
