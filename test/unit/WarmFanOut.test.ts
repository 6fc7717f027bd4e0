import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CombinedKeyProvider } from '../../functions/adapters/keySources';
import { SqsSender } from '../../functions/adapters/SqsSender';
import {
  type ContinuationMessage,
  type ContinuationSender,
  WarmFanOut,
} from '../../functions/adapters/WarmFanOut';
import { parseWarmMessage } from '../../functions/adapters/warmMessage';
import {
  CallableKeyProvider,
  defaultWarmingConfig,
  InvalidKeyError,
  type KeyProvider,
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
    configured?: string[] | KeyProvider<string>;
    config?: Partial<WarmingConfig>;
    cache?: MemoryStore<string, unknown>;
    runStore?: InMemoryRunStore;
    continuation?: ContinuationSender;
    messagesPerSegment?: number;
    rememberKeys?: number;
  } = {},
) => {
  const runStore = options.runStore ?? new InMemoryRunStore();
  let sequence = 0;
  const fanOut = new WarmFanOut({
    providers: {
      configured: Array.isArray(options.configured)
        ? new StaticKeyProvider(options.configured)
        : (options.configured ?? new StaticKeyProvider(keys(250))),
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
    continuation: options.continuation,
    messagesPerSegment: options.messagesPerSegment,
    rememberKeys: options.rememberKeys,
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
      keysRejected: 0,
      continues: false,
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

  it('rejects a provider key SQS cannot carry with its reason, and queues its neighbours', async () => {
    acceptEverything();
    const { fanOut, runStore } = createFanOut({
      configured: ['good:1', '\uFFFE', 'x'.repeat(1_100), 'good:2'],
    });

    const outcome = await fanOut.warm({ trigger: 'schedule' });

    expect(outcome).toMatchObject({ status: 'started', keysPlanned: 4, keysRejected: 2, keysUnsent: 0 });
    expect(queuedKeys()).toEqual(['good:1', 'good:2']);
    const run = await runStore.getRun('run-1');
    expect(run).toMatchObject({ keysPlanned: 4, keysSkipped: 2 });
    expect(run?.skippedReasons.map(({ reason, sample }) => ({ reason, sample }))).toEqual(
      expect.arrayContaining([
        {
          reason: 'a key must not hold U+FFFE, U+FFFF or a lone surrogate, which SQS messages cannot carry',
          sample: ['\uFFFE'],
        },
        { reason: 'a key must be at most 1024 bytes', sample: ['x'.repeat(1_100)] },
      ]),
    );
  });

  it('records each step of the plan before sending its messages, so no consumer meets a message the run does not know', async () => {
    const runStore = new InMemoryRunStore();
    const messagesKnownWhenSent: { id: string; known: number }[] = [];
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string; MessageBody: string }[] }) => {
      for (const entry of input.Entries) {
        const { id, runId } = parseWarmMessage(entry.MessageBody);
        messagesKnownWhenSent.push({ id, known: runStore.runs.get(runId)?.messages ?? 0 });
      }
      return {
        Successful: input.Entries.map((entry) => ({ Id: entry.Id, MessageId: entry.Id })),
        Failed: [],
      };
    });
    const { fanOut } = createFanOut({ configured: keys(25_050), runStore });

    const outcome = await fanOut.warm({ trigger: 'console' });

    expect(outcome).toMatchObject({ keysPlanned: 25_050, messages: 251 });
    expect(messagesKnownWhenSent).toHaveLength(251);
    for (const { id, known } of messagesKnownWhenSent) expect(Number(id.split('/')[1])).toBeLessThan(known);
    expect(await runStore.getRun('run-1')).toMatchObject({
      keysPlanned: 25_050,
      messages: 251,
      planning: false,
    });
  });

  it('drops repeats among the keys it remembers, and queues later keys unchecked past that bound', async () => {
    acceptEverything();
    const { fanOut } = createFanOut({ configured: ['a', 'b', 'a', 'c', 'b', 'c'], rememberKeys: 2 });

    const outcome = await fanOut.warm({ trigger: 'console' });

    // 'a' and 'b' are remembered, so their repeats are dropped; 'c' came after the bound.
    expect(queuedKeys()).toEqual(['a', 'b', 'c', 'c']);
    expect(outcome).toMatchObject({ keysPlanned: 4, messages: 1 });
  });

  describe('continuation past one invocation', () => {
    /** The continuation queue: messages with their delay, delivered by the test in order. */
    const continuationQueue = () => {
      const messages: { message: ContinuationMessage; delaySeconds: number }[] = [];
      const sender: ContinuationSender = {
        send: async (message, delaySeconds) => {
          messages.push({ message, delaySeconds });
        },
      };
      return { messages, sender };
    };

    /** Consumes every queued warm message once, as the consumers would, counting its keys warmed; only those of the first `answeredRequests` requests when given. */
    const consumeAll = async (runStore: InMemoryRunStore, answeredRequests?: number) => {
      for (const entry of sqs
        .commandCalls(SendMessageBatchCommand)
        .slice(0, answeredRequests)
        .flatMap((call) => call.args[0].input.Entries ?? [])) {
        const message = parseWarmMessage(entry.MessageBody ?? '');
        await runStore.recordProgress(message.runId, message.id, {
          warmed: message.keys.length,
          failed: 0,
          skipped: 0,
        });
      }
    };

    it('hands over to the next invocation at its budget and resumes where it stopped; stale messages do nothing', async () => {
      acceptEverything();
      const queue = continuationQueue();
      const { fanOut, runStore } = createFanOut({
        configured: keys(35_000),
        continuation: queue.sender,
        messagesPerSegment: 100,
      });

      const outcome = await fanOut.warm({ trigger: 'schedule' });
      expect(outcome).toMatchObject({
        status: 'started',
        keysPlanned: 10_000,
        messages: 100,
        continues: true,
      });
      // A watchdog, sent first with a delay, and the handover itself.
      expect(queue.messages).toEqual([
        { message: { runId: 'run-1', segment: 0 }, delaySeconds: 360 },
        { message: { runId: 'run-1', segment: 0 }, delaySeconds: 0 },
      ]);

      const outcomes = [];
      for (let next = 0; next < queue.messages.length; next++) {
        outcomes.push(
          await fanOut.continueRun((queue.messages[next] as { message: ContinuationMessage }).message),
        );
      }

      expect(outcomes.filter(({ status }) => status === 'continued')).toHaveLength(3);
      expect(outcomes.filter(({ status }) => status === 'stale').length).toBeGreaterThanOrEqual(3);
      expect(queuedKeys()).toEqual(keys(35_000));
      expect(await runStore.getRun('run-1')).toMatchObject({
        keysPlanned: 35_000,
        messages: 350,
        planning: false,
      });
      await consumeAll(runStore);
      expect((await runStore.getRun('run-1'))?.status).toBe('finished');
      expect(runStore.lock).toBeUndefined();
    });

    it('continues a run whose providers are read in parallel: every key queued exactly once, the heaviest first', async () => {
      acceptEverything();
      const queue = continuationQueue();
      const named = (name: string, count: number) =>
        Array.from({ length: count }, (_, index) => `${name}:${index}`);
      const { fanOut, runStore } = createFanOut({
        configured: new CombinedKeyProvider([
          { provider: new StaticKeyProvider(named('a', 9_000)) },
          { provider: new StaticKeyProvider(named('heavy', 4_000)), weight: 5 },
          { provider: new StaticKeyProvider(named('b', 12_000)) },
          { provider: new StaticKeyProvider(named('c', 7_000)) },
        ]),
        continuation: queue.sender,
        messagesPerSegment: 60,
      });

      await fanOut.warm({ trigger: 'schedule' });
      for (let next = 0; next < queue.messages.length; next++) {
        await fanOut.continueRun((queue.messages[next] as { message: ContinuationMessage }).message);
      }

      const queued = queuedKeys();
      expect(queued).toHaveLength(32_000);
      expect([...queued].sort()).toEqual(
        [...named('a', 9_000), ...named('heavy', 4_000), ...named('b', 12_000), ...named('c', 7_000)].sort(),
      );
      expect(queued.slice(0, 4_000)).toEqual(named('heavy', 4_000));
      expect(await runStore.getRun('run-1')).toMatchObject({ keysPlanned: 32_000, planning: false });
    });

    /** A provider of `count` keys whose reads die after `killAt` keys, `kills` times: the function killed between batches. */
    const dyingProvider = (count: number, killAt: number, kills: number) => {
      let killed = 0;
      return new CallableKeyProvider(async function* () {
        for (let index = 0; index < count; index++) {
          if (index === killAt && killed < kills) {
            killed++;
            throw Object.assign(new Error('Runtime exited'), { name: 'KilledError' });
          }
          yield `key:${index}`;
        }
      });
    };

    it('resumes a run killed between batches from its last checkpoint: no stuck run, no held lock, every key queued', async () => {
      acceptEverything();
      const queue = continuationQueue();
      const { fanOut, runStore } = createFanOut({
        configured: dyingProvider(30_000, 15_000, 1),
        continuation: queue.sender,
      });

      await expect(fanOut.warm({ trigger: 'schedule' })).rejects.toThrow('Runtime exited');
      expect(await runStore.getPlan('run-1')).toMatchObject({ complete: false, messages: 100 });
      // Only the watchdog was sent: one retry interval later it resumes the run.
      expect(queue.messages).toEqual([{ message: { runId: 'run-1', segment: 0 }, delaySeconds: 360 }]);

      const resumed = await fanOut.continueRun({ runId: 'run-1', segment: 0 });

      expect(resumed).toMatchObject({ status: 'continued', continues: false });
      expect(new Set(queuedKeys())).toEqual(new Set(keys(30_000)));
      await consumeAll(runStore);
      expect(await runStore.getRun('run-1')).toMatchObject({
        status: 'finished',
        keysPlanned: 30_000,
        keysWarmed: 30_000,
      });
      expect(runStore.lock).toBeUndefined();
    });

    it('ends planning after repeated failures of one segment, counting keys it could not confirm as failed', async () => {
      acceptEverything();
      const queue = continuationQueue();
      const { fanOut, runStore } = createFanOut({
        configured: dyingProvider(30_000, 15_000, 10),
        continuation: queue.sender,
      });

      await expect(fanOut.warm({ trigger: 'schedule' })).rejects.toThrow('Runtime exited');
      for (let segment = 0; segment < 3; segment++)
        await expect(fanOut.continueRun({ runId: 'run-1', segment })).rejects.toThrow('Runtime exited');
      const last = await fanOut.continueRun({ runId: 'run-1', segment: 3 });

      expect(last).toMatchObject({ status: 'continued', continues: false });
      expect(await runStore.getRun('run-1')).toMatchObject({
        status: 'finished',
        keysPlanned: 10_000,
        keysFailed: 10_000,
        planning: false,
      });
      expect(runStore.lock).toBeUndefined();
    });

    /**
     * SQS answers the first `calls` requests, then never again: the warm function frozen where it was
     * killed, between batches. Resolves once it is killed and everything that could still run has run.
     */
    const killAfterSendRequests = (calls: number) => {
      let seen = 0;
      let resolve = () => {};
      const killed = new Promise<void>((settle) => {
        resolve = settle;
      });
      sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => {
        if (++seen <= calls) {
          return {
            Successful: input.Entries.map((entry) => ({ Id: entry.Id, MessageId: `m-${entry.Id}` })),
            Failed: [],
          };
        }
        setImmediate(resolve);
        return new Promise(() => {});
      });
      return killed;
    };

    it.each([
      { run: 'a payload of keys', request: { keys: keys(25_000) }, config: {} },
      { run: 'a run limited by maxKeysPerRun', request: {}, config: { maxKeysPerRun: 25_000 } },
    ])(
      'ends $run killed between batches at its watchdog: unsent keys counted failed, the lock released',
      async ({ request, config }) => {
        // Ten requests carry the first step of 100 messages; the function dies in the second step's sends.
        const killed = killAfterSendRequests(10);
        const queue = continuationQueue();
        const { fanOut, runStore } = createFanOut({
          configured: keys(30_000),
          config,
          continuation: queue.sender,
        });

        void fanOut.warm({ trigger: 'console', ...request });
        await killed;
        expect(queue.messages).toEqual([{ message: { runId: 'run-1', segment: 0 }, delaySeconds: 360 }]);
        expect(runStore.lock?.runId).toBe('run-1');
        await consumeAll(runStore, 10);
        expect(await runStore.getRun('run-1')).toMatchObject({ status: 'running', keysWarmed: 10_000 });

        const watchdog = await fanOut.continueRun({ runId: 'run-1', segment: 0 });

        expect(watchdog).toMatchObject({ status: 'continued', continues: false });
        expect(await runStore.getRun('run-1')).toMatchObject({
          status: 'finished',
          planning: false,
          keysPlanned: 25_000,
          keysWarmed: 10_000,
          keysFailed: 15_000,
          keysSkipped: 0,
        });
        expect(runStore.lock).toBeUndefined();
        expect(await fanOut.continueRun({ runId: 'run-1', segment: 0 })).toMatchObject({ status: 'stale' });
      },
    );

    it('ends a limited run killed while it chose its top keys, before queuing any: nothing planned, the lock released', async () => {
      acceptEverything();
      const queue = continuationQueue();
      const { fanOut, runStore } = createFanOut({
        configured: dyingProvider(30_000, 15_000, 1),
        config: { maxKeysPerRun: 25_000 },
        continuation: queue.sender,
      });

      await expect(fanOut.warm({ trigger: 'schedule' })).rejects.toThrow('Runtime exited');
      expect(runStore.lock?.runId).toBe('run-1');
      await fanOut.continueRun({ runId: 'run-1', segment: 0 });

      expect(await runStore.getRun('run-1')).toMatchObject({
        status: 'finished',
        keysPlanned: 0,
        messages: 0,
      });
      expect(queuedKeys()).toEqual([]);
      expect(runStore.lock).toBeUndefined();
    });

    it('a watchdog finds a one-invocation run that finished sending stale, and leaves its figures alone', async () => {
      acceptEverything();
      const queue = continuationQueue();
      const { fanOut, runStore } = createFanOut({ continuation: queue.sender });

      await fanOut.warm({ trigger: 'console', keys: keys(2_500) });

      expect(await fanOut.continueRun({ runId: 'run-1', segment: 0 })).toMatchObject({ status: 'stale' });
      await consumeAll(runStore);
      expect(await runStore.getRun('run-1')).toMatchObject({
        status: 'finished',
        keysPlanned: 2_500,
        keysWarmed: 2_500,
        keysFailed: 0,
      });
    });
  });
});
