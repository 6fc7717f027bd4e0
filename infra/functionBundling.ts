import type { BuildOptions } from 'esbuild';

/**
 * The esbuild settings of every function bundle, defined once: the `CacheWarmer` construct hands them
 * to `NodejsFunction`, and `npm run bench` bundles the handlers with them to measure size and load time.
 * The AWS SDK is bundled too (nothing is external): a minified bundle cold-starts faster than the
 * runtime's copy of the SDK.
 */
export const FUNCTION_BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The functions' runtime, Node.js 24 (lambda.Runtime.NODEJS_24_X).
  target: 'node24',
  minify: true,
  sourcemap: true,
  // ES modules first: they tree-shake where CommonJS cannot.
  mainFields: ['module', 'main'],
  // An ES module bundle has no `require`, which bundled CommonJS dependencies call for Node built-ins.
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
} as const satisfies BuildOptions;

/** The file a user module value source is bundled into, beside the consume function's `index.mjs`. */
export const VALUE_MODULE_FILE = 'value-module.mjs';

/** A shell word that passes `text` through unchanged. */
const quoteForShell = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;

/**
 * The esbuild command line that bundles `entry` into `outfile` with {@link FUNCTION_BUNDLE_OPTIONS}, for
 * a `NodejsFunction` command hook; `esbuild` is the project's own (`npx --no-install`), as for the
 * function's main bundle.
 */
export const esbuildCommand = (entry: string, outfile: string): string => {
  const options = FUNCTION_BUNDLE_OPTIONS;
  const flags = [
    ...(options.bundle ? ['--bundle'] : []),
    `--platform=${options.platform}`,
    `--format=${options.format}`,
    `--target=${options.target}`,
    ...(options.minify ? ['--minify'] : []),
    ...(options.sourcemap ? ['--sourcemap'] : []),
    `--main-fields=${options.mainFields.join(',')}`,
    `--banner:js=${options.banner.js}`,
    `--outfile=${outfile}`,
  ];
  return ['npx --no-install esbuild', ...[entry, ...flags].map(quoteForShell)].join(' ');
};
