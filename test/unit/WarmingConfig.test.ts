import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  defaultWarmingConfig,
  describeWarmingSettings,
  environmentVariableFor,
  loadWarmingConfig,
  resolveWarmingConfig,
  WarmingStrategy,
} from '../../functions/core';

describe('defaultWarmingConfig', () => {
  it('has the seed defaults', () => {
    expect(defaultWarmingConfig()).toMatchObject({
      strategy: WarmingStrategy.LAZY,
      batchSize: 100,
      maxWorkers: 4,
      refreshIntervalSeconds: 300,
      warmupTimeoutSeconds: 60,
      retryOnFailure: true,
      maxRetries: 3,
      refreshAheadRatio: 0.8,
    });
  });
});

describe('loadWarmingConfig', () => {
  it('reads each CODOMYRMEX_WARMING_ variable', () => {
    const config = loadWarmingConfig({
      CODOMYRMEX_WARMING_STRATEGY: 'scheduled',
      CODOMYRMEX_WARMING_BATCH_SIZE: '250',
      CODOMYRMEX_WARMING_MAX_WORKERS: ' 16 ',
      CODOMYRMEX_WARMING_REFRESH_INTERVAL_SECONDS: '60',
      CODOMYRMEX_WARMING_WARMUP_TIMEOUT_SECONDS: '12.5',
      CODOMYRMEX_WARMING_RETRY_ON_FAILURE: 'false',
      CODOMYRMEX_WARMING_MAX_RETRIES: '0',
      CODOMYRMEX_WARMING_TTL_SECONDS: '900',
      CODOMYRMEX_WARMING_REFRESH_AHEAD_RATIO: '0.5',
    });

    expect(config).toMatchObject({
      strategy: 'SCHEDULED',
      batchSize: 250,
      maxWorkers: 16,
      refreshIntervalSeconds: 60,
      warmupTimeoutSeconds: 12.5,
      retryOnFailure: false,
      maxRetries: 0,
      ttlSeconds: 900,
      refreshAheadRatio: 0.5,
    });
  });

  it('keeps the defaults for unset and empty variables and ignores unrelated ones', () => {
    expect(loadWarmingConfig({ CODOMYRMEX_WARMING_MAX_WORKERS: '', PATH: '/bin' })).toEqual(
      defaultWarmingConfig(),
    );
  });

  it.each([
    ['CODOMYRMEX_WARMING_MAX_WORKERS', 'abc', 'expected a whole number from 1 to 10000, got "abc"'],
    ['CODOMYRMEX_WARMING_MAX_WORKERS', '2.5', 'expected a whole number from 1 to 10000, got "2.5"'],
    ['CODOMYRMEX_WARMING_WARMUP_TIMEOUT_SECONDS', '-5', 'expected a number from 0.001 to 86400, got "-5"'],
    [
      'CODOMYRMEX_WARMING_STRATEGY',
      'sometimes',
      'expected one of EAGER, LAZY, SCHEDULED, ADAPTIVE, got "sometimes"',
    ],
    ['CODOMYRMEX_WARMING_RETRY_ON_FAILURE', 'yes please', 'expected true or false, got "yes please"'],
    ['CODOMYRMEX_WARMING_REFRESH_AHEAD_RATIO', '1.5', 'expected a number from 0 to 1, got "1.5"'],
  ])('rejects %s=%s naming the variable and what it accepts', (variable, value, message) => {
    const load = () => loadWarmingConfig({ [variable]: value });

    expect(load).toThrow(ConfigurationError);
    expect(load).toThrow(`${variable}: ${message}`);
  });
});

describe('resolveWarmingConfig', () => {
  it('fills the options not given with defaults', () => {
    expect(resolveWarmingConfig({ maxWorkers: 32 })).toEqual({ ...defaultWarmingConfig(), maxWorkers: 32 });
  });

  it('rejects an unknown option and a value of the wrong type', () => {
    expect(() => resolveWarmingConfig({ maxWorker: 3 } as never)).toThrow(/^maxWorker: unknown option/);
    expect(() => resolveWarmingConfig({ batchSize: '10' } as never)).toThrow(
      'batchSize: expected a whole number from 1 to 10000, got "10"',
    );
  });
});

describe('describeWarmingSettings', () => {
  it('lists every option with its variable and default', () => {
    const settings = describeWarmingSettings();

    expect(settings.map((setting) => setting.option)).toEqual(Object.keys(defaultWarmingConfig()));
    expect(settings.find((setting) => setting.option === 'refreshIntervalSeconds')).toEqual({
      option: 'refreshIntervalSeconds',
      variable: 'CODOMYRMEX_WARMING_REFRESH_INTERVAL_SECONDS',
      default: 300,
      accepts: 'a whole number ≥ 1',
    });
    expect(environmentVariableFor('maxKeysPerRun')).toBe('CODOMYRMEX_WARMING_MAX_KEYS_PER_RUN');
  });
});
