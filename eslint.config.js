import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      // Only the composition root and config read the environment.
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through src/config.ts' }],
    },
  },
  {
    files: ['src/config.ts', 'src/server.ts', 'src/cli/**', 'test/**', 'bench/**', 'load/**', 'scripts/**', 'deploy/**', '**/*.test.ts', 'vitest*.ts'],
    rules: { 'no-restricted-properties': 'off', 'no-console': 'off' },
  },
  { files: ['web/**'], languageOptions: { globals: { ...globals.browser } } },
);
