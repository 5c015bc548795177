// Lint: typescript-eslint's recommended rules plus the boundaries of docs/architecture.md:
// gateway and consumers never import each other, common imports neither, and common/kafka/ is the
// one door to Kafka: only its own files import kafkajs, every other file imports its index.js.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const kafkajsMessage =
  'only common/kafka/ imports kafkajs: take the client, its types and helpers from common/kafka/index.js';
const kafkaDoorMessage = 'import common/kafka/ through its door, common/kafka/index.js';

/** Import restrictions for a file outside common/kafka/, which must not import from `forbidden` folders either. */
const restrictedImports = (forbidden = []) => ({
  'no-restricted-imports': [
    'error',
    {
      paths: [{ name: 'kafkajs', message: kafkajsMessage }],
      patterns: [
        { group: ['kafkajs/*'], message: kafkajsMessage },
        { group: ['**/kafka/*', '!**/kafka/index.js'], message: kafkaDoorMessage },
        ...forbidden.map((dir) => ({
          group: [`**/${dir}/**`, `../${dir}/*`],
          message: `must not import from ${dir}/`,
        })),
      ],
    },
  ],
  // What no-restricted-imports does not see: require() and import() (import('…') types are
  // forbidden anyway, by consistent-type-imports).
  'no-restricted-syntax': [
    'error',
    {
      selector: "CallExpression[callee.name='require'][arguments.0.value=/^kafkajs/]",
      message: kafkajsMessage,
    },
    { selector: 'ImportExpression[source.value=/^kafkajs/]', message: kafkajsMessage },
    {
      selector: String.raw`ImportExpression[source.value=/\/kafka\/(?!index\.js$)/]`,
      message: kafkaDoorMessage,
    },
  ],
});

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

const kafkaDoor = 'common/kafka/**';

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
  { files: ['**/*.ts', '**/*.js', '**/*.mjs'], ignores: [kafkaDoor], rules: restrictedImports() },
  { files: ['gateway/**/*.ts'], rules: restrictedImports(['consumers']) },
  { files: ['consumers/**/*.ts'], rules: restrictedImports(['gateway']) },
  {
    files: ['common/**/*.ts', 'schemas/**/*.ts'],
    ignores: [kafkaDoor],
    rules: restrictedImports(['gateway', 'consumers', 'cli']),
  },
  { files: [kafkaDoor], rules: boundary(['gateway', 'consumers', 'cli']) },
  {
    // The only files outside common/kafka/ that load kafkajs itself, because they compare Sluice's
    // path with kafkajs as shipped: raw broker connections with kafkajs's own request queue beside
    // Sluice's, and the producer bench's baseline run. Their static imports still use the door.
    files: ['test/kafka/pending-check.int.test.ts', 'load-tests/bench/producer-bench-child.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
