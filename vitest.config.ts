import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Web modules import the server's leaf schema modules as `@server/…` (web/vite.config.ts).
  resolve: { alias: { '@server': `${import.meta.dirname}/src` } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'web/src/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-warnings.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { NODE_ENV: 'test' },
  },
});
