export type { KeySourceConfig, ValueSourceConfig } from '../functions/adapters/sourceConfig';
export { type WarmingConfig, WarmingStrategy } from '../functions/core';
export { CacheWarmerStack, type CacheWarmerStackProps } from './CacheWarmerStack';
export {
  type CacheProps,
  type CacheValueLayout,
  type CreatedCacheProps,
  DEFAULT_CONSUMER_MAX_CONCURRENCY,
  type ExistingCacheAuth,
  type ExistingCacheProps,
  SERVERLESS_CACHE_PORTS,
  ServerlessCacheWarmer,
  type ServerlessCacheWarmerProps,
  type VpcEgress,
} from './ServerlessCacheWarmer';
export { CACHE_WARMER_OUTPUTS, type CacheWarmerOutput } from './stackOutputs';
