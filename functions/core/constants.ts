/** How a `CacheWarmer` decides when to warm. */
export const WarmingStrategy = {
  /** Warm once as soon as the scheduler starts, then every `refreshIntervalSeconds`. */
  EAGER: 'EAGER',
  /** Warm only when asked (`warm`, `warmKey`); the scheduler does nothing. */
  LAZY: 'LAZY',
  /** Warm every `refreshIntervalSeconds`. */
  SCHEDULED: 'SCHEDULED',
  /** Warm every `refreshIntervalSeconds`, with keys usually drawn from an `AdaptiveKeyProvider`. */
  ADAPTIVE: 'ADAPTIVE',
} as const;

export type WarmingStrategy = (typeof WarmingStrategy)[keyof typeof WarmingStrategy];

export const WARMING_STRATEGIES = Object.values(WarmingStrategy);

/** Prefix of every environment variable the warmer reads. */
export const ENV_PREFIX = 'CODOMYRMEX_WARMING_';
