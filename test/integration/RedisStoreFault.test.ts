import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../functions/adapters/RedisStore';
import { CacheWarmer, CallableValueLoader, StaticKeyProvider, sleep } from '../../functions/core';
import { type LocalRedis, startRedisServer } from '../support/redisServer';

const KEY_COUNT = 20_000;
const WARMUP_TIMEOUT_SECONDS = 10;
const keys = Array.from({ length: KEY_COUNT }, (_, index) => `fault:${index}`);
const config = {
  maxWorkers: 16,
  batchSize: 500,
  warmupTimeoutSeconds: WARMUP_TIMEOUT_SECONDS,
  attemptTimeoutSeconds: 3,
  maxRetries: 2,
  retryBaseDelayMs: 50,
  retryMaxDelayMs: 200,
};

let redis: LocalRedis;

beforeAll(async () => {
  redis = await startRedisServer();
});

afterAll(async () => {
  await redis?.stop();
});

const warmerFor = (store: RedisStore<string>) =>
  new CacheWarmer(
    store,
    new StaticKeyProvider(keys),
    new CallableValueLoader(async (key: string) => {
      await sleep(1);
      return `value of ${key}`;
    }),
    config,
  );

describe('RedisStore under a crashing server', () => {
  it('ends the run within its timeout with every unwritten key failed, then recovers after a restart', async () => {
    const store = new RedisStore<string>({ url: redis.url, ttlSeconds: 600, commandTimeoutMs: 1_000 });
    const run = warmerFor(store).warmAsync();
    const deadline = Date.now() + 10_000;
    while (run.progress().keysWarmed < KEY_COUNT / 10 && Date.now() < deadline) await sleep(5);
    expect(run.progress().keysWarmed).toBeLessThan(KEY_COUNT);
    await redis.kill();

    const startedAt = Date.now();
    const stats = await run.result;
    expect(Date.now() - startedAt).toBeLessThan(WARMUP_TIMEOUT_SECONDS * 1_000);
    expect(stats.keysWarmed).toBeGreaterThan(0);
    expect(stats.keysSkipped).toBe(0);
    expect(stats.keysFailed).toBe(KEY_COUNT - stats.keysWarmed);
    for (const reason of stats.failures.values()) expect(reason).not.toBe('');
    expect(stats.failures.get('fault:19999')).toMatch(/^not written: the cache store failed a write/);
    console.log(
      `after the kill: ${stats.keysWarmed} warmed, ${stats.keysFailed} failed, ${stats.keysSkipped} skipped; e.g. ${[...stats.failures.values()][0]}`,
    );
    await store.close();

    await redis.restart();
    const again = new RedisStore<string>({ url: redis.url, ttlSeconds: 600 });
    try {
      const second = await warmerFor(again).warm();
      expect(second.keysWarmed).toBe(KEY_COUNT);
      const raw = new Redis(redis.url);
      try {
        expect(await raw.dbsize()).toBe(KEY_COUNT);
      } finally {
        raw.disconnect();
      }
      expect(await again.get('fault:19999')).toBe('value of fault:19999');
    } finally {
      await again.close();
    }
  });
});
