// Lint: typescript-eslint's recommended rules plus the layer boundaries of docs/architecture.md#processes:
// gateway and consumers never import each other, common imports neither.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const boundary = (forbidden) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: forbidden.map((dir) => ({
        group: [`**/${dir}/**`, `../${dir}/*`],
        message: `must not import from ${dir}/`,
      })),
    },
  ],
});

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.sluice/**', 'load-tests/k6/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  { files: ['gateway/**/*.ts'], rules: boundary(['consumers']) },
  { files: ['consumers/**/*.ts'], rules: boundary(['gateway']) },
  { files: ['common/**/*.ts', 'schemas/**/*.ts'], rules: boundary(['gateway', 'consumers', 'cli']) },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
