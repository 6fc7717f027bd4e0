import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type BuildOptions, build } from 'esbuild';
import { PREBUILT_FUNCTIONS_DIRECTORY, PROJECT_ROOT } from '../infra/functionBundling';
import packageJson from '../package.json' with { type: 'json' };
import { buildFunctionVariants } from './buildFunctions';
import { emitDeclarations } from './emitDeclarations';

/**
 * `npm run build` (run by `prepack`): everything the package ships, in `dist/`. See docs/decisions.md,
 * "The package is bundled per audience".
 */
const DIST = join(PROJECT_ROOT, 'dist');

/** The packages a user installs beside ours (peer dependencies): the rest is bundled in. */
const PEERS = Object.keys(packageJson.peerDependencies);

const COMMON = {
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

/** The library entries share one build, so a class (an error to `instanceof`) exists once. */
const buildLibrary = () =>
  build({
    ...COMMON,
    entryPoints: {
      index: 'functions/core/index.ts',
      redis: 'functions/adapters/redis.ts',
      aws: 'functions/adapters/aws.ts',
      local: 'functions/local/index.ts',
    },
    splitting: true,
    outdir: DIST,
    chunkNames: 'chunks/[name]-[hash]',
    external: PEERS,
  });

/**
 * The construct stands alone: it is loaded by CDK apps that install nothing of ours but it, with
 * aws-cdk-lib and constructs. It finds the prebuilt function code beside it, in dist/lambda.
 */
const buildConstruct = () =>
  build({
    ...COMMON,
    entryPoints: { cdk: 'infra/index.ts' },
    outdir: DIST,
    external: ['aws-cdk-lib', 'constructs'],
  });

/**
 * The CLI is an application: bundled with the AWS SDK it calls, so it needs nothing installed to talk
 * to a deployment, and each command loads only its own chunks (`--help` loads no SDK). `warmers local`
 * imports the emulators, which the user installs (they are not bundled: fauxqs runs worker threads).
 */
const buildCli = () =>
  build({
    ...COMMON,
    entryPoints: { warmers: 'bin/warmers.ts' },
    splitting: true,
    minify: true,
    // Its errors reach the user as messages, not stack traces, and it runs without --enable-source-maps.
    sourcemap: false,
    outdir: join(DIST, 'cli'),
    chunkNames: '[name]-[hash]',
    external: ['dynalite', 'fauxqs'],
    mainFields: ['module', 'main'],
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });

await rm(DIST, { recursive: true, force: true });
await Promise.all([
  buildLibrary(),
  buildConstruct(),
  buildCli(),
  buildFunctionVariants(join(DIST, PREBUILT_FUNCTIONS_DIRECTORY)),
  emitDeclarations(join(DIST, 'types')),
]);
