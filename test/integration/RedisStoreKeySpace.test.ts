import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisStore } from '../../functions/adapters/RedisStore';
import { SqsSender } from '../../functions/adapters/SqsSender';
import { WarmConsumer } from '../../functions/adapters/WarmConsumer';
import { CallableValueLoader, ConfigurationError, defaultWarmingConfig } from '../../functions/core';
import { InMemoryRunStore } from '../support/InMemoryRunStore';
import { type LocalRedis, startRedisServer } from '../support/redisServer';

const sqs = mockClient(SQSClient);
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/warm';

let redis: LocalRedis;
let raw: Redis;
const stores: RedisStore[] = [];

const openStore = (options: Partial<ConstructorParameters<typeof RedisStore>[0]> = {}): RedisStore => {
  const store = new RedisStore({ url: redis.url, ...options });
  stores.push(store);
  return store;
};

beforeAll(async () => {
  redis = await startRedisServer();
  raw = new Redis(redis.url);
});

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  raw?.disconnect();
  await redis?.stop();
});

beforeEach(async () => {
  await raw.flushall();
  sqs.reset();
  sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
    Successful: input.Entries.map((entry) => ({ Id: entry.Id, MessageId: `m-${entry.Id}` })),
    Failed: [],
  }));
});

/** Consumes one warm message of `keys` as the consume function does, against the real Redis. */
const consume = async (store: RedisStore, runId: string, keys: string[]) => {
  const runStore = new InMemoryRunStore();
  await runStore.createRun({
    runId,
    trigger: 'cli',
    strategy: 'LAZY',
    keysPlanned: keys.length,
    messages: 1,
  });
  const client = new SQSClient({ region: 'us-east-1' });
  const consumer = new WarmConsumer({
    cache: store,
    loader: new CallableValueLoader(async (key: string) => ({ id: key })),
    runStore,
    requeue: new SqsSender(client, QUEUE),
    deadLetters: new SqsSender(client, QUEUE),
    config: { ...defaultWarmingConfig(), retryBaseDelayMs: 0, retryMaxDelayMs: 0 },
    leaseOwner: `consumer-${runId}`,
  });
  await consumer.consume(
    [{ messageId: runId, body: JSON.stringify({ v: 1, runId, id: runId, keys, attempt: 0 }) }],
    () => 60_000,
  );
  return runStore.getRun(runId);
};

describe('RedisStore key space', () => {
  it('keeps leases where no warm key reaches: a key named like a lease never blocks another key', async () => {
    const store = openStore();
    await consume(store, 'run-1', ['lease:{product:1}']);
    expect(await raw.exists('lease:{product:1}')).toBe(1);

    for (const runId of ['run-2', 'run-3']) {
      await raw.del('product:1');
      const run = await consume(store, runId, ['product:1']);
      expect(run).toMatchObject({ keysWarmed: 1, keysSkipped: 0 });
      expect(await raw.get('product:1')).toBe('{"id":"product:1"}');
    }
  });

  it('rejects a warm key whose cache key falls in its own key space, and writes its neighbours', async () => {
    const store = openStore();
    const [lease] = [...(await store.acquireLeases(['product:2'], 'alice', 60_000))];
    expect(lease).toBe('product:2');
    const [leaseKey] = await raw.keys('__cache-warmers:lease:*');
    const results = await store.setMany([
      { key: leaseKey as string, value: 'taken' },
      { key: 'product:3', value: { id: 3 } },
    ]);
    expect(results[0]).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/own key space/) });
    expect(results[1]).toEqual({ key: 'product:3', status: 'written' });
    expect(await raw.get(leaseKey as string)).toBe('alice');
  });

  it('maps warm keys through the key template for writes, TTL checks, leases and deletes', async () => {
    const store = openStore({ keyTemplate: 'app:v3:product:{key}', ttlSeconds: 60 });
    await store.setMany([{ key: '7', value: { id: 7 } }]);
    expect(await raw.get('app:v3:product:7')).toBe('{"id":7}');
    expect((await store.remainingTtl(['7'])).get('7')).toBeGreaterThan(50_000);
    expect(await store.get('7')).toEqual({ id: 7 });
    expect(await store.acquireLeases(['7'], 'alice', 60_000)).toEqual(new Set(['7']));
    const leaseKeys = await raw.keys('__cache-warmers:lease:*');
    expect(leaseKeys).toEqual([expect.stringMatching(/}app:v3:product:7$/)]);
    expect(await store.delete('7')).toBe(true);
    expect(await raw.exists('app:v3:product:7')).toBe(0);
  });

  it('names the setting of a template that cannot map keys', () => {
    expect(() => openStore({ keyTemplate: 'app:v3:' })).toThrow(ConfigurationError);
    expect(() => openStore({ keyTemplate: 'app:v3:' })).toThrow(/keyTemplate/);
    expect(() => openStore({ keyTemplate: 'app:{key}', keyPrefix: 'app:' })).toThrow(/keyTemplate/);
  });
});
