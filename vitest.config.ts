import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['__test__/**/*.spec.ts'],
    // Forks, not threads: the native addon is loaded per process and must not be shared across worker threads.
    pool: 'forks',
    // Model fits on real data run in the same suite; the default 5 s is far too short for them.
    testTimeout: 120_000,
  },
});
