import { defineConfig } from 'vitest/config';

/**
 * Integration suites that measure time (latency percentiles, a rate within 10 %, what a SIGKILL
 * interrupts, no shedding at a given rate): they run alone, after the others, so another suite's CPU does not skew them.
 */
const timingSensitive = [
  'test/delivery/delivery-isolation.int.test.ts',
  'test/delivery/delivery-guarantees.int.test.ts',
  'test/admission/global-rate-limit.int.test.ts',
  'test/admission/cold-start.int.test.ts',
];
const notOurs = ['node_modules/**', 'dist/**', '.sluice/**'];
/** Registers the example event types, as `sluice dev` does: event types are data in the registry topic. */
const exampleSchemasSetup = 'test/support/import-example-schemas.ts';

// Unit tests sit beside the code (*.test.ts); suites that need the local stack (Kafka, Redis)
// or spawn processes are named *.int.test.ts and run after the unit tests. Each integration test
// uses its own topics, groups, Redis keys and ports, so three files share the broker at a time:
// most of their time is spent waiting (group joins, retry delays, timeouts), not computing.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['**/*.int.test.ts', ...notOurs],
          // A few unit tests start a fresh Node process (with tsx) to see what a process does from
          // its first import: about a second on a quiet machine, past vitest's 5-s default on a busy one.
          testTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          exclude: [...timingSensitive, ...notOurs],
          maxWorkers: 3,
          globalSetup: [exampleSchemasSetup],
          testTimeout: 90_000,
          hookTimeout: 90_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'timing',
          include: timingSensitive,
          fileParallelism: false,
          globalSetup: [exampleSchemasSetup],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
