import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runsTableDefinition } from '../../functions/adapters/DynamoRunStore';
import { RedisStore } from '../../functions/adapters/RedisStore';
import { parseWarmMessage } from '../../functions/adapters/warmMessage';
import { createLambdaContext } from '../../functions/local/lambdaContext';
import { type LocalDynamo, startLocalDynamo } from '../support/dynalite';
import { type LocalSqs, startLocalSqs } from '../support/fauxqs';
import { type Handler, useLocalAws } from '../support/handlerEnvironment';
import { type LocalRedis, startRedisServer } from '../support/redisServer';

const keys = Array.from({ length: 100 }, (_, index) => `k${index}`);
/** Written with the full TTL: nowhere near its refresh window. */
const fresh = keys.slice(0, 40);
/** Written with 60 s left of a 600 s TTL: inside the last 20 % (refreshAheadRatio 0.8). */
const expiringSoon = keys.slice(40, 60);
/** Not cached at all. */
const missing = keys.slice(60);

let sqs: LocalSqs;
let dynamo: LocalDynamo;
let redis: LocalRedis;
let store: RedisStore;
let queueUrl: string;
let warm: Handler;

const context = () => createLambdaContext({ functionName: 'warm', deadline: Date.now() + 30_000 });

const receiveQueuedKeys = async (): Promise<string[]> => {
  const queued: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return queued;
    for (const message of Messages) queued.push(...parseWarmMessage(message.Body ?? '').keys);
  }
};

beforeAll(async () => {
  [sqs, dynamo, redis] = await Promise.all([startLocalSqs(), startLocalDynamo(), startRedisServer()]);
  const queues = await sqs.createQueueWithDlq('warm', { maxReceiveCount: 5, visibilityTimeoutSeconds: 30 });
  queueUrl = queues.queueUrl;
  await dynamo.createTable(runsTableDefinition('runs'));
  useLocalAws(sqs, dynamo, {
    CODOMYRMEX_WARMING_WARM_QUEUE_URL: queues.queueUrl,
    CODOMYRMEX_WARMING_RUNS_TABLE: 'runs',
    CODOMYRMEX_WARMING_CACHE_URL: redis.url,
    CODOMYRMEX_WARMING_TTL_SECONDS: '600',
    CODOMYRMEX_WARMING_REFRESH_AHEAD_RATIO: '0.8',
    CODOMYRMEX_WARMING_KEY_SOURCES: JSON.stringify([{ type: 'static', keys }]),
  });
  store = new RedisStore({ url: redis.url });
  await store.setMany(fresh.map((key) => ({ key, value: key, ttlSeconds: 600 })));
  await store.setMany(expiringSoon.map((key) => ({ key, value: key, ttlSeconds: 60 })));
  warm = (await import('../../functions/handlers/warm')).handler as unknown as Handler;
}, 60_000);

afterAll(async () => {
  await store?.close();
  await Promise.all([sqs?.close(), dynamo?.close(), redis?.stop()]);
});

describe('a TTL-aware scheduled warm', () => {
  it('plans only the keys that are missing or inside the refresh window', async () => {
    const plan = await warm({ trigger: 'schedule', dryRun: true }, context());

    expect(plan).toMatchObject({ ok: true, keysPlanned: 60, keysFresh: 40 });
  });

  it('queues exactly those keys, so hot keys are refreshed before they expire', async () => {
    const started = await warm({ trigger: 'schedule' }, context());

    expect(started).toMatchObject({ ok: true, status: 'started', keysPlanned: 60 });
    expect((await receiveQueuedKeys()).sort()).toEqual([...expiringSoon, ...missing].sort());
  });

  it('leaves an on-demand warm unfiltered: every key is queued', async () => {
    const started = await warm({ trigger: 'console', force: true }, context());

    expect(started).toMatchObject({ ok: true, status: 'started', keysPlanned: 100 });
    expect((await receiveQueuedKeys()).sort()).toEqual([...keys].sort());
  });
});

describe('a TTL given to a warm function that cannot read TTLs', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it.each([
    ['its bundle was built without the cache client', { CODOMYRMEX_BUNDLE_CACHE: 'omitted' }],
    ['it has no cache to ask', { CODOMYRMEX_WARMING_CACHE_URL: '' }],
  ])('is refused at cold start, naming the variable, when %s', async (_, variables) => {
    for (const [variable, value] of Object.entries(variables)) vi.stubEnv(variable, value);
    vi.resetModules();

    await expect(import('../../functions/handlers/warm')).rejects.toThrow(
      /^CODOMYRMEX_WARMING_TTL_SECONDS: TTL-aware warming/,
    );
  });
});
