import { defineConfig } from 'vitest/config';

/** The AWS SDK warns, once per process, that its 2027 releases need Node 22; tests run on Node 20. */
const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

/** What code under test writes to stdout or stderr goes through the console, so `silent` applies to it. */
const quiet = { setupFiles: ['test/support/routeOutputThroughConsole.ts'] };

export default defineConfig({
  test: {
    // Output stays quiet unless a test fails: what a test printed is shown with its failure only.
    silent: 'passed-only',
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          env,
          ...quiet,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          env,
          ...quiet,
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // Integration files start real servers; running them one at a time keeps a 2-core machine responsive.
          fileParallelism: false,
        },
      },
    ],
  },
});
