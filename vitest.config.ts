import path from 'node:path';

import { defineConfig } from 'vitest/config';

/** What both projects share; projects do not inherit the root's `test` options by themselves. */
const shared = {
  globals: true,
  environment: 'node',
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks',
} as const;

const END_TO_END = 'test/e2e/**/*.test.ts';

export default defineConfig({
  resolve: { alias: { '~': path.resolve('app') } },
  test: {
    // Runs once for the whole run (the root project's setup), whatever projects are selected:
    // one remix build, one PGlite snapshot, one PostgreSQL template, provided to every project.
    globalSetup: ['test/support/global-setup.ts'],
    projects: [
      {
        resolve: { alias: { '~': path.resolve('app') } },
        test: {
          ...shared,
          name: 'unit',
          include: ['app/**/*.test.{ts,tsx}', 'worker/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [END_TO_END, '**/node_modules/**'],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        resolve: { alias: { '~': path.resolve('app') } },
        test: {
          ...shared,
          // Processes and browsers (npm start, Chromium, PostgreSQL chaos): one file at a time,
          // after the parallel files have finished, so they never compete with each other or
          // with the unit tests for this machine's two cores. A test here drives real processes and
          // a browser through many steps, so its budget is minutes, not the unit tests' 30 s;
          // files that need more still set their own.
          name: 'e2e',
          testTimeout: 180_000,
          hookTimeout: 180_000,
          include: [END_TO_END],
          fileParallelism: false,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
