import { defineConfig } from 'vitest/config';

// One run for every workspace: tests sit beside the code they test.
export default defineConfig({
  test: {
    include: ['{db,sfu,api,client,load-tests}/src/**/*.test.{ts,tsx}'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // 2 cores: real servers, workers and browsers per file; more forks only contend.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
