export type { KeySourceConfig, ValueSourceConfig } from '../functions/adapters/sourceConfig';
export { type WarmingConfig, WarmingStrategy } from '../functions/core';
export {
  type CacheProps,
  CacheWarmer,
  type CacheWarmerProps,
  type CreatedCacheProps,
  type ExistingCacheAuth,
  type ExistingCacheProps,
  SERVERLESS_CACHE_PORTS,
  type VpcEgress,
} from './CacheWarmer';
export { CacheWarmerStack, type CacheWarmerStackProps } from './CacheWarmerStack';
export { CACHE_WARMER_OUTPUTS, type CacheWarmerOutput } from './stackOutputs';
