import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { PREBUILT_FUNCTIONS_DIRECTORY, PROJECT_ROOT } from '../infra/functionBundling';
import packageJson from '../package.json' with { type: 'json' };
import { buildFunctionVariants } from './buildFunctions';
import { emitDeclarations } from './emitDeclarations';
import { buildCli, PACKAGE_BUILD_OPTIONS } from './packageBuild';

/**
 * `npm run build` (run by `prepack`): everything the package ships, in `dist/`. See docs/decisions.md,
 * "The package is bundled per audience".
 */
const DIST = join(PROJECT_ROOT, 'dist');

/** The packages a user installs beside ours (peer dependencies): the rest is bundled in. */
const PEERS = Object.keys(packageJson.peerDependencies);

/** The library entries share one build, so a class (an error to `instanceof`) exists once. */
const buildLibrary = () =>
  build({
    ...PACKAGE_BUILD_OPTIONS,
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
    ...PACKAGE_BUILD_OPTIONS,
    entryPoints: { cdk: 'infra/index.ts' },
    outdir: DIST,
    external: ['aws-cdk-lib', 'constructs'],
  });

await rm(DIST, { recursive: true, force: true });
await Promise.all([
  buildLibrary(),
  buildConstruct(),
  buildCli(join(DIST, 'cli')),
  buildFunctionVariants(join(DIST, PREBUILT_FUNCTIONS_DIRECTORY)),
  emitDeclarations(join(DIST, 'types')),
]);
