import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/** The AWS SDK warns, once per process, that its 2027 releases need Node 22; tests run on Node 20. */
const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

/** What code under test writes to stdout or stderr goes through the console, so `silent` applies to it. */
const quiet = { setupFiles: ['test/support/routeOutputThroughConsole.ts'] };

/**
 * Files running at once, shared by both projects (vitest runs projects with the same worker count
 * side by side). Every server a test starts listens on a free port and keeps its state in a directory
 * of its own, so files do not meet. Two at once on 2 cores: a third makes the end-to-end files, which
 * keep both cores busy, slower than their own bounds on a shared machine.
 */
const maxWorkers = Math.max(2, availableParallelism() - 1);

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
          maxWorkers,
          // Unit files share a worker's imports instead of loading the modules again for each file,
          // which took most of the project's time; a file that needs fresh modules resets them itself.
          isolate: false,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          env,
          ...quiet,
          maxWorkers,
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
