import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { trackerTableDefinition } from '../../functions/adapters/DynamoAccessTracker';
import { runsTableDefinition } from '../../functions/adapters/DynamoRunStore';
import { createLambdaContext } from '../../functions/local/lambdaContext';
import { type LocalDynamo, startLocalDynamo } from '../support/dynalite';
import { type LocalSqs, startLocalSqs } from '../support/fauxqs';
import { type Handler, useLocalAws } from '../support/handlerEnvironment';

let sqs: LocalSqs;
let dynamo: LocalDynamo;
let warmQueueUrl: string;

const context = (functionName: string) =>
  createLambdaContext({ functionName, deadline: Date.now() + 30_000 });

/** The handler module as a cold start with the current environment loads it. */
const load = async (name: 'warm' | 'consume' | 'track' | 'control'): Promise<Handler> => {
  vi.resetModules();
  return (await import(`../../functions/handlers/${name}.ts`)).handler as Handler;
};

beforeAll(async () => {
  [sqs, dynamo] = await Promise.all([startLocalSqs(), startLocalDynamo()]);
  const warm = await sqs.createQueueWithDlq('warm', { maxReceiveCount: 5, visibilityTimeoutSeconds: 30 });
  warmQueueUrl = warm.queueUrl;
  const access = await sqs.createQueueWithDlq('access', { maxReceiveCount: 5, visibilityTimeoutSeconds: 30 });
  await dynamo.createTable(runsTableDefinition('runs'));
  await dynamo.createTable(trackerTableDefinition('tracker'));
  useLocalAws(sqs, dynamo, {
    CODOMYRMEX_WARMING_WARM_QUEUE_URL: warm.queueUrl,
    CODOMYRMEX_WARMING_WARM_DLQ_URL: warm.dlqUrl,
    CODOMYRMEX_WARMING_ACCESS_DLQ_URL: access.dlqUrl,
    CODOMYRMEX_WARMING_RUNS_TABLE: 'runs',
    CODOMYRMEX_WARMING_CACHE_URL: 'memory://bad-input',
    CODOMYRMEX_WARMING_KEY_SOURCES: JSON.stringify([{ type: 'static', keys: ['home'] }]),
    CODOMYRMEX_WARMING_VALUE_SOURCE: JSON.stringify({
      type: 'http',
      urlTemplate: 'http://127.0.0.1:9/{key}',
    }),
  });
}, 60_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await Promise.all([sqs?.close(), dynamo?.close()]);
});

describe('handlers answer bad invocations with { ok: false, error }, never a stack trace', () => {
  it('warm names the missing tracker table when asked for the adaptive provider', async () => {
    const warm = await load('warm');

    expect(await warm({ provider: 'adaptive' }, context('warm'))).toEqual({
      ok: false,
      error:
        'CODOMYRMEX_WARMING_TRACKER_TABLE: is not set: { "provider": "adaptive" } warms the hot keys of the access tracker table; deploy with one',
    });
  });

  it('warm refuses a payload key SQS cannot carry, naming it, and queues nothing', async () => {
    const warm = await load('warm');

    const answer = (await warm({ keys: ['\uFFFE', 'good:1'] }, context('warm'))) as {
      ok: boolean;
      error: string;
    };

    expect(answer.ok).toBe(false);
    expect(answer.error).toBe(
      'key 0 ("\\ufffe"): a key must not hold U+FFFE, U+FFFF or a lone surrogate, which SQS messages cannot carry',
    );
    const queued = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: warmQueueUrl, MaxNumberOfMessages: 10 }),
    );
    expect(queued.Messages ?? []).toEqual([]);
  });

  it.each([
    [
      'an event without Records',
      {},
      'invalid payload: Records: Invalid input: expected array, received undefined',
    ],
    [
      'a record without a body',
      { Records: [{ messageId: 'm1' }] },
      'invalid payload: Records.0.body: Invalid input: expected string, received undefined',
    ],
  ])('consume and track answer %s', async (_, event, error) => {
    vi.stubEnv('CODOMYRMEX_WARMING_TRACKER_TABLE', 'tracker');
    for (const name of ['consume', 'track'] as const) {
      const handler = await load(name);
      expect(await handler(event, context(name))).toEqual({ ok: false, error });
    }
  });

  it('control answers a hot-key threshold beyond any read count', async () => {
    vi.stubEnv('CODOMYRMEX_WARMING_TRACKER_TABLE', 'tracker');
    const control = await load('control');

    expect(await control({ action: 'hotKeys', threshold: 1e308 }, context('control'))).toEqual({
      ok: false,
      error: 'invalid payload: threshold: expected a read count, at most 2^53 − 1',
    });
    expect(await control({ action: 'hotKeys', threshold: 3 }, context('control'))).toEqual({
      ok: true,
      hotKeys: [],
    });
  });
});
