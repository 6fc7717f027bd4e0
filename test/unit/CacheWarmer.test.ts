import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CacheEntry, CacheStore, WarmingConfig, WarmingStats, WriteResult } from '../../functions/core';
import {
  BatchValueLoader,
  CacheWarmer,
  CallableKeyProvider,
  CallableValueLoader,
  ConfigurationError,
  InvalidKeyError,
  MemoryStore,
  StaticKeyProvider,
  sleep,
  WarmingStrategy,
} from '../../functions/core';
import { advanceClock, useFakeClock } from '../support/fakeClock';
import { concurrencyProbe } from '../support/loaders';

const keys = (count: number, prefix = 'key') =>
  Array.from({ length: count }, (_, index) => `${prefix}:${index}`);
const loadedValue = (key: string) => `value of ${key}`;
const noDelays = { retryBaseDelayMs: 0, retryMaxDelayMs: 0 };

afterEach(() => {
  vi.useRealTimers();
});

describe('CacheWarmer.warm', () => {
  it('loads every provided key and writes its value', async () => {
    const cache = new Map<string, string>();
    const warmer = new CacheWarmer(
      cache,
      new StaticKeyProvider(keys(50)),
      new CallableValueLoader(loadedValue),
    );

    const stats = await warmer.warm();

    expect(stats).toMatchObject({
      keysWarmed: 50,
      keysFailed: 0,
      keysSkipped: 0,
      successRate: 1,
      cancelled: false,
    });
    expect(cache.size).toBe(50);
    expect(cache.get('key:7')).toBe('value of key:7');
  });

  it('warms the keys it is given instead of the provider keys', async () => {
    const cache = new Map<string, string>();
    const warmer = new CacheWarmer(
      cache,
      new StaticKeyProvider(['unused']),
      new CallableValueLoader(loadedValue),
    );

    const stats = await warmer.warm(['a', 'b']);

    expect(stats.keysWarmed).toBe(2);
    expect([...cache.keys()].sort()).toEqual(['a', 'b']);
  });

  it('loads a duplicated key once and counts it once', async () => {
    const { probe, loader } = concurrencyProbe(loadedValue);
    const warmer = new CacheWarmer(new Map(), new StaticKeyProvider(['a', 'b', 'a', 'a']), loader);

    const stats = await warmer.warm();

    expect(stats.keysWarmed).toBe(2);
    expect(probe.calls).toBe(2);
  });

  it('never has more than maxWorkers loads in flight', async () => {
    const { probe, loader } = concurrencyProbe(loadedValue, 2);
    const warmer = new CacheWarmer(new Map(), new StaticKeyProvider(keys(200)), loader, { maxWorkers: 7 });

    await warmer.warm();

    expect(probe.peak).toBe(7);
  });

  it('hands a batch loader at most batchSize keys per call', async () => {
    const batches: number[] = [];
    const loader = new BatchValueLoader(async (batch: readonly string[]) => {
      batches.push(batch.length);
      return new Map(batch.map((key) => [key, loadedValue(key)]));
    });
    const cache = new Map<string, string>();
    const warmer = new CacheWarmer(cache, new StaticKeyProvider(keys(250)), loader, { batchSize: 100 });

    const stats = await warmer.warm();

    expect(batches.sort((a, b) => b - a)).toEqual([100, 100, 50]);
    expect(stats.keysWarmed).toBe(250);
    expect(cache.get('key:249')).toBe('value of key:249');
  });

  it('counts a key the loader has no value for as skipped, and a key left out of a batch too', async () => {
    const single = new CacheWarmer(
      new Map(),
      new StaticKeyProvider(['present', 'absent']),
      new CallableValueLoader((key: string) => (key === 'absent' ? undefined : key)),
    );
    const batch = new CacheWarmer(
      new Map(),
      new StaticKeyProvider(['present', 'absent']),
      new BatchValueLoader(async () => new Map([['present', 1]])),
    );

    for (const stats of [await single.warm(), await batch.warm()]) {
      expect(stats.keysWarmed).toBe(1);
      expect(stats.keysSkipped).toBe(1);
      expect(stats.skipped.get('absent')).toBe('the loader returned no value');
    }
  });

  it('caches null as a value: only undefined means no value', async () => {
    const cache = new Map<string, null>();
    const warmer = new CacheWarmer(cache, new StaticKeyProvider(['k']), new CallableValueLoader(() => null));

    expect((await warmer.warm()).keysWarmed).toBe(1);
    expect(cache.has('k')).toBe(true);
  });

  it('retries a failing load up to maxRetries times and then reports its last error', async () => {
    const attempts = new Map<string, number>();
    const loader = new CallableValueLoader((key: string) => {
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      if (key === 'flaky' && attempt < 3) throw new Error(`flaky attempt ${attempt}`);
      if (key === 'broken') throw new Error(`broken attempt ${attempt}`);
      return key;
    });
    const warmer = new CacheWarmer(new Map(), new StaticKeyProvider(['flaky', 'broken', 'fine']), loader, {
      maxRetries: 3,
      ...noDelays,
    });

    const stats = await warmer.warm();

    expect(stats.keysWarmed).toBe(2);
    expect(stats.keysFailed).toBe(1);
    expect(stats.failures).toEqual(new Map([['broken', 'broken attempt 4']]));
    expect(attempts.get('flaky')).toBe(3);
    expect(attempts.get('broken')).toBe(4);
    expect(stats.successRate).toBeCloseTo(2 / 3);
  });

  it('does not retry when retryOnFailure is false', async () => {
    let calls = 0;
    const loader = new CallableValueLoader(() => {
      calls++;
      throw new Error('down');
    });
    const warmer = new CacheWarmer(new Map(), new StaticKeyProvider(['k']), loader, {
      retryOnFailure: false,
    });

    const stats = await warmer.warm();

    expect(calls).toBe(1);
    expect(stats.failures.get('k')).toBe('down');
  });

  it('fails a whole batch when the batch loader throws, without touching other batches', async () => {
    const loader = new BatchValueLoader(async (batch: readonly string[]) => {
      if (batch.includes('key:0')) throw new Error('batch exploded');
      return new Map(batch.map((key) => [key, key]));
    });
    const warmer = new CacheWarmer(new Map(), new StaticKeyProvider(keys(20)), loader, {
      batchSize: 10,
      maxRetries: 1,
      ...noDelays,
    });

    const stats = await warmer.warm();

    expect(stats.keysWarmed).toBe(10);
    expect(stats.keysFailed).toBe(10);
    expect(stats.failures.get('key:9')).toBe('batch exploded');
  });

  it('backs off exponentially with full jitter between retries', async () => {
    useFakeClock();
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const attemptTimes: number[] = [];
    const loader = new CallableValueLoader(() => {
      attemptTimes.push(Date.now());
      throw new Error('down');
    });
    const warmer = new CacheWarmer(new Map(), new StaticKeyProvider(['k']), loader, {
      maxRetries: 3,
      retryBaseDelayMs: 100,
      retryMaxDelayMs: 300,
    });

    const result = warmer.warm();
    await vi.runAllTimersAsync();
    await result;

    const gaps = attemptTimes.slice(1).map((time, index) => time - (attemptTimes[index] as number));
    // Ceilings 100, 200, then 400 capped at 300; a random draw of 0.999 lands just under each.
    expect(gaps).toEqual([99, 199, 299]);
  });

  it('fails an attempt that exceeds attemptTimeoutSeconds, and aborts the signal the loader got', async () => {
    useFakeClock();
    let aborted = false;
    const loader = new CallableValueLoader(async (_key: string, signal: AbortSignal) => {
      signal.addEventListener('abort', () => {
        aborted = true;
      });
      await sleep(60_000);
      return 'late';
    });
    const warmer = new CacheWarmer(new Map(), new StaticKeyProvider(['slow']), loader, {
      attemptTimeoutSeconds: 2,
      retryOnFailure: false,
      warmupTimeoutSeconds: 120,
    });

    const result = warmer.warm();
    await vi.advanceTimersByTimeAsync(2_001);
    const stats = await result;

    expect(stats.failures.get('slow')).toBe('loading slow timed out after 2000 ms');
    expect(aborted).toBe(true);
  });

  it('ends at warmupTimeoutSeconds: keys in flight fail, keys not reached are skipped and listed', async () => {
    useFakeClock();
    const loader = new CallableValueLoader(async (key: string) => {
      await sleep(1_000);
      return key;
    });
    const warmer = new CacheWarmer(new Map(), new StaticKeyProvider(keys(10)), loader, {
      maxWorkers: 2,
      warmupTimeoutSeconds: 2.5,
      attemptTimeoutSeconds: 30,
    });

    const result = warmer.warm();
    await vi.advanceTimersByTimeAsync(2_600);
    const stats = await result;

    expect(stats.keysWarmed).toBe(4);
    expect(stats.keysFailed).toBe(2);
    expect(stats.keysSkipped).toBe(4);
    expect(stats.failures.get('key:4')).toMatch(/warmupTimeoutSeconds \(2.5 s\)/);
    expect(stats.skipped.get('key:9')).toBe('not reached before warmupTimeoutSeconds (2.5 s)');
  });

  it('reports a failed write for each key of the batch, after retrying it', async () => {
    let writes = 0;
    const store: CacheStore<string, string> = {
      ...new MemoryStore<string, string>(),
      get: async () => undefined,
      set: async (key) => ({ key, status: 'written' }),
      delete: async () => false,
      setMany: async () => {
        writes++;
        throw new Error('connection refused');
      },
    };
    const warmer = new CacheWarmer(
      store,
      new StaticKeyProvider(['a', 'b']),
      new CallableValueLoader(loadedValue),
      {
        maxRetries: 2,
        ...noDelays,
      },
    );

    const stats = await warmer.warm();

    expect(stats.keysFailed).toBe(2);
    expect(stats.failures.get('a')).toBe('write failed: connection refused');
    expect(writes).toBe(3);
  });

  it('reports entries the store rejected or skipped, each with the store’s reason', async () => {
    const store: CacheStore<string, string> = {
      get: async () => undefined,
      set: async (key) => ({ key, status: 'written' }),
      delete: async () => false,
      setMany: async (entries: readonly CacheEntry<string, string>[]) =>
        entries.map((entry): WriteResult<string> => {
          if (entry.key === 'big') return { key: entry.key, status: 'rejected', reason: 'value is 2 MiB' };
          if (entry.key === 'kept') return { key: entry.key, status: 'skipped', reason: 'already cached' };
          return { key: entry.key, status: 'written' };
        }),
    };
    const warmer = new CacheWarmer(
      store,
      new StaticKeyProvider(['big', 'kept', 'ok']),
      new CallableValueLoader(loadedValue),
    );

    const stats = await warmer.warm();

    expect(stats).toMatchObject({ keysWarmed: 1, keysFailed: 1, keysSkipped: 1 });
    expect(stats.failures.get('big')).toBe('value is 2 MiB');
    expect(stats.skipped.get('kept')).toBe('already cached');
  });

  it('writes with ttlSeconds when it is set', async () => {
    const store = new MemoryStore<string, string>();
    const warmer = new CacheWarmer(
      store,
      new StaticKeyProvider(['k']),
      new CallableValueLoader(loadedValue),
      {
        ttlSeconds: 60,
      },
    );

    await warmer.warm();

    const remaining = (await store.remainingTtl(['k'])).get('k') as number;
    expect(remaining).toBeGreaterThan(59_000);
    expect(remaining).toBeLessThanOrEqual(60_000);
  });

  it('with versionOf, never replaces a newer cached version', async () => {
    const store = new MemoryStore<string, { version: number; name: string }>();
    await store.set('k', { version: 6, name: 'newer' }, { version: 6 });
    const warmer = new CacheWarmer(
      store,
      new StaticKeyProvider(['k', 'fresh']),
      new CallableValueLoader((key: string) => ({ version: 5, name: `older ${key}` })),
      {},
      { versionOf: (value) => value.version },
    );

    const stats = await warmer.warm();

    expect(await store.get('k')).toEqual({ version: 6, name: 'newer' });
    expect(stats.skipped.get('k')).toBe('cached version 6 is not older than 5');
    expect(await store.get('fresh')).toEqual({ version: 5, name: 'older fresh' });
  });

  it('rejects a provider key that is undefined or null before loading anything', async () => {
    const { probe, loader } = concurrencyProbe(loadedValue);
    const warmer = new CacheWarmer(
      new Map(),
      new StaticKeyProvider(['a', undefined as unknown as string]),
      loader,
    );

    await expect(warmer.warm()).rejects.toThrow(new InvalidKeyError('key at position 1 is undefined'));
    expect(probe.calls).toBe(0);
  });

  it('takes keys from an async iterable provider', async () => {
    const provider = new CallableKeyProvider(async function* () {
      yield 'page1:a';
      yield { key: 'page2:b', weight: 3 };
    });
    const cache = new Map<string, string>();

    const stats = await new CacheWarmer(cache, provider, new CallableValueLoader(loadedValue)).warm();

    expect(stats.keysWarmed).toBe(2);
    expect(cache.has('page2:b')).toBe(true);
  });

  it('starts loading while the provider is still listing keys', async () => {
    const loaded: string[] = [];
    let releaseSecondPage = (): void => undefined;
    const secondPage = new Promise<void>((resolve) => {
      releaseSecondPage = resolve;
    });
    const provider = new CallableKeyProvider(async function* () {
      yield 'page1:a';
      await secondPage;
      yield 'page2:b';
    });
    const loader = new CallableValueLoader((key: string) => {
      loaded.push(key);
      if (key === 'page1:a') releaseSecondPage();
      return key;
    });

    const stats = await new CacheWarmer(new Map(), provider, loader).warm();

    expect(loaded).toEqual(['page1:a', 'page2:b']);
    expect(stats.keysWarmed).toBe(2);
  });

  it('rejects an invalid configuration with the option named', () => {
    expect(
      () =>
        new CacheWarmer(new Map(), new StaticKeyProvider([]), new CallableValueLoader(loadedValue), {
          maxWorkers: 0,
        }),
    ).toThrow(new ConfigurationError('maxWorkers', 'expected a whole number from 1 to 10000, got 0'));
  });
});

describe('priority and limits', () => {
  it('loads higher weights first', async () => {
    const order: string[] = [];
    const loader = new CallableValueLoader((key: string) => {
      order.push(key);
      return key;
    });
    const provider = new StaticKeyProvider([
      { key: 'low', weight: 1 },
      'unweighted',
      { key: 'high', weight: 50 },
      { key: 'mid', weight: 10 },
    ]);

    await new CacheWarmer(new Map(), provider, loader, { maxWorkers: 1 }).warm();

    expect(order).toEqual(['high', 'mid', 'low', 'unweighted']);
  });

  it('keeps the highest weight of a key listed twice', async () => {
    const order: string[] = [];
    const loader = new CallableValueLoader((key: string) => {
      order.push(key);
      return key;
    });
    const provider = new StaticKeyProvider([
      { key: 'a', weight: 1 },
      { key: 'b', weight: 5 },
      { key: 'a', weight: 9 },
    ]);

    await new CacheWarmer(new Map(), provider, loader, { maxWorkers: 1 }).warm();

    expect(order).toEqual(['a', 'b']);
  });

  it('warms only the top maxKeysPerRun keys and lists the rest as skipped', async () => {
    const cache = new Map<string, string>();
    const provider = new StaticKeyProvider(keys(10).map((key, index) => ({ key, weight: index })));

    const stats = await new CacheWarmer(cache, provider, new CallableValueLoader(loadedValue), {
      maxKeysPerRun: 3,
    }).warm();

    expect([...cache.keys()].sort()).toEqual(['key:7', 'key:8', 'key:9']);
    expect(stats.keysSkipped).toBe(7);
    expect(stats.skipped.get('key:0')).toBe('beyond maxKeysPerRun (3) by weight');
  });
});

describe('when the cache store fails', () => {
  /** A store whose `setMany` is `writeMany`; a per-key loader that takes 1 s per key. */
  const setUp = (writeMany: CacheStore<string, string>['setMany'], config: Partial<WarmingConfig> = {}) => {
    const store: CacheStore<string, string> = {
      get: async () => undefined,
      set: async (key) => ({ key, status: 'written' }),
      delete: async () => false,
      setMany: writeMany,
    };
    const { probe, loader } = concurrencyProbe(loadedValue, 1_000);
    const warmer = new CacheWarmer(store, new StaticKeyProvider(keys(20)), loader, {
      maxWorkers: 2,
      maxRetries: 1,
      retryBaseDelayMs: 100,
      retryMaxDelayMs: 100,
      warmupTimeoutSeconds: 60,
      ...config,
    });
    return { probe, warmer };
  };

  it('stops loading once a write fails after its retries, and fails every unwritten key with that error', async () => {
    useFakeClock();
    let writes = 0;
    const { probe, warmer } = setUp(async () => {
      writes++;
      throw new Error('connection refused');
    });

    let stats: WarmingStats<string> | undefined;
    const run = warmer.warm().then((result) => {
      stats = result;
    });
    await advanceClock(3_000, 100);

    expect(stats).toMatchObject({ keysWarmed: 0, keysFailed: 20, keysSkipped: 0 });
    expect(writes).toBe(2);
    // Each of the 2 workers loaded its next key while its write retried; the store's failure gave those up.
    expect(probe.calls).toBe(4);
    expect(stats?.failures.get('key:0')).toBe('write failed: connection refused');
    for (const key of ['key:2', 'key:19']) {
      expect(stats?.failures.get(key)).toBe(
        'not written: the cache store failed a write (connection refused)',
      );
    }
    await run;
  });

  it('gives up the loads in flight when the store fails, aborting their signals', async () => {
    useFakeClock();
    const aborted: string[] = [];
    const loader = new CallableValueLoader(async (key: string, signal: AbortSignal) => {
      signal.addEventListener('abort', () => aborted.push(key));
      await sleep(key === 'key:0' ? 1_000 : 10_000);
      return loadedValue(key);
    });
    const store: CacheStore<string, string> = {
      get: async () => undefined,
      set: async (key) => ({ key, status: 'written' }),
      delete: async () => false,
      setMany: async () => {
        throw new Error('connection refused');
      },
    };
    const warmer = new CacheWarmer(store, new StaticKeyProvider(keys(4)), loader, {
      maxWorkers: 4,
      maxRetries: 0,
    });

    let stats: WarmingStats<string> | undefined;
    const run = warmer.warm().then((result) => {
      stats = result;
    });
    await advanceClock(2_000, 100);

    expect(stats?.keysFailed).toBe(4);
    expect(aborted.sort()).toEqual(['key:1', 'key:2', 'key:3']);
    expect(stats?.failures.get('key:3')).toBe(
      'not written: the cache store failed a write (connection refused)',
    );
    await run;
  });

  it('goes on when the store recovers within a write’s retries', async () => {
    useFakeClock();
    let writes = 0;
    const { warmer } = setUp(async (entries) => {
      writes++;
      if (writes === 1) throw new Error('connection reset');
      return entries.map(({ key }) => ({ key, status: 'written' as const }));
    });

    const result = warmer.warm();
    await advanceClock(11_000);
    const stats = await result;

    expect(stats).toMatchObject({ keysWarmed: 20, keysFailed: 0, keysSkipped: 0 });
  });

  it('goes on when the store refuses entries one by one', async () => {
    useFakeClock();
    const { probe, warmer } = setUp(async (entries) =>
      entries.map(({ key }) => ({ key, status: 'rejected' as const, reason: 'value too large' })),
    );

    const result = warmer.warm();
    await advanceClock(11_000);
    const stats = await result;

    expect(probe.calls).toBe(20);
    expect(stats).toMatchObject({ keysWarmed: 0, keysFailed: 20 });
    expect(stats.failures.get('key:19')).toBe('value too large');
  });

  it('leaves keys a cancel stopped skipped, even when the store fails afterwards', async () => {
    useFakeClock();
    const { warmer } = setUp(async () => {
      throw new Error('connection refused');
    });

    const run = warmer.warmAsync();
    await vi.advanceTimersByTimeAsync(500);
    run.cancel();
    await advanceClock(3_000, 100);
    const stats = await run.result;

    expect(stats).toMatchObject({ cancelled: true, keysFailed: 2, keysSkipped: 18 });
    expect(stats.skipped.get('key:19')).toBe('the run was cancelled before it was loaded');
  });
});

describe('warmAsync', () => {
  it('reports progress while it runs and calls onProgress', async () => {
    const snapshots: number[] = [];
    const loader = new CallableValueLoader(async (key: string) => {
      await sleep(1);
      return key;
    });
    const warmer = new CacheWarmer(new Map(), new StaticKeyProvider(keys(20)), loader, { maxWorkers: 2 });

    const run = warmer.warmAsync(undefined, {
      onProgress: (progress) => snapshots.push(progress.keysWarmed),
    });
    const stats = await run.result;

    expect(stats.keysWarmed).toBe(20);
    expect(snapshots.length).toBeGreaterThan(5);
    expect(snapshots.at(-1)).toBe(20);
    expect(run.progress()).toMatchObject({ keysPlanned: 20, keysWarmed: 20, inFlight: 0, etaMs: 0 });
  });

  it('cancel lets loads in flight finish and skips the rest', async () => {
    useFakeClock();
    const cache = new Map<string, string>();
    const loader = new CallableValueLoader(async (key: string) => {
      await sleep(100);
      return key;
    });
    const warmer = new CacheWarmer(cache, new StaticKeyProvider(keys(10)), loader, { maxWorkers: 2 });

    const run = warmer.warmAsync();
    await vi.advanceTimersByTimeAsync(150);
    run.cancel();
    await vi.runAllTimersAsync();
    const stats = await run.result;

    expect(stats.cancelled).toBe(true);
    expect(stats.keysWarmed).toBe(4);
    expect(stats.keysSkipped).toBe(6);
    expect(cache.size).toBe(4);
    expect(stats.skipped.get('key:9')).toBe('the run was cancelled before it was loaded');
  });

  it('an aborted signal cancels the run', async () => {
    const controller = new AbortController();
    controller.abort();
    const { probe, loader } = concurrencyProbe(loadedValue);
    const run = new CacheWarmer(new Map(), new StaticKeyProvider(keys(5)), loader).warmAsync(undefined, {
      signal: controller.signal,
    });

    const stats = await run.result;

    expect(stats).toMatchObject({ cancelled: true, keysSkipped: 5, keysWarmed: 0 });
    expect(probe.calls).toBe(0);
  });
});

describe('warmKey', () => {
  it('is true when a value was written and false otherwise', async () => {
    const cache = new Map<string, string>();
    const warmer = new CacheWarmer(
      cache,
      new StaticKeyProvider([]),
      new CallableValueLoader((key: string) => (key === 'missing' ? undefined : loadedValue(key))),
    );

    expect(await warmer.warmKey('present')).toBe(true);
    expect(await warmer.warmKey('missing')).toBe(false);
    expect(cache.get('present')).toBe('value of present');
  });
});

describe('TTL-aware refresh', () => {
  it('a scheduled run refreshes only missing keys and keys inside their refresh window', async () => {
    useFakeClock();
    const store = new MemoryStore<string, string>();
    await store.setMany([
      { key: 'fresh', value: 'old', ttlSeconds: 100 },
      { key: 'stale', value: 'old', ttlSeconds: 15 },
    ]);
    const warmer = new CacheWarmer(
      store,
      new StaticKeyProvider(['fresh', 'stale', 'missing']),
      new CallableValueLoader((key: string) => `new ${key}`),
      {
        strategy: WarmingStrategy.SCHEDULED,
        refreshIntervalSeconds: 10,
        ttlSeconds: 100,
        refreshAheadRatio: 0.8,
      },
    );

    warmer.startScheduler();
    await vi.advanceTimersByTimeAsync(10_000);
    await warmer.stopScheduler();

    // 'stale' has 5 s left, inside the last 20 s of a 100 s TTL; 'fresh' has 90 s left.
    expect(await store.get('fresh')).toBe('old');
    expect(await store.get('stale')).toBe('new stale');
    expect(await store.get('missing')).toBe('new missing');
    const stats = warmer.schedulerStatus().lastStats;
    expect(stats?.skipped.get('fresh')).toBe('fresh: 90 s of its TTL left');
  });

  it('warm() called directly refreshes every key', async () => {
    const store = new MemoryStore<string, string>();
    await store.set('fresh', 'old', { ttlSeconds: 100 });
    const warmer = new CacheWarmer(
      store,
      new StaticKeyProvider(['fresh']),
      new CallableValueLoader(loadedValue),
      {
        ttlSeconds: 100,
      },
    );

    await warmer.warm();

    expect(await store.get('fresh')).toBe('value of fresh');
  });
});

describe('scheduler', () => {
  const countingWarmer = (strategy: WarmingStrategy, loadMs = 0) => {
    let runs = 0;
    const provider = new CallableKeyProvider(() => {
      runs++;
      return ['k'];
    });
    const loader = new CallableValueLoader(async (key: string) => {
      if (loadMs > 0) await sleep(loadMs);
      return key;
    });
    const warmer = new CacheWarmer(new Map(), provider, loader, {
      strategy,
      refreshIntervalSeconds: 60,
      warmupTimeoutSeconds: 600,
      attemptTimeoutSeconds: 600,
    });
    return { warmer, runs: () => runs };
  };

  it('SCHEDULED warms every refreshIntervalSeconds', async () => {
    useFakeClock();
    const { warmer, runs } = countingWarmer(WarmingStrategy.SCHEDULED);

    warmer.startScheduler();
    expect(runs()).toBe(0);
    await advanceClock(180_000);
    await warmer.stopScheduler();

    expect(runs()).toBe(3);
    expect(warmer.schedulerStatus()).toMatchObject({ running: false, runs: 3, skippedTicks: 0 });
  });

  it('ADAPTIVE warms on the interval too', async () => {
    useFakeClock();
    const { warmer, runs } = countingWarmer(WarmingStrategy.ADAPTIVE);

    warmer.startScheduler();
    await advanceClock(120_000);
    await warmer.stopScheduler();

    expect(runs()).toBe(2);
  });

  it('EAGER warms at once, then on the interval', async () => {
    useFakeClock();
    const { warmer, runs } = countingWarmer(WarmingStrategy.EAGER);

    warmer.startScheduler();
    await advanceClock(0);
    expect(runs()).toBe(1);
    await advanceClock(60_000);
    await warmer.stopScheduler();

    expect(runs()).toBe(2);
  });

  it('LAZY schedules nothing', async () => {
    useFakeClock();
    const { warmer, runs } = countingWarmer(WarmingStrategy.LAZY);

    warmer.startScheduler();
    await advanceClock(600_000);
    await warmer.stopScheduler();

    expect(runs()).toBe(0);
  });

  it('skips and counts a tick that finds the previous run still in flight', async () => {
    useFakeClock();
    const { warmer, runs } = countingWarmer(WarmingStrategy.SCHEDULED, 150_000);

    warmer.startScheduler();
    await advanceClock(240_000);

    expect(runs()).toBe(2);
    expect(warmer.schedulerStatus().skippedTicks).toBe(2);
    const stopping = warmer.stopScheduler();
    await advanceClock(150_000);
    await stopping;
  });

  it('stopScheduler resolves after the run in flight has stopped', async () => {
    useFakeClock();
    const { warmer } = countingWarmer(WarmingStrategy.EAGER, 5_000);

    warmer.startScheduler();
    await advanceClock(1_000);
    let stopped = false;
    const stopping = warmer.stopScheduler().then(() => {
      stopped = true;
    });
    await advanceClock(1_000);
    expect(stopped).toBe(false);
    await advanceClock(4_000);
    await stopping;

    expect(stopped).toBe(true);
    expect(warmer.schedulerStatus()).toMatchObject({ running: false, runs: 1 });
  });

  it('records why a scheduled run could not be planned and keeps ticking', async () => {
    useFakeClock();
    let calls = 0;
    const provider = new CallableKeyProvider(() => {
      calls++;
      if (calls === 1) throw new Error('listing failed');
      return ['k'];
    });
    const warmer = new CacheWarmer(new Map(), provider, new CallableValueLoader(loadedValue), {
      strategy: WarmingStrategy.SCHEDULED,
      refreshIntervalSeconds: 10,
    });

    warmer.startScheduler();
    await advanceClock(10_000);
    expect(warmer.schedulerStatus().lastError).toBe('listing failed');
    await advanceClock(10_000);
    await warmer.stopScheduler();

    expect(warmer.schedulerStatus()).toMatchObject({ runs: 1, lastError: undefined });
  });
});
