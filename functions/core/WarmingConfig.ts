import { ENV_PREFIX, WARMING_STRATEGIES, WarmingStrategy } from './constants';
import { ConfigurationError } from './errors';

/** How a `CacheWarmer` runs. Every option has a `CODOMYRMEX_WARMING_*` environment variable. */
export interface WarmingConfig {
  /** When the scheduler warms. Default `LAZY`. */
  strategy: WarmingStrategy;
  /** Keys per `BatchValueLoader` call (and per queue message in the serverless runtime). Default 100. */
  batchSize: number;
  /** Loads in flight at once. Default 4. */
  maxWorkers: number;
  /** Seconds between scheduled runs. Default 300. */
  refreshIntervalSeconds: number;
  /** Seconds one run may take; keys not reached by then are skipped and listed. Default 60. */
  warmupTimeoutSeconds: number;
  /** Seconds one load or write attempt may take before it counts as failed (and is retried). Default 10. */
  attemptTimeoutSeconds: number;
  /** Retry a failed load. Default true. */
  retryOnFailure: boolean;
  /** Retries after the first attempt. Default 3. */
  maxRetries: number;
  /** Ceiling of the first backoff; each retry doubles it, with full jitter. Default 100. */
  retryBaseDelayMs: number;
  /** Upper bound of any one backoff. Default 5000. */
  retryMaxDelayMs: number;
  /**
   * Serverless runtime: ceiling of the first wait before a message's failed keys are delivered again;
   * each delivery doubles it, with full jitter, up to SQS's 900. Default 5.
   */
  requeueDelaySeconds: number;
  /** Warm only this many keys of the highest weight per run; 0 means no limit. Default 0. */
  maxKeysPerRun: number;
  /** Time to live written with each value; 0 means the store's default. Default 0. */
  ttlSeconds: number;
  /**
   * With `ttlSeconds`, a scheduled run refreshes only keys past this share of their TTL (or missing).
   * Default 0.8: a key is refreshed in the last fifth of its life.
   */
  refreshAheadRatio: number;
  /**
   * Serverless runtime: seconds one warm invocation enumerates keys before it records where it stands
   * and continues in a fresh invocation. Keep it at least 60 s below the warm function's timeout.
   * Default 240 (the construct's warm function times out at 300).
   */
  fanOutSegmentSeconds: number;
}

type Kind =
  | { type: 'strategy' }
  | { type: 'boolean' }
  | { type: 'integer'; min: number; max?: number }
  | { type: 'number'; min: number; max: number };

const SETTINGS: { [Option in keyof WarmingConfig]: { kind: Kind; default: WarmingConfig[Option] } } = {
  strategy: { kind: { type: 'strategy' }, default: WarmingStrategy.LAZY },
  batchSize: { kind: { type: 'integer', min: 1, max: 10_000 }, default: 100 },
  maxWorkers: { kind: { type: 'integer', min: 1, max: 10_000 }, default: 4 },
  refreshIntervalSeconds: { kind: { type: 'integer', min: 1 }, default: 300 },
  warmupTimeoutSeconds: { kind: { type: 'number', min: 0.001, max: 86_400 }, default: 60 },
  attemptTimeoutSeconds: { kind: { type: 'number', min: 0.001, max: 86_400 }, default: 10 },
  retryOnFailure: { kind: { type: 'boolean' }, default: true },
  maxRetries: { kind: { type: 'integer', min: 0, max: 100 }, default: 3 },
  retryBaseDelayMs: { kind: { type: 'integer', min: 0 }, default: 100 },
  retryMaxDelayMs: { kind: { type: 'integer', min: 0 }, default: 5_000 },
  requeueDelaySeconds: { kind: { type: 'number', min: 0, max: 900 }, default: 5 },
  maxKeysPerRun: { kind: { type: 'integer', min: 0 }, default: 0 },
  ttlSeconds: { kind: { type: 'integer', min: 0 }, default: 0 },
  refreshAheadRatio: { kind: { type: 'number', min: 0, max: 1 }, default: 0.8 },
  fanOutSegmentSeconds: { kind: { type: 'integer', min: 1, max: 840 }, default: 240 },
};

const OPTIONS = Object.keys(SETTINGS) as (keyof WarmingConfig)[];

/** `refreshIntervalSeconds` → `CODOMYRMEX_WARMING_REFRESH_INTERVAL_SECONDS`. */
export const environmentVariableFor = (option: keyof WarmingConfig): string =>
  ENV_PREFIX + option.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase();

const describeAccepted = (kind: Kind): string => {
  switch (kind.type) {
    case 'strategy':
      return `one of ${WARMING_STRATEGIES.join(', ')}`;
    case 'boolean':
      return 'true or false';
    case 'integer':
      return kind.max === undefined
        ? `a whole number ≥ ${kind.min}`
        : `a whole number from ${kind.min} to ${kind.max}`;
    case 'number':
      return `a number from ${kind.min} to ${kind.max}`;
  }
};

const isWithin = (value: number, kind: { min: number; max?: number }): boolean =>
  Number.isFinite(value) && value >= kind.min && (kind.max === undefined || value <= kind.max);

const isValid = (value: unknown, kind: Kind): boolean => {
  switch (kind.type) {
    case 'strategy':
      return WARMING_STRATEGIES.includes(value as WarmingStrategy);
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) && isWithin(value, kind);
    case 'number':
      return typeof value === 'number' && isWithin(value, kind);
  }
};

const parseText = (text: string, kind: Kind): unknown => {
  const trimmed = text.trim();
  switch (kind.type) {
    case 'strategy':
      return trimmed.toUpperCase();
    case 'boolean':
      return { true: true, false: false, '1': true, '0': false }[trimmed.toLowerCase()];
    case 'integer':
    case 'number':
      return trimmed === '' ? Number.NaN : Number(trimmed);
  }
};

/** The seed's defaults. */
export const defaultWarmingConfig = (): WarmingConfig =>
  Object.fromEntries(OPTIONS.map((option) => [option, SETTINGS[option].default])) as unknown as WarmingConfig;

/**
 * Fills a partial configuration with the defaults and checks every value.
 * @throws ConfigurationError naming the first option that is wrong and what it accepts.
 */
export const resolveWarmingConfig = (overrides: Partial<WarmingConfig> = {}): WarmingConfig => {
  const config = defaultWarmingConfig();
  for (const [option, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(option in SETTINGS)) {
      throw new ConfigurationError(option, `unknown option; known options are ${OPTIONS.join(', ')}`);
    }
    const kind = SETTINGS[option as keyof WarmingConfig].kind;
    if (!isValid(value, kind)) {
      throw new ConfigurationError(
        option,
        `expected ${describeAccepted(kind)}, got ${JSON.stringify(value)}`,
      );
    }
    Object.assign(config, { [option]: value });
  }
  return config;
};

/**
 * Reads the `CODOMYRMEX_WARMING_*` variables; unset or empty variables keep their defaults.
 *
 * @example
 * const config = loadWarmingConfig(process.env);
 * @throws ConfigurationError naming the variable that is malformed and the values it accepts.
 */
export const loadWarmingConfig = (env: Record<string, string | undefined>): WarmingConfig => {
  const config = defaultWarmingConfig();
  for (const option of OPTIONS) {
    const variable = environmentVariableFor(option);
    const text = env[variable];
    if (text === undefined || text.trim() === '') continue;
    const kind = SETTINGS[option].kind;
    const value = parseText(text, kind);
    if (!isValid(value, kind)) {
      throw new ConfigurationError(
        variable,
        `expected ${describeAccepted(kind)}, got ${JSON.stringify(text)}`,
      );
    }
    Object.assign(config, { [option]: value });
  }
  return config;
};

/** Every option with its variable, default and what it accepts: the README's configuration table. */
export const describeWarmingSettings = (): {
  option: keyof WarmingConfig;
  variable: string;
  default: WarmingConfig[keyof WarmingConfig];
  accepts: string;
}[] =>
  OPTIONS.map((option) => ({
    option,
    variable: environmentVariableFor(option),
    default: SETTINGS[option].default,
    accepts: describeAccepted(SETTINGS[option].kind),
  }));
