import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

// The tests that drive a real browser (Debian's chromium through playwright-core): `npm run
// test:browser`. Kept out of `npm test`, which must never need a browser.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/browser/**/*.test.ts'],
    exclude: [],
    testTimeout: 60_000,
    // One browser at a time is plenty for two cores.
    maxWorkers: 1,
  },
});
