// Keeps the layering of docs/style.md: protocol <- model/tools/workspace/policy <- agent <- store/... <- server/cli.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layer = (dir, forbidden, extra = []) => ({
  files: [`src/${dir}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...forbidden.map((f) => ({
            group: [`**/${f}/*`, `../${f}`, `../../${f}`],
            message: `src/${dir} may not import from src/${f} (see the layering in README "Architecture").`,
          })),
          ...extra,
        ],
      },
    ],
  },
});

const drivers = [
  { group: ['better-sqlite3', 'kysely', 'pg', 'graphile-worker'], message: 'Only src/store imports a database driver.' },
  { group: ['hono', 'hono/*'], message: 'Only src/server imports hono.' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'examples/**', 'bench/results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', performance: 'readonly', Buffer: 'readonly', setImmediate: 'readonly' } },
  },
  {
    // The bin is CommonJS (bin/package.json): Node starts it faster than an ES module.
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', __dirname: 'readonly', __filename: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  layer('protocol', ['model', 'tools', 'workspace', 'policy', 'agent', 'store', 'cli', 'server'], drivers),
  layer('model', ['tools', 'workspace', 'policy', 'agent', 'store', 'cli', 'server'], drivers),
  layer('tools', ['model', 'policy', 'agent', 'store', 'cli', 'server'], drivers),
  layer('workspace', ['model', 'tools', 'policy', 'agent', 'store', 'cli', 'server'], drivers),
  layer('policy', ['model', 'tools', 'workspace', 'agent', 'store', 'cli', 'server'], drivers),
  layer('agent', ['store', 'cli', 'server'], drivers),
  layer('store', ['agent', 'cli', 'server', 'model', 'tools', 'workspace']),
  layer('eval', ['cli', 'server'], drivers),
);
