import { RedisStore } from '../adapters/RedisStore';
import type { WarmingConfig } from '../core';
import { readResources } from './environment';

/**
 * The cache the functions write to (consume) and ask for remaining TTLs (warm), from the resource
 * variables the CDK construct sets; one connection per container, opened on first use.
 */
export const createCacheStore = (
  env: Record<string, string | undefined>,
  config: WarmingConfig,
): RedisStore => {
  const { cacheUrl, cacheCluster } = readResources(env, ['cacheUrl'], ['cacheCluster']);
  return new RedisStore({
    url: cacheUrl,
    cluster: cacheCluster ?? false,
    ttlSeconds: config.ttlSeconds > 0 ? config.ttlSeconds : undefined,
  });
};
