import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SqsSender } from '../../functions/adapters/SqsSender';
import { WarmFanOut } from '../../functions/adapters/WarmFanOut';
import { parseWarmMessage } from '../../functions/adapters/warmMessage';
import {
  CallableKeyProvider,
  defaultWarmingConfig,
  InvalidKeyError,
  MemoryStore,
  StaticKeyProvider,
  type WarmingConfig,
} from '../../functions/core';
import { InMemoryRunStore } from '../support/InMemoryRunStore';

const sqs = mockClient(SQSClient);
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/warm';
const keys = (count: number) => Array.from({ length: count }, (_, index) => `key:${index}`);

/** Every key that reached the queue, from the SendMessageBatch calls the mock saw. */
const queuedKeys = () =>
  sqs
    .commandCalls(SendMessageBatchCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .flatMap((entry) => parseWarmMessage(entry.MessageBody ?? '').keys);

const acceptEverything = () =>
  sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
    Successful: input.Entries.map((entry) => ({ Id: entry.Id, MessageId: `m-${entry.Id}` })),
    Failed: [],
  }));

const createFanOut = (
  options: {
    configured?: string[];
    config?: Partial<WarmingConfig>;
    cache?: MemoryStore<string, unknown>;
    runStore?: InMemoryRunStore;
  } = {},
) => {
  const runStore = options.runStore ?? new InMemoryRunStore();
  let sequence = 0;
  const fanOut = new WarmFanOut({
    providers: {
      configured: new StaticKeyProvider(options.configured ?? keys(250)),
      adaptive: new StaticKeyProvider([
        { key: 'hot:1', weight: 90 },
        { key: 'hot:2', weight: 40 },
      ]),
    },
    runStore,
    sender: new SqsSender(new SQSClient({ region: 'us-east-1' }), QUEUE_URL, {
      retry: { maxRetries: 2, baseDelayMs: 0, maxDelayMs: 0 },
    }),
    cache: options.cache,
    config: { ...defaultWarmingConfig(), ...options.config },
    maxMessageBytes: 262_144,
    consumerBatchSize: 10,
    newRunId: () => `run-${++sequence}`,
  });
  return { fanOut, runStore };
};

beforeEach(() => {
  sqs.reset();
});

describe('WarmFanOut', () => {
  it('queues every configured key once, batchSize keys a message, 10 messages a request, and records the run', async () => {
    acceptEverything();
    const { fanOut, runStore } = createFanOut();

    const outcome = await fanOut.warm({ trigger: 'console' });

    expect(outcome).toEqual({
      status: 'started',
      runId: 'run-1',
      keysPlanned: 250,
      messages: 3,
      keysFresh: 0,
      keysUnsent: 0,
    });
    expect(queuedKeys()).toEqual(keys(250));
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
    expect(await runStore.getRun('run-1')).toMatchObject({
      keysPlanned: 250,
      messages: 3,
      status: 'running',
      trigger: 'console',
    });
  });

  it('warms only the keys of the payload when it names some', async () => {
    acceptEverything();
    const { fanOut } = createFanOut();

    await fanOut.warm({ trigger: 'cli', keys: ['a', 'b', 'a'] });

    expect(queuedKeys()).toEqual(['a', 'b']);
  });

  it('takes the hot keys from the adaptive provider, highest weight first, up to the limit', async () => {
    acceptEverything();
    const { fanOut, runStore } = createFanOut();

    const outcome = await fanOut.warm({ trigger: 'console', provider: 'adaptive', limit: 1 });

    expect(queuedKeys()).toEqual(['hot:1']);
    expect(outcome.status === 'started' && (await runStore.getRun(outcome.runId))?.strategy).toBe('ADAPTIVE');
  });

  it('a dry run returns the plan and its cost without sending or recording anything', async () => {
    const { fanOut, runStore } = createFanOut({ configured: keys(2_500) });

    const outcome = await fanOut.warm({ trigger: 'console', dryRun: true });

    expect(outcome).toMatchObject({ status: 'planned', keysPlanned: 2_500, messages: 25, sqsRequests: 3 });
    expect(outcome.status === 'planned' && outcome.sampleKeys.slice(0, 2)).toEqual(['key:0', 'key:1']);
    expect(outcome.status === 'planned' && outcome.estimatedCostUsd).toBeGreaterThan(0);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(runStore.runs.size).toBe(0);
  });

  it('skips, with the reason, while another run holds the lock, and runs anyway with force', async () => {
    acceptEverything();
    const { fanOut, runStore } = createFanOut();
    await fanOut.warm({ trigger: 'schedule' });

    const skipped = await fanOut.warm({ trigger: 'schedule' });
    expect(skipped).toEqual({
      status: 'skipped',
      reason: 'run run-1 is still in flight; pass "force": true to run anyway',
      runInFlight: 'run-1',
    });
    expect(runStore.runs.size).toBe(1);

    const forced = await fanOut.warm({ trigger: 'console', force: true });
    expect(forced.status).toBe('started');
  });

  it('releases the run lock when the run cannot be created, so the next warm is not skipped', async () => {
    acceptEverything();
    const runStore = new InMemoryRunStore();
    runStore.failNextCreate = new Error('ProvisionedThroughputExceededException');
    const { fanOut } = createFanOut({ runStore });

    await expect(fanOut.warm({ trigger: 'schedule' })).rejects.toThrow(
      'ProvisionedThroughputExceededException',
    );
    expect(runStore.lock).toBeUndefined();
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);

    const next = await fanOut.warm({ trigger: 'schedule' });
    expect(next).toMatchObject({ status: 'started', runId: 'run-2' });
  });

  it('on a scheduled run with ttlSeconds, queues only keys that are missing or about to expire', async () => {
    acceptEverything();
    const cache = new MemoryStore<string, unknown>();
    await cache.setMany([
      { key: 'fresh', value: 1, ttlSeconds: 300 },
      { key: 'expiring', value: 1, ttlSeconds: 10 },
    ]);
    const { fanOut } = createFanOut({
      configured: ['fresh', 'expiring', 'missing'],
      cache,
      config: { ttlSeconds: 300 },
    });

    const outcome = await fanOut.warm({ trigger: 'schedule' });

    expect(queuedKeys()).toEqual(['expiring', 'missing']);
    expect(outcome).toMatchObject({ keysPlanned: 2, keysFresh: 1 });
  });

  it('retries entries SQS reports failed inside a 200, and counts keys it never accepted as failed', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [{ Id: '0', MessageId: 'm0', MD5OfMessageBody: '' }],
        Failed: [
          { Id: '1', Code: 'InternalError', SenderFault: false, Message: 'try again' },
          { Id: '2', Code: 'ServiceUnavailable', SenderFault: false, Message: 'try again' },
        ],
      })
      .resolves({
        Successful: [{ Id: '1', MessageId: 'm1', MD5OfMessageBody: '' }],
        Failed: [{ Id: '2', Code: 'ServiceUnavailable', SenderFault: false, Message: 'still down' }],
      });
    const { fanOut, runStore } = createFanOut({ configured: keys(201) });

    const outcome = await fanOut.warm({ trigger: 'console' });

    expect(sqs.commandCalls(SendMessageBatchCommand)[1]?.args[0].input.Entries).toHaveLength(2);
    expect(outcome).toMatchObject({ status: 'started', keysPlanned: 201, keysUnsent: 1 });
    expect(await runStore.getRun('run-1')).toMatchObject({ keysFailed: 1, keysWarmed: 0 });
  });

  it('sends the keys of a message SQS refuses one per message, so only the key it cannot take fails', async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string; MessageBody: string }[] }) => {
      const refused = input.Entries.filter((entry) => entry.MessageBody.includes('"key:7"'));
      return {
        Successful: input.Entries.filter((entry) => !refused.includes(entry)).map((entry) => ({
          Id: entry.Id,
          MessageId: `m-${entry.Id}`,
        })),
        Failed: refused.map((entry) => ({
          Id: entry.Id,
          Code: 'InvalidMessageContents',
          SenderFault: true,
          Message: 'Invalid characters found',
        })),
      };
    });
    const { fanOut, runStore } = createFanOut({ configured: keys(20) });

    const outcome = await fanOut.warm({ trigger: 'console' });

    expect(outcome).toMatchObject({ status: 'started', keysPlanned: 20, keysUnsent: 1 });
    const accepted = sqs
      .commandCalls(SendMessageBatchCommand)
      .flatMap((call) => call.args[0].input.Entries ?? [])
      .filter((entry) => !entry.MessageBody?.includes('"key:7"'))
      .flatMap((entry) => parseWarmMessage(entry.MessageBody ?? '').keys);
    expect(accepted).toEqual(keys(20).filter((key) => key !== 'key:7'));
    expect(await runStore.getRun('run-1')).toMatchObject({ keysFailed: 1 });
  });

  it('rejects an invalid key before queuing or recording anything', async () => {
    const { fanOut, runStore } = createFanOut();

    await expect(fanOut.warm({ trigger: 'console', keys: ['ok', ''] })).rejects.toThrow(InvalidKeyError);
    await expect(fanOut.warm({ trigger: 'console', keys: ['x'.repeat(2_000)] })).rejects.toThrow(
      /key 0 \("x{40}…"\): a key must be at most 1024 bytes/,
    );
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(runStore.runs.size).toBe(0);
  });

  it('finishes a run with nothing to warm at once', async () => {
    const { fanOut, runStore } = createFanOut({ configured: [] });

    const outcome = await fanOut.warm({ trigger: 'schedule' });

    expect(outcome).toMatchObject({ status: 'started', keysPlanned: 0, messages: 0 });
    expect((await runStore.getRun('run-1'))?.status).toBe('finished');
    expect(runStore.lock).toBeUndefined();
  });

  it('reads keys from an async provider page by page', async () => {
    acceptEverything();
    const pages = new CallableKeyProvider(async function* () {
      yield* ['p1:a', 'p1:b'];
      yield* ['p2:c'];
    });
    const runStore = new InMemoryRunStore();
    const fanOut = new WarmFanOut({
      providers: { configured: pages },
      runStore,
      sender: new SqsSender(new SQSClient({ region: 'us-east-1' }), QUEUE_URL),
      config: defaultWarmingConfig(),
      maxMessageBytes: 262_144,
      consumerBatchSize: 10,
    });

    await fanOut.warm({ trigger: 'console' });

    expect(queuedKeys()).toEqual(['p1:a', 'p1:b', 'p2:c']);
  });
});
