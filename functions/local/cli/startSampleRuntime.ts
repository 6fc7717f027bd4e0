import {
  KEY_SOURCES_VARIABLE,
  parseKeySources,
  parseValueSource,
  VALUE_SOURCE_VARIABLE,
} from '../../adapters/sourceConfig';
import { ConfigurationError, loadWarmingConfig } from '../../core';
import { readResources, resourceVariable } from '../../handlers/environment';
import { startLocalRuntime } from '../LocalRuntime';
import { readCacheValues } from '../localDeployment';
import { createSampleOrigin, defaultSampleOrigin, productKey } from '../sampleCatalog';
import { startSampleOriginServer } from '../sampleOriginServer';
import { UsageError } from './errors';
import type { LocalRuntimeHandle, LocalRuntimeHooks } from './keepLocalRuntimeUp';

/** `REDIS_URL`, checked as the functions check the cache URL they are given, the error naming it. */
const checkedRedisUrl = (url: string): string => {
  try {
    return readResources({ [resourceVariable('cacheUrl')]: url }, ['cacheUrl'], []).cacheUrl;
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    throw new ConfigurationError('REDIS_URL', error.problem);
  }
};

/**
 * What `warmers local` runs: the local runtime over the sample catalog (its products as a static key
 * source, loaded from the sample origin over HTTP) unless `CODOMYRMEX_WARMING_KEY_SOURCES` or
 * `CODOMYRMEX_WARMING_VALUE_SOURCE` name other sources. The engine's options and the cache's value
 * layout (`CODOMYRMEX_WARMING_CACHE_KEY_TEMPLATE`, `_ENCODING`, …) come from `CODOMYRMEX_WARMING_*`,
 * the cache from `REDIS_URL` (in memory without it).
 * @throws UsageError naming a variable that is malformed
 *
 * @example
 * const runtime = await startSampleRuntime(process.env);
 */
export const startSampleRuntime = async (
  env: Record<string, string | undefined>,
  hooks: LocalRuntimeHooks = {},
): Promise<LocalRuntimeHandle> => {
  let sources: Pick<
    Parameters<typeof startLocalRuntime>[0] & object,
    'warming' | 'keySources' | 'valueSource' | 'cacheUrl' | 'cacheValues'
  >;
  try {
    sources = {
      cacheUrl: env.REDIS_URL === undefined ? undefined : checkedRedisUrl(env.REDIS_URL),
      warming: loadWarmingConfig(env),
      keySources: env[KEY_SOURCES_VARIABLE] ? parseKeySources(env) : undefined,
      valueSource: env[VALUE_SOURCE_VARIABLE] ? parseValueSource(env) : undefined,
      cacheValues: readCacheValues(env),
    };
  } catch (error) {
    if (error instanceof ConfigurationError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
  const origin = await startSampleOriginServer(createSampleOrigin(defaultSampleOrigin));
  const runtime = await startLocalRuntime({
    cacheUrl: sources.cacheUrl,
    warming: sources.warming,
    keySources: sources.keySources ?? [
      {
        type: 'static',
        keys: Array.from({ length: defaultSampleOrigin.keyCount }, (_, id) => productKey(id)),
      },
    ],
    valueSource: sources.valueSource ?? { type: 'http', urlTemplate: origin.urlTemplate },
    cacheValues: sources.cacheValues,
    logLevel: 'ERROR',
    onInvocation: hooks.onInvocation,
  }).catch(async (error: unknown) => {
    await origin.close();
    // A function that refuses its configuration at start is a usage error, as a malformed variable is.
    if (error instanceof ConfigurationError) throw new UsageError(error.message, { cause: error });
    throw error;
  });
  return {
    endpoints: runtime.endpoints,
    functionNames: runtime.functionNames,
    queueUrls: runtime.queueUrls,
    stop: async () => {
      await runtime.stop();
      await origin.close();
    },
  };
};
