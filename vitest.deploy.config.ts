import { defineConfig } from 'vitest/config';

/** `npm run test:deploy`: the blue-green deployment test (deploy/*.test.ts), outside `npm test`. */
export default defineConfig({
  test: {
    include: ['deploy/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 240_000,
    hookTimeout: 400_000,
  },
});
