import type { MiddlewareStack } from '@smithy/types';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRunStore, runsTableDefinition } from '../../functions/adapters/DynamoRunStore';
import { SqsSender } from '../../functions/adapters/SqsSender';
import { type ContinuationMessage, WarmFanOut, type WarmRequest } from '../../functions/adapters/WarmFanOut';
import { DEFAULT_MAX_MESSAGE_BYTES, parseWarmMessage } from '../../functions/adapters/warmMessage';
import {
  CallableKeyProvider,
  defaultWarmingConfig,
  StaticKeyProvider,
  type WarmingConfig,
} from '../../functions/core';
import { type LocalDynamo, startLocalDynamo } from '../support/dynalite';
import { type LocalSqs, receiveAll, startLocalSqs } from '../support/fauxqs';

let sqs: LocalSqs;
let dynamo: LocalDynamo;
let table = 0;

beforeAll(async () => {
  [sqs, dynamo] = await Promise.all([startLocalSqs(), startLocalDynamo()]);
});

afterAll(async () => {
  await Promise.all([sqs.close(), dynamo.close()]);
});

afterEach(() => {
  sqs.client.middlewareStack.remove('killAfterRequests');
});

const keys = (count: number) => Array.from({ length: count }, (_, index) => `key:${index}`);

/**
 * SQS answers the first `requests` SendMessageBatch calls, then never again: the warm function frozen
 * where it was killed, between batches. Resolves once it is killed.
 */
const killAfterRequests = (requests: number) => {
  let seen = 0;
  let resolve = () => {};
  const killed = new Promise<void>((settle) => {
    resolve = settle;
  });
  (sqs.client.middlewareStack as MiddlewareStack<object, object>).add(
    (next, context) => async (args) => {
      if (context.commandName === 'SendMessageBatchCommand' && ++seen > requests) {
        resolve();
        return new Promise(() => {});
      }
      return next(args);
    },
    { step: 'initialize', name: 'killAfterRequests' },
  );
  return killed;
};

/** A run's table, warm queue and fan-out, the fan-out's continuations kept to be delivered by hand. */
const createRun = async (
  providers: ConstructorParameters<typeof WarmFanOut>[0]['providers'],
  config: Partial<WarmingConfig> = {},
) => {
  const tableName = `runs-${++table}`;
  await dynamo.createTable(runsTableDefinition(tableName));
  const queueUrl = await sqs.createQueue(`warm-${table}`, { VisibilityTimeout: '300' });
  const runStore = new DynamoRunStore({ client: dynamo.documentClient, tableName });
  const continuations: { message: ContinuationMessage; delaySeconds: number }[] = [];
  const fanOut = new WarmFanOut({
    providers,
    runStore,
    sender: new SqsSender(sqs.client, queueUrl),
    // Steps of 100 messages of 10 keys: ten requests a step.
    config: { ...defaultWarmingConfig(), batchSize: 10, ...config },
    maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
    consumerBatchSize: 10,
    continuation: {
      send: async (message, delaySeconds) => void continuations.push({ message, delaySeconds }),
    },
    newRunId: () => 'run-1',
  });
  return { runStore, queueUrl, continuations, fanOut };
};

/** Counts every queued message warmed, as consumers would. */
const consumeAll = async (runStore: DynamoRunStore, queueUrl: string) => {
  for (const { Body } of await receiveAll(sqs.client, queueUrl)) {
    const message = parseWarmMessage(Body ?? '');
    await runStore.recordProgress(message.runId, message.id, {
      warmed: message.keys.length,
      failed: 0,
      skipped: 0,
    });
  }
};

describe('a run whose segment is killed at the same place every time, on dynalite and fauxqs', () => {
  it('ends after its replays with the unconfirmed keys counted failed, once, and the lock released', async () => {
    const killedAt = 1_500;
    const { runStore, queueUrl, fanOut } = await createRun({
      configured: new CallableKeyProvider(async function* () {
        for (let index = 0; index < 3_000; index++) {
          if (index === killedAt) throw Object.assign(new Error('Runtime exited'), { name: 'KilledError' });
          yield `key:${index}`;
        }
      }),
    });

    await expect(fanOut.warm({ trigger: 'schedule' })).rejects.toThrow('Runtime exited');
    for (let segment = 0; segment < 3; segment++)
      await expect(fanOut.continueRun({ runId: 'run-1', segment })).rejects.toThrow('Runtime exited');
    expect(await runStore.acquireRunLock('run-2', 60)).toEqual({ acquired: false, heldBy: 'run-1' });
    await fanOut.continueRun({ runId: 'run-1', segment: 3 });
    // The first step's messages did reach the queue; they were already counted failed and count once.
    await consumeAll(runStore, queueUrl);

    expect(await runStore.getRun('run-1')).toMatchObject({
      status: 'finished',
      planning: false,
      keysPlanned: 1_000,
      keysWarmed: 0,
      keysFailed: 1_000,
      keysSkipped: 0,
    });
    expect(await runStore.acquireRunLock('run-2', 60)).toEqual({ acquired: true });
  });
});

describe('a one-invocation run killed mid-run, on dynalite and fauxqs', () => {
  it.each<{ run: string; request: Partial<WarmRequest>; config: Partial<WarmingConfig> }>([
    { run: 'a payload of keys', request: { keys: keys(2_500) }, config: {} },
    { run: 'a run limited by maxKeysPerRun', request: {}, config: { maxKeysPerRun: 2_500 } },
  ])(
    'ends $run at its watchdog with every key counted and the lock released',
    async ({ request, config }) => {
      const { runStore, queueUrl, continuations, fanOut } = await createRun(
        { configured: new StaticKeyProvider(keys(3_000)) },
        config,
      );
      const killed = killAfterRequests(10);

      void fanOut.warm({ trigger: 'console', ...request });
      await killed;
      await consumeAll(runStore, queueUrl);
      expect(await runStore.getRun('run-1')).toMatchObject({ status: 'running', keysWarmed: 1_000 });
      expect(await runStore.acquireRunLock('run-2', 60)).toEqual({ acquired: false, heldBy: 'run-1' });
      expect(continuations).toEqual([{ message: { runId: 'run-1', segment: 0 }, delaySeconds: 360 }]);

      await fanOut.continueRun({ runId: 'run-1', segment: 0 });

      expect(await runStore.getRun('run-1')).toMatchObject({
        status: 'finished',
        planning: false,
        keysPlanned: 2_500,
        keysWarmed: 1_000,
        keysFailed: 1_500,
        keysSkipped: 0,
      });
      expect(await runStore.acquireRunLock('run-2', 60)).toEqual({ acquired: true });
    },
    60_000,
  );
});
