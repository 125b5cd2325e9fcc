import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'build/**',
      '.vercel/**',
      'dist/**',
      'public/build/**',
      'node_modules/**',
      '.data/**',
      'scratch/**',
      'test-results/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Only the env modules may read process.env.
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration through app/server/env.server.ts or worker/env.ts.',
        },
      ],
    },
  },
  {
    files: [
      'app/server/env.server.ts',
      'worker/main.ts',
      'test/**',
      '**/*.test.ts',
      '**/*.test.tsx',
      'vitest.config.ts',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // Tests read loosely typed JSON answers.
    files: ['test/**', '**/*.test.ts', '**/*.test.tsx'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The domain is shared with the browser and the edge: no Node, no I/O, nothing of ours.
    files: ['app/domain/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['node:*', '~/server/*', '../server/*', 'pg', '@electric-sql/*'] },
      ],
    },
  },
  {
    // The input rule: routes read forms and query strings through the helpers that refuse
    // NUL and unpaired surrogates with a 400 (app/server/http.server.ts).
    files: ['app/routes/**'],
    ignores: ['**/*.test.ts', '**/*.test.tsx'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='request'][callee.property.name='formData']",
          message: 'Read forms with readForm(request) from ~/server/http.server (the input rule).',
        },
        {
          selector: "MemberExpression[object.type='NewExpression'][property.name='searchParams']",
          message: 'Read query strings with readSearchParams(request) from ~/server/http.server (the input rule).',
        },
      ],
    },
  },
);
