import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';

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
  {
    // Layers without cycles (ARCHITECTURE.md "Layers"): an import cycle anywhere in the server fails
    // the lint, and so `npm run build`. Imports are written `./x.js` for `./x.ts`.
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'], extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // Schema modules are leaves the web app imports (`@server/…`): TypeBox and other schema modules only.
    files: ['src/**/*.schemas.ts', 'src/campaigns/problem-wording.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!@sinclair/typebox$)(?!.*[./]schemas\\.js$)', message: 'A *.schemas.ts module imports only @sinclair/typebox and other *.schemas.ts modules (no database, no node:, no domain code), so the web app can import it.' }] }],
    },
  },
  {
    // Routes declare no shapes (issue 14 item 3): every body, query, params and response schema lives
    // in a leaf `*.schemas.ts` module, which the web app imports. A route file may build no TypeBox
    // schema except `Type.Null()` for a 204 (http/schemas.ts `NoContent` is preferred).
    files: ['src/**/*.routes.ts', 'src/**/routes.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Type'][callee.property.name!='Null']",
          message: 'Declare request and response shapes in the domain\'s leaf *.schemas.ts module (the web app imports them), not in a route file.',
        },
        {
          selector: "CallExpression[callee.name=/^(LiteralUnion|Nullable)$/]",
          message: 'Declare request and response shapes in the domain\'s leaf *.schemas.ts module (the web app imports them), not in a route file.',
        },
      ],
    },
  },
);
