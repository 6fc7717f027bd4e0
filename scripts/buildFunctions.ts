import { join } from 'node:path';
import { build } from 'esbuild';
import { allFunctionVariants, variantBuildOptions } from '../infra/functionBundling';

/**
 * Builds every bundle of {@link allFunctionVariants} into `<outdir>/<variant>/`, at pack time, so the
 * construct deploys prebuilt code and needs no esbuild, lock file or Docker where it is synthesized.
 */
export const buildFunctionVariants = async (outdir: string): Promise<void> => {
  await Promise.all(
    allFunctionVariants().map(({ handler, variant }) =>
      build(variantBuildOptions(handler, variant, join(outdir, variant.name))),
    ),
  );
};
