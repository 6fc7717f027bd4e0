import { join } from 'node:path';
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
 * The esbuild settings of every function bundle, defined once: the `ServerlessCacheWarmer` construct hands them
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

/** The four Lambda handlers, each `functions/handlers/<name>.ts` exporting `handler`. */
export const FUNCTION_HANDLERS = ['warm', 'consume', 'track', 'control'] as const;
export type FunctionHandler = (typeof FUNCTION_HANDLERS)[number];

/** A handler's source file, when the construct runs from the project's sources. */
export const handlerEntry = (handler: FunctionHandler): string =>
  fileURLToPath(new URL(`../functions/handlers/${handler}.ts`, import.meta.url));

/**
 * The bundles built of each handler, each named by the optional parts it holds (see `BUNDLE_PARTS`):
 * a function is deployed with the first one that holds every part its configuration uses. Fewer bundles
 * than combinations, since the package ships them all: the parts the example stack's functions use are
 * left out of their first bundle (each stays under 600 KiB), the cheap ones are in every bundle.
 */
export const FUNCTION_VARIANTS: Record<FunctionHandler, readonly (readonly BundlePart[])[]> = {
  // S3 key lists are common, a Lambda that lists keys is not: as for consume, it takes the full bundle.
  warm: [['s3'], ['s3', 'lambda', 'cache', 'cacheLookup', 'cacheSecret']],
  consume: [
    ['cache', 'cacheSecret'],
    ['lambda', 'cache', 'cacheLookup', 'cacheSecret', 'headerSecrets', 'msgpack'],
  ],
  track: [[]],
  control: [[]],
};

/** A bundle of {@link FUNCTION_VARIANTS}: its directory name and what it leaves out. */
export interface FunctionVariant {
  /** `<handler>` with its parts: `consume-cache-cacheSecret`. */
  name: string;
  /** The esbuild `define` that leaves out the parts it does not hold. */
  define: Record<string, string>;
}

const defineOmitting = (parts: readonly BundlePart[]): Record<string, string> =>
  Object.fromEntries(parts.map((part) => [`process.env.${BUNDLE_PARTS[part]}`, JSON.stringify(OMITTED)]));

const variantOf = (handler: FunctionHandler, included: readonly BundlePart[]): FunctionVariant => ({
  name: [handler, ...included].join('-'),
  define: defineOmitting(
    (Object.keys(BUNDLE_PARTS) as BundlePart[]).filter((part) => !included.includes(part)),
  ),
});

/** Every bundle the package ships, as the build makes them. */
export const allFunctionVariants = (): { handler: FunctionHandler; variant: FunctionVariant }[] =>
  FUNCTION_HANDLERS.flatMap((handler) =>
    FUNCTION_VARIANTS[handler].map((included) => ({ handler, variant: variantOf(handler, included) })),
  );

/**
 * The bundle a function with this environment is deployed with: the smallest that holds every part
 * the environment uses.
 */
export const functionVariant = (
  handler: FunctionHandler,
  environment: Readonly<Record<string, string>>,
): FunctionVariant => {
  const omitted = omittedBundleParts(environment);
  const included = FUNCTION_VARIANTS[handler].find((parts) =>
    (Object.keys(BUNDLE_PARTS) as BundlePart[]).every(
      (part) => omitted.includes(part) || parts.includes(part),
    ),
  );
  if (!included) {
    throw new Error(`no bundle of the ${handler} function leaves out only ${JSON.stringify(omitted)}`);
  }
  return variantOf(handler, included);
};

/** The directory of the prebuilt bundles (`dist/lambda/<variant>/index.mjs`), beside the compiled construct. */
export const PREBUILT_FUNCTIONS_DIRECTORY = 'lambda';

/**
 * The esbuild options of one bundle, `index.mjs` (and its source map) in `outdir`: the package's build
 * makes every variant with them, and the construct run from the project's sources makes the one it needs.
 */
export const variantBuildOptions = (
  handler: FunctionHandler,
  variant: FunctionVariant,
  outdir: string,
): BuildOptions => ({
  ...FUNCTION_BUNDLE_OPTIONS,
  define: variant.define,
  entryPoints: [handlerEntry(handler)],
  outfile: join(outdir, 'index.mjs'),
  // Stack traces name our files and lines; the sources themselves would double the package.
  sourcesContent: false,
  logLevel: 'error',
});

/** The file a user module value source is bundled into, beside the consume function's `index.mjs`. */
export const VALUE_MODULE_FILE = 'value-module.mjs';

/** The file a user encoder module (`encode(key, value)`) is bundled into, beside the consume function's `index.mjs`. */
export const ENCODER_MODULE_FILE = 'encoder-module.mjs';

/** A module of the user's, bundled at synth beside a handler. */
export interface UserModule {
  /** Its path on the synth machine. */
  entry: string;
  /** The file it becomes beside the handler: {@link VALUE_MODULE_FILE} or {@link ENCODER_MODULE_FILE}. */
  file: string;
  /** The construct prop that named it, for errors. */
  prop: string;
}

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
