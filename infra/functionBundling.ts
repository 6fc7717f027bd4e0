import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';
import { BUNDLE_PARTS, type BundlePart, OMITTED } from '../functions/adapters/bundleParts';
import { KEY_SOURCES_VARIABLE, VALUE_SOURCE_VARIABLE } from '../functions/adapters/sourceConfig';
import { resourceVariable } from '../functions/handlers/environment';

/** Where `NodejsFunction` runs esbuild, and what the relative paths below are relative to. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Modules replaced in the bundles: the SDK's credential chain by the one that answers in Lambda. */
const BUNDLE_ALIASES = {
  '@aws-sdk/credential-provider-node': './functions/handlers/lambdaCredentials.ts',
} as const;

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
  alias: BUNDLE_ALIASES,
  absWorkingDir: PROJECT_ROOT,
} as const satisfies BuildOptions;

/** {@link FUNCTION_BUNDLE_OPTIONS}' aliases as esbuild's command line takes them (`module=replacement`). */
export const FUNCTION_BUNDLE_ALIAS_ARGUMENTS = Object.entries(FUNCTION_BUNDLE_OPTIONS.alias).map(
  ([module, replacement]) => `${module}=${replacement}`,
);

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
    ...FUNCTION_BUNDLE_ALIAS_ARGUMENTS.map((alias) => `--alias:${alias}`),
    // As for the main bundle: warnings, not a size summary per synth.
    '--log-level=warning',
    `--outfile=${outfile}`,
  ];
  return ['npx --no-install esbuild', ...[entry, ...flags].map(quoteForShell)].join(' ');
};

/** The sources in a source variable's JSON (one source or an array of them). */
const sourcesIn = (json: string | undefined): ({ type?: unknown; headers?: unknown } | null)[] => {
  if (json === undefined) return [];
  const parsed: unknown = JSON.parse(json);
  return (Array.isArray(parsed) ? parsed : [parsed]) as ({ type?: unknown; headers?: unknown } | null)[];
};

/** The `type` of each source in a source variable's JSON. */
const sourceTypes = (json: string | undefined): unknown[] => sourcesIn(json).map((source) => source?.type);

/** Whether a source's `headers` read a value from a secret (a value that is not text). */
const readsHeaderSecrets = (source: { headers?: unknown } | null): boolean =>
  typeof source?.headers === 'object' &&
  source.headers !== null &&
  Object.values(source.headers).some((value) => typeof value === 'object' && value !== null);

/**
 * The parts a function with this environment never calls: those its key and value sources and its
 * cache settings do not name. Read from the variables rather than validated, as at synth time they may
 * hold CDK tokens; the function validates them at cold start.
 */
export const omittedBundleParts = (environment: Readonly<Record<string, string>>): BundlePart[] => {
  const keyTypes = sourceTypes(environment[KEY_SOURCES_VARIABLE]);
  const valueTypes = sourceTypes(environment[VALUE_SOURCE_VARIABLE]);
  const cacheName = environment[resourceVariable('cacheName')];
  const cacheUrl = environment[resourceVariable('cacheUrl')];
  const used: Record<BundlePart, boolean> = {
    s3: keyTypes.includes('s3'),
    lambda: keyTypes.includes('lambda') || valueTypes.includes('lambda'),
    cache: cacheName !== undefined || cacheUrl !== undefined,
    // With a URL, the name only names the cache for IAM tokens: nothing is looked up.
    cacheLookup: cacheName !== undefined && cacheUrl === undefined,
    cacheSecret: environment[resourceVariable('cacheAuth')] === 'token',
    headerSecrets: sourcesIn(environment[VALUE_SOURCE_VARIABLE]).some(readsHeaderSecrets),
    msgpack: environment[resourceVariable('cacheEncoding')] === 'msgpack',
  };
  return (Object.keys(used) as BundlePart[]).filter((part) => !used[part]);
};

/**
 * The esbuild `define` that leaves out of a function's bundle the parts its environment does not use
 * (see `BUNDLE_PARTS`): the construct bundles each function with it, and so does `npm run bench`.
 */
export const bundleDefine = (environment: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(
    omittedBundleParts(environment).map((part) => [
      `process.env.${BUNDLE_PARTS[part]}`,
      JSON.stringify(OMITTED),
    ]),
  );
