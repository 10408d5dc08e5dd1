import { createRequire } from 'node:module';
import { configDefaults, defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  // One copy of graphql: vite would otherwise load its ESM build for src/ while graphql-yoga's
  // executor gets the CommonJS one from Node, and GraphQLError from one is not the other's.
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
  test: {
    include: ['test/**/*.test.ts'],
    // Browser tests have their own config and script (vitest.browser.config.ts, npm run test:browser).
    exclude: [...configDefaults.exclude, 'test/browser/**'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Many files wait on child processes and database start-up rather than on the CPU: run more
    // of them at once than the two cores alone would suggest.
    maxWorkers: 4,
  },
});
