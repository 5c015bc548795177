// Lint: typescript-eslint's recommended rules plus the boundaries of docs/architecture.md:
// gateway and consumers never import each other, common imports neither, consumers never import
// common/postgres/ (delivery does not wait on the log's database), and each external
// system has one door: only common/kafka/ imports kafkajs (every other file imports its
// index.js), only common/postgres/ imports pg (the same way).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const kafkajsMessage =
  'only common/kafka/ imports kafkajs: take the client, its types and helpers from common/kafka/index.js';
const kafkaDoorMessage = 'import common/kafka/ through its door, common/kafka/index.js';
const pgMessage =
  'only common/postgres/ imports pg: take the pool, its types and helpers from common/postgres/index.js';
const postgresDoorMessage = 'import common/postgres/ through its door, common/postgres/index.js';

/** The import rules of one door: its client libraries, and its folder other than index.js. */
const doors = {
  kafka: {
    paths: [{ name: 'kafkajs', message: kafkajsMessage }],
    patterns: [
      { group: ['kafkajs/*'], message: kafkajsMessage },
      { group: ['**/kafka/*', '!**/kafka/index.js'], message: kafkaDoorMessage },
    ],
    syntax: [
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
  },
  postgres: {
    // pg and the packages it is made of (pg-pool, pg-protocol, pg-types, pg-copy-streams, …).
    paths: [{ name: 'pg', message: pgMessage }],
    patterns: [
      { group: ['pg/*', 'pg-*'], message: pgMessage },
      { group: ['**/postgres/*', '!**/postgres/index.js'], message: postgresDoorMessage },
    ],
    syntax: [
      {
        selector: "CallExpression[callee.name='require'][arguments.0.value=/^pg($|[-/])/]",
        message: pgMessage,
      },
      { selector: 'ImportExpression[source.value=/^pg($|[-/])/]', message: pgMessage },
      {
        selector: String.raw`ImportExpression[source.value=/\/postgres\/(?!index\.js$)/]`,
        message: postgresDoorMessage,
      },
    ],
  },
};

/**
 * Import restrictions for a file: every door except `inside` (the door whose folder the file is
 * in, if any) is closed, and the file must not import from the `forbidden` folders either.
 */
const restrictedImports = (forbidden = [], inside = undefined) => {
  const closed = Object.entries(doors)
    .filter(([name]) => name !== inside)
    .map(([, door]) => door);
  return {
    'no-restricted-imports': [
      'error',
      {
        paths: closed.flatMap((door) => door.paths),
        patterns: [
          ...closed.flatMap((door) => door.patterns),
          ...forbidden.map((dir) => ({
            group: [`**/${dir}/**`, `../${dir}/*`],
            message: `must not import from ${dir}/`,
          })),
        ],
      },
    ],
    // What no-restricted-imports does not see: require() and import() (import('…') types are
    // forbidden anyway, by consistent-type-imports).
    'no-restricted-syntax': ['error', ...closed.flatMap((door) => door.syntax)],
  };
};

const kafkaDoor = 'common/kafka/**';
const postgresDoor = 'common/postgres/**';
const layers = ['gateway', 'consumers', 'cli', 'log'];

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
  { files: ['**/*.ts', '**/*.js', '**/*.mjs'], rules: restrictedImports() },
  { files: ['gateway/**/*.ts'], rules: restrictedImports(['consumers', 'log']) },
  // Workers never reach PostgreSQL: delivery cannot wait on the delivery log's database.
  { files: ['consumers/**/*.ts'], rules: restrictedImports(['gateway', 'log', 'common/postgres']) },
  { files: ['log/**/*.ts'], rules: restrictedImports(['gateway', 'consumers']) },
  {
    files: ['common/**/*.ts', 'schemas/**/*.ts'],
    ignores: [kafkaDoor, postgresDoor],
    rules: restrictedImports(layers),
  },
  { files: [kafkaDoor], rules: restrictedImports(layers, 'kafka') },
  { files: [postgresDoor], rules: restrictedImports(layers, 'postgres') },
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
