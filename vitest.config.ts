import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file runs in its own process: the handlers read their settings at import, as on Lambda.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
