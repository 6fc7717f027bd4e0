import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { SqsSender } from '../../functions/adapters/SqsSender';
import { WarmConsumer } from '../../functions/adapters/WarmConsumer';
import { parseWarmMessage, type WarmMessage } from '../../functions/adapters/warmMessage';
import { CallableValueLoader, defaultWarmingConfig, MemoryStore } from '../../functions/core';
import { InMemoryRunStore } from '../support/InMemoryRunStore';

const sqs = mockClient(SQSClient);
const WARM_QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/warm';
const DLQ = 'https://sqs.us-east-1.amazonaws.com/123456789012/warm-dlq';
const PLENTY_OF_TIME = () => 60_000;

const message = (id: string, keys: string[], attempt = 0): WarmMessage => ({
  v: 1,
  runId: 'run-1',
  id,
  keys,
  attempt,
});
const record = (body: WarmMessage | string, messageId = 'sqs-1') => ({
  messageId,
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

/** Bodies the mock SQS received for one queue. */
const sentTo = (queueUrl: string) =>
  sqs
    .commandCalls(SendMessageBatchCommand)
    .filter((call) => call.args[0].input.QueueUrl === queueUrl)
    .flatMap((call) => call.args[0].input.Entries ?? []);

const setUp = (
  load: (key: string) => unknown,
  options: { maxRetries?: number; keysPlanned?: number } = {},
) => {
  const cache = new MemoryStore<string, unknown>();
  const runStore = new InMemoryRunStore();
  const client = new SQSClient({ region: 'us-east-1' });
  const noWait = { maxRetries: 1, baseDelayMs: 0, maxDelayMs: 0 };
  const loads: string[] = [];
  const consumer = new WarmConsumer({
    cache,
    loader: new CallableValueLoader(async (key: string) => {
      loads.push(key);
      return load(key);
    }),
    runStore,
    requeue: new SqsSender(client, WARM_QUEUE, { retry: noWait }),
    deadLetters: new SqsSender(client, DLQ, { retry: noWait }),
    config: {
      ...defaultWarmingConfig(),
      maxRetries: options.maxRetries ?? 3,
      retryBaseDelayMs: 0,
      retryMaxDelayMs: 0,
    },
    leaseOwner: 'consumer-a',
  });
  const ready = runStore.createRun({
    runId: 'run-1',
    trigger: 'console',
    strategy: 'LAZY',
    keysPlanned: options.keysPlanned ?? 3,
    messages: 1,
  });
  return { cache, runStore, consumer, loads, ready };
};

beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
    Successful: input.Entries.map((entry) => ({ Id: entry.Id, MessageId: `m-${entry.Id}` })),
    Failed: [],
  }));
});

describe('WarmConsumer', () => {
  it('loads and writes every key of the batch and counts them in the run', async () => {
    const { cache, runStore, consumer, ready } = setUp((key) => ({ name: key }));
    await ready;

    const result = await consumer.consume([record(message('run-1/0', ['a', 'b', 'c']))], PLENTY_OF_TIME);

    expect(result.batchItemFailures).toEqual([]);
    expect(await cache.get('b')).toEqual({ name: 'b' });
    expect(await runStore.getRun('run-1')).toMatchObject({ keysWarmed: 3, status: 'finished' });
    expect(result.summary.runsFinished.map((run) => run.runId)).toEqual(['run-1']);
  });

  it('writes the keys that loaded and re-enqueues only the failed ones, with their attempt and error', async () => {
    const { cache, runStore, consumer, ready } = setUp((key) => {
      if (key === 'broken') throw new Error('origin said 503');
      return key;
    });
    await ready;
    const recordProgress = vi.spyOn(runStore, 'recordProgress');

    const result = await consumer.consume([record(message('run-1/0', ['a', 'broken', 'c']))], PLENTY_OF_TIME);

    expect(result.batchItemFailures).toEqual([]);
    expect(await cache.get('a')).toBe('a');
    const [requeued] = sentTo(WARM_QUEUE);
    expect(parseWarmMessage(requeued?.MessageBody ?? '')).toEqual({
      v: 1,
      runId: 'run-1',
      id: 'run-1/0.1',
      keys: ['broken'],
      attempt: 1,
      errors: { broken: 'origin said 503' },
    });
    // The first re-enqueue waits a full-jitter backoff under 2 × the 5 s base.
    expect(requeued?.DelaySeconds).toBeLessThan(10);
    expect(await runStore.getRun('run-1')).toMatchObject({ keysWarmed: 2, keysFailed: 0, status: 'running' });
    // The run learns that the remainder carries one of the message's keys.
    expect(recordProgress.mock.calls[0]?.[2]).toMatchObject({ warmed: 2, failed: 0, requeued: 1 });
  });

  it('keeps the batch outcome when giving the leases back fails: they expire on their own', async () => {
    const { cache, runStore, consumer, ready } = setUp((key) => {
      if (key === 'broken') throw new Error('origin said 503');
      return key;
    });
    await ready;
    cache.releaseLeases = async () => {
      throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
    };

    const result = await consumer.consume([record(message('run-1/0', ['a', 'broken', 'c']))], PLENTY_OF_TIME);

    expect(result.batchItemFailures).toEqual([]);
    expect(sentTo(WARM_QUEUE).flatMap((entry) => parseWarmMessage(entry.MessageBody ?? '').keys)).toEqual([
      'broken',
    ]);
    expect(await runStore.getRun('run-1')).toMatchObject({ keysWarmed: 2 });
  });

  it('re-enqueues every key with the reason when the cache cannot be reached to lease them', async () => {
    const { cache, runStore, consumer, ready } = setUp((key) => key);
    await ready;
    cache.acquireLeases = async () => {
      throw new Error('Connection is closed.');
    };

    const result = await consumer.consume([record(message('run-1/0', ['a', 'b']))], PLENTY_OF_TIME);

    expect(result.batchItemFailures).toEqual([]);
    const [requeued] = sentTo(WARM_QUEUE);
    expect(parseWarmMessage(requeued?.MessageBody ?? '')).toMatchObject({
      keys: ['a', 'b'],
      errors: {
        a: 'not loaded: the cache could not be reached: Connection is closed.',
        b: 'not loaded: the cache could not be reached: Connection is closed.',
      },
    });
    expect(await runStore.getRun('run-1')).toMatchObject({ keysWarmed: 0, keysFailed: 0, status: 'running' });
  });

  it('dead-letters a key with its last error once maxRetries deliveries are spent, and counts it failed', async () => {
    const { runStore, consumer, ready } = setUp(
      (key) => {
        if (key === 'poison') throw new Error('cannot parse row 42');
        return key;
      },
      { maxRetries: 3 },
    );
    await ready;
    await runStore.recordProgress('run-1', 'run-1/0', { warmed: 2, failed: 0, skipped: 0 });

    const result = await consumer.consume([record(message('run-1/0.2', ['poison'], 2))], PLENTY_OF_TIME);

    expect(result.batchItemFailures).toEqual([]);
    expect(sentTo(WARM_QUEUE)).toHaveLength(0);
    const [deadLetter] = sentTo(DLQ);
    expect(parseWarmMessage(deadLetter?.MessageBody ?? '').errors).toEqual({ poison: 'cannot parse row 42' });
    expect(deadLetter?.MessageAttributes?.reason?.StringValue).toBe('failed 3 deliveries');
    expect(await runStore.getRun('run-1')).toMatchObject({
      keysWarmed: 2,
      keysFailed: 1,
      status: 'finished',
    });
  });

  it('sends a malformed body to the DLQ at once, with the reason, and does not fail the batch', async () => {
    const { consumer, loads, ready } = setUp((key) => key);
    await ready;

    const result = await consumer.consume(
      [record('{"keys": "not-a-list"}', 'bad'), record(message('run-1/0', ['a']), 'good')],
      PLENTY_OF_TIME,
    );

    expect(result.batchItemFailures).toEqual([]);
    const [deadLetter] = sentTo(DLQ);
    expect(deadLetter?.MessageBody).toBe('{"keys": "not-a-list"}');
    expect(deadLetter?.MessageAttributes?.reason?.StringValue).toMatch(
      /^message body is not a warm message: v: /,
    );
    expect(loads).toEqual(['a']);
  });

  it('loads nothing for a cancelled run and counts its keys skipped', async () => {
    const { runStore, consumer, loads, ready } = setUp((key) => key);
    await ready;
    await runStore.cancelRun('run-1');

    await consumer.consume([record(message('run-1/0', ['a', 'b']))], PLENTY_OF_TIME);

    expect(loads).toEqual([]);
    expect(await runStore.getRun('run-1')).toMatchObject({
      keysSkipped: 2,
      skippedReasons: [{ reason: 'the run was cancelled', count: 2, sample: ['a', 'b'] }],
      status: 'cancelled',
    });
  });

  it('skips a key whose lease another loader holds, and counts it', async () => {
    const { cache, runStore, consumer, loads, ready } = setUp((key) => key);
    await ready;
    await cache.acquireLeases(['b'], 'consumer-b', 60_000);

    await consumer.consume([record(message('run-1/0', ['a', 'b', 'c']))], PLENTY_OF_TIME);

    expect(loads.sort()).toEqual(['a', 'c']);
    expect(await runStore.getRun('run-1')).toMatchObject({
      keysWarmed: 2,
      keysSkipped: 1,
      skippedReasons: [{ reason: 'another loader holds its lease', count: 1, sample: ['b'] }],
    });
    expect(await cache.acquireLeases(['a', 'c'], 'consumer-b', 1_000)).toEqual(new Set(['a', 'c']));
  });

  it('counts a redelivered message once', async () => {
    const { runStore, consumer, ready } = setUp((key) => key, { keysPlanned: 10 });
    await ready;
    const delivery = record(message('run-1/0', ['a', 'b']));

    await consumer.consume([delivery], PLENTY_OF_TIME);
    await consumer.consume([delivery], PLENTY_OF_TIME);

    expect(await runStore.getRun('run-1')).toMatchObject({ keysWarmed: 2 });
  });

  it('reports the message failed when its progress cannot be recorded, so SQS delivers it again', async () => {
    const { runStore, consumer, ready } = setUp((key) => key);
    await ready;
    runStore.failNextProgress = new Error('ProvisionedThroughputExceededException');

    const result = await consumer.consume([record(message('run-1/0', ['a']), 'sqs-7')], PLENTY_OF_TIME);

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'sqs-7' }]);
  });

  it('reports the message failed when its remainder cannot be re-enqueued', async () => {
    const { consumer, runStore, ready } = setUp((key) => {
      if (key === 'broken') throw new Error('down');
      return key;
    });
    await ready;
    sqs
      .on(SendMessageBatchCommand)
      .rejects(Object.assign(new Error('Access denied'), { $metadata: { httpStatusCode: 403 } }));

    const result = await consumer.consume(
      [record(message('run-1/0', ['a', 'broken']), 'sqs-9')],
      PLENTY_OF_TIME,
    );

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'sqs-9' }]);
    expect((await runStore.getRun('run-1'))?.keysWarmed).toBe(0);
  });

  it('with no time left, loads nothing and re-enqueues the keys', async () => {
    const { consumer, loads, ready } = setUp((key) => key);
    await ready;

    await consumer.consume([record(message('run-1/0', ['a']))], () => 1_000);

    expect(loads).toEqual([]);
    expect(parseWarmMessage(sentTo(WARM_QUEUE)[0]?.MessageBody ?? '').errors).toEqual({
      a: 'the invocation had no time left to load it',
    });
  });
});
