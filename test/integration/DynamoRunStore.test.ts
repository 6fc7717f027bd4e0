import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { MiddlewareStack } from '@smithy/types';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoRunStore, runsTableDefinition } from '../../functions/adapters/DynamoRunStore';
import type { MessageProgress } from '../../functions/adapters/RunStore';
import type { ProgressTreeShape } from '../../functions/adapters/runProgressTree';
import { type LocalDynamo, startLocalDynamo } from '../support/dynalite';

let dynamo: LocalDynamo;
let store: DynamoRunStore;
let tableName: string;
let table = 0;

/** A store on the current table whose progress tree is small enough for a test to span it. */
const storeWithTree = (progressTree: ProgressTreeShape) =>
  new DynamoRunStore({ client: dynamo.documentClient, tableName, progressTree });

interface SentCommand {
  name: string;
  input: { Key?: { pk: string }; UpdateExpression?: string };
}

/** Records the commands sent to DynamoDB; `fail` may throw to stop one before it is sent. */
const watchCommands = (fail?: (command: SentCommand) => void) => {
  const sent: SentCommand[] = [];
  (dynamo.documentClient.middlewareStack as MiddlewareStack<object, object>).add(
    (next, context) => async (args) => {
      const command = { name: String(context.commandName), input: args.input as SentCommand['input'] };
      fail?.(command);
      sent.push(command);
      return next(args);
    },
    { step: 'initialize', name: 'watchCommands' },
  );
  return sent;
};

beforeAll(async () => {
  dynamo = await startLocalDynamo();
});

afterAll(async () => {
  await dynamo.close();
});

afterEach(() => {
  dynamo.documentClient.middlewareStack.remove('watchCommands');
});

beforeEach(async () => {
  // A fresh table per test keeps the single lock item and the runs index independent.
  tableName = `runs-${++table}`;
  await dynamo.createTable(runsTableDefinition(tableName));
  store = new DynamoRunStore({ client: dynamo.documentClient, tableName });
});

const newRun = (runId: string, keysPlanned: number, messages = 4) =>
  store.createRun({ runId, trigger: 'schedule', strategy: 'SCHEDULED', keysPlanned, messages });

describe('DynamoRunStore', () => {
  it('creates a run and reads it back with zero progress', async () => {
    await newRun('r1', 100);

    expect(await store.getRun('r1')).toMatchObject({
      runId: 'r1',
      trigger: 'schedule',
      keysPlanned: 100,
      keysWarmed: 0,
      status: 'running',
    });
    expect(await store.getRun('missing')).toBeUndefined();
  });

  it('counts each message once, however often it is delivered', async () => {
    await newRun('r1', 100);

    const first = await store.recordProgress('r1', 'r1/0', { warmed: 40, failed: 1, skipped: 9 });
    const again = await store.recordProgress('r1', 'r1/0', { warmed: 40, failed: 1, skipped: 9 });

    expect(first.counted).toBe(true);
    expect(again.counted).toBe(false);
    expect(await store.getRun('r1')).toMatchObject({
      keysWarmed: 40,
      keysFailed: 1,
      keysSkipped: 9,
      status: 'running',
    });
  });

  it('finishes the run exactly once when concurrent messages complete it, and releases the lock', async () => {
    await newRun('r1', 1_000, 100);
    expect(await store.acquireRunLock('r1', 600)).toEqual({ acquired: true });

    const results = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        store.recordProgress('r1', `r1/${index}`, { warmed: 10, failed: 0, skipped: 0 }),
      ),
    );

    expect(results.every((result) => result.counted)).toBe(true);
    const run = await store.getRun('r1');
    expect(run).toMatchObject({ keysWarmed: 1_000, status: 'finished' });
    expect(run?.endedAt).toBeDefined();
    expect(await store.acquireRunLock('r2', 600)).toEqual({ acquired: true });
  });

  it('cancels a running run once and reports it cancelled', async () => {
    await newRun('r1', 10);

    expect((await store.cancelRun('r1'))?.status).toBe('cancelled');
    expect(await store.isCancelled('r1')).toBe(true);
    expect(await store.isCancelled('other')).toBe(false);
    await store.recordProgress('r1', 'r1/0', { warmed: 0, failed: 0, skipped: 10 });
    expect((await store.getRun('r1'))?.status).toBe('cancelled');
  });

  it('holds the run lock for one run until it is released or expires', async () => {
    expect(await store.acquireRunLock('r1', 600)).toEqual({ acquired: true });
    expect(await store.acquireRunLock('r2', 600)).toEqual({ acquired: false, heldBy: 'r1' });

    await store.releaseRunLock('r2');
    expect(await store.acquireRunLock('r2', 600)).toEqual({ acquired: false, heldBy: 'r1' });

    await store.releaseRunLock('r1');
    expect(await store.acquireRunLock('r2', -1)).toEqual({ acquired: true });
    // r2's lock has already expired, so r3 may take it.
    expect(await store.acquireRunLock('r3', 600)).toEqual({ acquired: true });
  });

  it('lists runs newest first', async () => {
    for (const runId of ['a', 'b', 'c']) {
      await newRun(runId, 1);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }

    expect((await store.listRuns(2)).map((run) => run.runId)).toEqual(['c', 'b']);
  });

  it('says which run is missing when progress arrives for an unknown run', async () => {
    await expect(
      store.recordProgress('ghost', 'ghost/0', { warmed: 1, failed: 0, skipped: 0 }),
    ).rejects.toThrow('run ghost does not exist in runs-');
  });

  it('counts a message without reading the run, in one small item of its own partition', async () => {
    const tree = storeWithTree({ pageMessages: 10, groupPages: 3 });
    await tree.createRun({
      runId: 'r1',
      trigger: 'cli',
      strategy: 'LAZY',
      keysPlanned: 20_000,
      messages: 200,
    });
    await tree.recordProgress('r1', 'r1/0', { warmed: 100, failed: 0, skipped: 0 });
    const sent = watchCommands();

    for (let index = 1; index < 200; index++) {
      await tree.recordProgress('r1', `r1/${index}`, { warmed: 100, failed: 0, skipped: 0 });
    }

    // One counting update per message, plus the rare roll-ups: never a read of the run.
    expect(sent.filter((command) => /Get|Query|Scan/.test(command.name))).toEqual([]);
    expect(sent.length).toBeLessThan(199 * 1.5);
    const writesPerKey = new Map<string, number>();
    for (const { input } of sent) {
      const pk = String(input.Key?.pk);
      writesPerKey.set(pk, (writesPerKey.get(pk) ?? 0) + 1);
    }
    // A page takes its 10 messages and a listing; a group two writes per page (listed, done) and
    // one listing; the tally two per group (7 groups); none the whole run's ~200.
    expect(Math.max(...writesPerKey.values())).toBe(Math.max(10 + 1, 2 * 3 + 1, 2 * 7));
    expect(await tree.getRun('r1')).toMatchObject({ keysWarmed: 20_000, status: 'finished' });
  });

  it('reads a running run completely, and finishes with exact sums across pages and groups', async () => {
    const tree = storeWithTree({ pageMessages: 4, groupPages: 3 });
    const messages = 50;
    await tree.createRun({ runId: 'r1', trigger: 'cli', strategy: 'LAZY', keysPlanned: 500, messages });
    const progressOf = (index: number): MessageProgress => ({
      warmed: 10 - (index % 3) - (index % 5 === 0 ? 2 : 0),
      failed: index % 5 === 0 ? 2 : 0,
      skipped: index % 3,
      skippedKeys: new Map(Array.from({ length: index % 3 }, (_, key) => [`k${index}-${key}`, 'no value'])),
    });
    const sum = (indexes: number[], field: 'warmed' | 'failed' | 'skipped') =>
      indexes.reduce((total, index) => total + progressOf(index)[field], 0);
    const order = Array.from({ length: messages }, (_, index) => (index * 7) % messages);

    const firstHalf = order.slice(0, 25);
    await Promise.all(firstHalf.map((index) => tree.recordProgress('r1', `r1/${index}`, progressOf(index))));
    expect(await tree.getRun('r1')).toMatchObject({
      keysWarmed: sum(firstHalf, 'warmed'),
      keysFailed: sum(firstHalf, 'failed'),
      keysSkipped: sum(firstHalf, 'skipped'),
      skippedReasons: [{ reason: 'no value', count: sum(firstHalf, 'skipped') }],
      status: 'running',
    });
    const results = await Promise.all(
      order.slice(25).map((index) => tree.recordProgress('r1', `r1/${index}`, progressOf(index))),
    );

    expect(results.filter((result) => result.run?.status === 'finished')).toHaveLength(1);
    const all = order;
    expect(await tree.getRun('r1')).toMatchObject({
      keysWarmed: sum(all, 'warmed'),
      keysFailed: sum(all, 'failed'),
      keysSkipped: sum(all, 'skipped'),
      status: 'finished',
    });
    expect(sum(all, 'warmed') + sum(all, 'failed') + sum(all, 'skipped')).toBe(500);
  });

  it('waits for the remainders of its messages before it finishes', async () => {
    await newRun('r1', 10, 1);

    const first = await store.recordProgress('r1', 'r1/0', { warmed: 7, failed: 0, skipped: 0, requeued: 3 });
    expect(first.run).toBeUndefined();
    expect((await store.getRun('r1'))?.status).toBe('running');

    await store.recordProgress('r1', 'r1/0.1', { warmed: 1, failed: 0, skipped: 0, requeued: 2 });
    const last = await store.recordProgress('r1', 'r1/0.1.2', { warmed: 1, failed: 1, skipped: 0 });

    expect(last.run).toMatchObject({ keysWarmed: 9, keysFailed: 1, status: 'finished' });
  });

  it('finishes the run when a message is redelivered after its count landed but its page was not rolled up', async () => {
    const tree = storeWithTree({ pageMessages: 2, groupPages: 2 });
    await tree.createRun({ runId: 'r1', trigger: 'cli', strategy: 'LAZY', keysPlanned: 4, messages: 2 });
    await tree.recordProgress('r1', 'r1/0', { warmed: 2, failed: 0, skipped: 0 });
    let stopped = false;
    watchCommands((command) => {
      if (!stopped && command.input.UpdateExpression?.includes('#children')) {
        stopped = true;
        throw Object.assign(new Error('the consumer stopped here'), { $metadata: { httpStatusCode: 400 } });
      }
    });

    await expect(tree.recordProgress('r1', 'r1/1', { warmed: 2, failed: 0, skipped: 0 })).rejects.toThrow(
      'the consumer stopped here',
    );
    expect((await tree.getRun('r1'))?.status).toBe('running');
    const again = await tree.recordProgress('r1', 'r1/1', { warmed: 2, failed: 0, skipped: 0 });

    expect(again.counted).toBe(false);
    expect(await tree.getRun('r1')).toMatchObject({ keysWarmed: 4, status: 'finished' });
  });

  it('keeps skipped keys by reason with at most 10 of them as a sample', async () => {
    const tree = storeWithTree({ pageMessages: 2, groupPages: 2 });
    await tree.createRun({ runId: 'r1', trigger: 'cli', strategy: 'LAZY', keysPlanned: 60, messages: 4 });
    const skipping = (index: number): MessageProgress => {
      const keys = Array.from({ length: 15 }, (_, key) => `m${index}-k${key}`);
      return {
        warmed: 0,
        failed: 0,
        skipped: 15,
        skippedKeys: new Map(keys.map((key, position) => [key, position < 12 ? 'fresh' : 'no value'])),
      };
    };

    for (let index = 0; index < 3; index++) await tree.recordProgress('r1', `r1/${index}`, skipping(index));
    const running = await tree.getRun('r1');
    await tree.recordProgress('r1', 'r1/3', skipping(3));
    const finished = await tree.getRun('r1');

    expect(running?.skippedReasons.map(({ reason, count }) => ({ reason, count }))).toEqual([
      { reason: 'fresh', count: 36 },
      { reason: 'no value', count: 9 },
    ]);
    expect(finished).toMatchObject({ status: 'finished', keysSkipped: 60 });
    expect(finished?.skippedReasons.map(({ reason, count }) => ({ reason, count }))).toEqual([
      { reason: 'fresh', count: 48 },
      { reason: 'no value', count: 12 },
    ]);
    for (const { count, sample } of [
      ...(running?.skippedReasons ?? []),
      ...(finished?.skippedReasons ?? []),
    ]) {
      expect(sample).toHaveLength(Math.min(count, 10));
      expect(new Set(sample).size).toBe(sample.length);
    }
  });

  it('says which message does not belong to the run', async () => {
    await newRun('r1', 10, 2);

    await expect(store.recordProgress('r1', 'r1/7', { warmed: 1, failed: 0, skipped: 0 })).rejects.toThrow(
      "message r1/7 is not one of run r1's 2 messages",
    );
    await expect(store.recordProgress('r1', 'other/0', { warmed: 1, failed: 0, skipped: 0 })).rejects.toThrow(
      'message other/0 is not one of run r1',
    );
  });

  it('reads a run recorded before the progress tree from its shard items', async () => {
    const put = (Item: Record<string, unknown>) =>
      dynamo.documentClient.send(new PutCommand({ TableName: tableName, Item }));
    await put({
      pk: 'run#old',
      sk: 'run',
      runId: 'old',
      trigger: 'schedule',
      strategy: 'SCHEDULED',
      keysPlanned: 30,
      messages: 3,
      status: 'finished',
      startedAt: '2026-01-01T00:00:00.000Z',
      endedAt: '2026-01-01T00:00:05.000Z',
      shards: 2,
    });
    await put({ pk: 'run#old', sk: 'shard#0', applied: { '0': true }, keysWarmed: 10 });
    await put({
      pk: 'run#old',
      sk: 'shard#1',
      applied: { '1': true, '2': true },
      keysWarmed: 18,
      keysSkipped: 2,
    });

    expect(await store.getRun('old')).toMatchObject({ keysWarmed: 28, keysSkipped: 2, status: 'finished' });
  });
});
