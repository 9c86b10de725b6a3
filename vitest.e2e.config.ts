import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// `npm run test:e2e`: only the browser tests.
export default defineConfig({ ...base, test: { ...base.test, include: ['test/e2e/**/*.test.ts'] } });
