import { defineConfig } from 'vitest/config';

// Unit tests sit beside the code (*.test.ts); suites that need the local stack (Kafka, Redis)
// or spawn processes are named *.int.test.ts and run after the unit tests, one file at a time,
// because they share one broker on a two-core machine.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['**/*.int.test.ts', 'node_modules/**', 'dist/**', '.sluice/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          exclude: ['node_modules/**', 'dist/**', '.sluice/**'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
