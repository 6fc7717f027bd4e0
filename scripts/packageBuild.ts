import { type BuildOptions, build } from 'esbuild';
import { PROJECT_ROOT } from '../infra/functionBundling';

/** The esbuild settings every part of the package is built with. */
export const PACKAGE_BUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  // A stack trace needs names and lines, not a copy of every bundled source: the maps stay a fraction of
  // the package, so the engine alone installs small.
  sourcesContent: false,
  logLevel: 'warning',
  absWorkingDir: PROJECT_ROOT,
} satisfies BuildOptions;

/**
 * The CLI is an application: bundled with the AWS SDK it calls, so it needs nothing installed to talk
 * to a deployment, and each command loads only its own chunks (`--help` loads no SDK). `warmers local`
 * imports the emulators, which the user installs (they are not bundled: fauxqs runs worker threads).
 */
export const buildCli = (outdir: string) =>
  build({
    ...PACKAGE_BUILD_OPTIONS,
    entryPoints: { warmers: 'bin/warmers.ts' },
    splitting: true,
    minify: true,
    // Its errors reach the user as messages, not stack traces, and it runs without --enable-source-maps.
    sourcemap: false,
    outdir,
    chunkNames: '[name]-[hash]',
    external: ['dynalite', 'fauxqs'],
    mainFields: ['module', 'main'],
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
