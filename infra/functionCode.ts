import { cpSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { BuildOptions } from 'esbuild';
import {
  FUNCTION_BUNDLE_OPTIONS,
  type FunctionHandler,
  functionVariant,
  handlerEntry,
  PREBUILT_FUNCTIONS_DIRECTORY,
  PROJECT_ROOT,
  type UserModule,
  variantBuildOptions,
} from './functionBundling';

interface Esbuild {
  buildSync(options: BuildOptions): unknown;
}

/** esbuild as installed where `from` is; only loaded to bundle, so the package does not depend on it. */
const esbuildFrom = (from: string, why: string): Esbuild => {
  try {
    return createRequire(from)('esbuild') as Esbuild;
  } catch {
    throw new Error(
      `${why} is bundled with esbuild at synth: add it to your CDK app (npm install --save-dev esbuild)`,
    );
  }
};

/**
 * The code of one of the construct's functions, `index.handler` in it: the prebuilt bundle of the
 * package (`dist/lambda/<variant>`) that holds the parts `environment` uses, as it is. Run from the
 * project's sources, the construct builds that bundle at synth instead, with the project's esbuild.
 * The user's own modules (`valueModuleEntry`, `encoderModuleEntry`) are bundled at synth, with the
 * esbuild of the user's project, beside the handler as their `file`. Both go through CDK asset
 * bundling, so a stack CDK does not bundle (`cdk deploy OtherStack`, tests) skips them.
 */
export const functionCode = (
  handler: FunctionHandler,
  environment: Readonly<Record<string, string>>,
  userModules: readonly UserModule[] = [],
): lambda.Code => {
  const variant = functionVariant(handler, environment);
  const prebuilt = fileURLToPath(
    new URL(`./${PREBUILT_FUNCTIONS_DIRECTORY}/${variant.name}`, import.meta.url),
  );
  const packaged = existsSync(prebuilt);
  if (!packaged && !existsSync(handlerEntry(handler))) {
    throw new Error(
      `the prebuilt code of the ${handler} function is missing from ${prebuilt}: reinstall the package`,
    );
  }
  if (packaged && userModules.length === 0) return lambda.Code.fromAsset(prebuilt);
  return lambda.Code.fromAsset(packaged ? prebuilt : join(PROJECT_ROOT, 'functions'), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled or run: local bundling always succeeds or throws.
      image: lambda.Runtime.NODEJS_24_X.bundlingImage,
      // CDK reuses a bundle with the same source and options within a synth: these tell the bundles apart.
      command: [variant.name, ...userModules.map(({ entry, file }) => `${file}=${resolve(entry)}`)],
      local: {
        tryBundle: (outputDir) => {
          if (packaged) cpSync(prebuilt, outputDir, { recursive: true });
          else
            esbuildFrom(PROJECT_ROOT, 'the construct run from its sources').buildSync(
              variantBuildOptions(handler, variant, outputDir),
            );
          const {
            alias: _credentialsForOurCode,
            absWorkingDir: _ourRoot,
            ...options
          } = FUNCTION_BUNDLE_OPTIONS;
          for (const { entry, file, prop } of userModules) {
            const path = resolve(entry);
            esbuildFrom(path, prop).buildSync({
              ...options,
              entryPoints: [path],
              outfile: join(outputDir, file),
              logLevel: 'error',
            });
          }
          return true;
        },
      },
    },
  });
};
