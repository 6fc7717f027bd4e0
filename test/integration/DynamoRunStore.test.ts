import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { MiddlewareStack } from '@smithy/types';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoRunStore, runsTableDefinition } from '../../functions/adapters/DynamoRunStore';
import type { MessageProgress, PlanStep, RunRecord } from '../../functions/adapters/RunStore';
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

describe('DynamoRunStore planned in steps', () => {
  const tree: ProgressTreeShape = { pageMessages: 4, groupPages: 3 };
  /** Consumers with stores of their own, each with its own copy of the run item. */
  const consumers = () => Array.from({ length: 3 }, () => storeWithTree(tree));
  const keysOf = (index: number) => 5 + (index % 4);
  const progressOf = (index: number): MessageProgress => ({
    warmed: keysOf(index) - (index % 2),
    failed: 0,
    skipped: index % 2,
    skippedKeys: new Map(index % 2 ? [[`k${index}`, 'no value']] : []),
  });
  const sumOf = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, offset) => keysOf(from + offset)).reduce((a, b) => a + b, 0);
  const stepOf = (messagesBefore: number, messages: number, complete = false): PlanStep => ({
    messagesBefore,
    messages,
    keysPlanned: sumOf(messagesBefore, messagesBefore + messages),
    checkpoint: JSON.stringify({ after: messagesBefore + messages }),
    complete,
  });
  const newPlanningRun = async (planner: DynamoRunStore, runId = 'r1') => {
    await planner.createRun({
      runId,
      trigger: 'cli',
      strategy: 'LAZY',
      keysPlanned: 0,
      messages: 0,
      planning: true,
    });
    expect(await planner.acquireRunLock(runId, 600)).toEqual({ acquired: true });
  };
  const finishedIn = (results: { run: RunRecord | undefined }[]) =>
    results.filter((result) => result.run?.status === 'finished');

  it('counts messages of earlier steps while later steps are recorded, and finishes once with exact sums', async () => {
    const planner = storeWithTree(tree);
    const counting = consumers();
    await newPlanningRun(planner);
    // Step sizes that split pages and groups across steps.
    const sizes = [7, 5, 13, 1, 9, 11];
    const results: { run: RunRecord | undefined }[] = [];
    const count = (index: number, consumer: number) =>
      counting[consumer % counting.length]?.recordProgress('r1', `r1/${index}`, progressOf(index));
    let before = 0;
    const inFlight: Promise<unknown>[] = [];
    for (const [position, size] of sizes.entries()) {
      const step = stepOf(before, size, position === sizes.length - 1);
      const recorded = await planner.recordPlanStep('r1', step);
      expect(recorded.applied).toBe(true);
      results.push(recorded);
      // A duplicate of the step changes nothing.
      expect(await planner.recordPlanStep('r1', { ...step, complete: false })).toEqual({
        applied: false,
        run: undefined,
      });
      for (let index = before; index < before + size; index++) {
        inFlight.push(
          Promise.all([count(index, index), count(index, index + 1)]).then((counted) => {
            results.push(...(counted as { run: RunRecord | undefined }[]));
          }),
        );
      }
      expect((await planner.getRun('r1'))?.planning).toBe(position < sizes.length - 1);
      before += size;
    }
    await Promise.all(inFlight);

    expect(finishedIn(results)).toHaveLength(1);
    const messages = before;
    const skipped = Array.from({ length: messages }, (_, index) => index % 2).reduce((a, b) => a + b, 0);
    expect(await planner.getRun('r1')).toMatchObject({
      messages,
      keysPlanned: sumOf(0, messages),
      keysWarmed: sumOf(0, messages) - skipped,
      keysSkipped: skipped,
      skippedReasons: [{ reason: 'no value', count: skipped }],
      status: 'finished',
      planning: false,
    });
    expect(finishedIn(results)[0]?.run).toMatchObject({ keysWarmed: sumOf(0, messages) - skipped });
    expect(await planner.acquireRunLock('r2', 600)).toEqual({ acquired: true });
  });

  it('does not finish a page, a group or the run while the plan may still add to them', async () => {
    const planner = storeWithTree(tree);
    const [consumer] = consumers();
    await newPlanningRun(planner);
    await planner.recordPlanStep('r1', stepOf(0, 6));

    // Every known key is counted, but page 1 (messages 4–7) and group 0 are not complete yet.
    for (let index = 0; index < 6; index++) {
      expect((await consumer?.recordProgress('r1', `r1/${index}`, progressOf(index)))?.run).toBeUndefined();
    }
    expect(await planner.getRun('r1')).toMatchObject({ keysPlanned: sumOf(0, 6), status: 'running' });
    await planner.recordPlanStep('r1', stepOf(6, 2));
    // The consumer's copy of the run knows 6 messages: message 7 makes it read the run again.
    for (let index = 6; index < 8; index++) {
      expect((await consumer?.recordProgress('r1', `r1/${index}`, progressOf(index)))?.run).toBeUndefined();
    }
    expect((await planner.getRun('r1'))?.status).toBe('running');

    const complete = await planner.recordPlanStep('r1', stepOf(8, 0, true));

    expect(complete).toMatchObject({
      applied: true,
      run: {
        status: 'finished',
        planning: false,
        messages: 8,
        keysPlanned: sumOf(0, 8),
        // Messages 1, 3, 5 and 7 skip one key each.
        keysWarmed: sumOf(0, 8) - 4,
        keysSkipped: 4,
      },
    });
    expect(await planner.acquireRunLock('r2', 600)).toEqual({ acquired: true });
  });

  it('finishes exactly once when the complete step and the last counts race', async () => {
    for (let trial = 0; trial < 6; trial++) {
      const planner = storeWithTree(tree);
      const counting = consumers();
      const runId = `race${trial}`;
      await newPlanningRun(planner, runId);
      const messages = 13 + trial;
      await planner.recordPlanStep(runId, stepOf(0, messages));
      for (let index = 0; index < messages - 3; index++) {
        await counting[0]?.recordProgress(runId, `${runId}/${index}`, progressOf(index));
      }

      const results = await Promise.all([
        planner.recordPlanStep(runId, stepOf(messages, 0, true)),
        ...[messages - 3, messages - 2, messages - 1].map((index) =>
          (counting[index % 3] as DynamoRunStore).recordProgress(
            runId,
            `${runId}/${index}`,
            progressOf(index),
          ),
        ),
      ]);

      expect(finishedIn(results)).toHaveLength(1);
      expect(await planner.getRun(runId)).toMatchObject({
        status: 'finished',
        keysPlanned: sumOf(0, messages),
      });
      await planner.releaseRunLock(runId);
    }
  });

  it('finishes the run when a complete step is repeated after the first stopped before closing the plan', async () => {
    const planner = storeWithTree(tree);
    await newPlanningRun(planner);
    await planner.recordPlanStep('r1', stepOf(0, 5));
    for (let index = 0; index < 5; index++)
      await planner.recordProgress('r1', `r1/${index}`, progressOf(index));
    let stopped = false;
    watchCommands((command) => {
      if (!stopped && command.input.UpdateExpression?.includes('finalGroups')) {
        stopped = true;
        throw Object.assign(new Error('the fan-out stopped here'), { $metadata: { httpStatusCode: 400 } });
      }
    });

    await expect(planner.recordPlanStep('r1', stepOf(5, 0, true))).rejects.toThrow(
      'the fan-out stopped here',
    );
    expect(await planner.getRun('r1')).toMatchObject({ status: 'running', planning: false });
    const again = await planner.recordPlanStep('r1', stepOf(5, 0, true));

    expect(again).toMatchObject({ applied: false, run: { status: 'finished', keysPlanned: sumOf(0, 5) } });
    expect(await planner.acquireRunLock('r2', 600)).toEqual({ acquired: true });
  });

  it('counts refused keys as planned and skipped, and finishes a plan of refused keys only', async () => {
    const planner = storeWithTree(tree);
    await newPlanningRun(planner);
    const refused = Array.from({ length: 12 }, (_, index) => `big${index}`);

    const complete = await planner.recordPlanStep('r1', {
      messagesBefore: 0,
      messages: 0,
      keysPlanned: 0,
      rejected: [
        { reason: 'too large for a message', keys: refused },
        { reason: 'not text', keys: ['x'] },
      ],
      complete: true,
    });

    expect(complete.run).toMatchObject({ status: 'finished', keysPlanned: 13, keysSkipped: 13, messages: 0 });
    const run = await planner.getRun('r1');
    expect(run).toMatchObject({ keysPlanned: 13, keysSkipped: 13, status: 'finished' });
    expect(run?.skippedReasons).toEqual([
      { reason: 'too large for a message', count: 12, sample: refused.slice(0, 10) },
      { reason: 'not text', count: 1, sample: ['x'] },
    ]);
  });

  it('keeps the checkpoint and lets one continuation claim each segment', async () => {
    const planner = storeWithTree(tree);
    await newPlanningRun(planner);
    await planner.recordPlanStep('r1', stepOf(0, 3));

    expect(await planner.getPlan('r1')).toEqual({
      messages: 3,
      keysPlanned: sumOf(0, 3),
      checkpoint: JSON.stringify({ after: 3 }),
      complete: false,
      segment: 0,
    });
    expect(await planner.startPlanSegment('r1', 0)).toBe(true);
    expect(await planner.startPlanSegment('r1', 0)).toBe(false);
    expect(await planner.startPlanSegment('r1', 1)).toBe(true);
    expect(await planner.startPlanSegment('missing', 0)).toBe(false);
    expect((await planner.getPlan('r1'))?.segment).toBe(2);
    expect(await planner.getPlan('missing')).toBeUndefined();
    await newRun('whole', 10, 1);
    expect(await store.getPlan('whole')).toEqual({
      messages: 1,
      keysPlanned: 10,
      complete: true,
      segment: 0,
    });
    expect(await store.recordPlanStep('whole', stepOf(1, 1, true))).toEqual({
      applied: false,
      run: undefined,
    });
  });

  it('says which message is past the plan, after reading the run again', async () => {
    const planner = storeWithTree(tree);
    await newPlanningRun(planner);
    await planner.recordPlanStep('r1', stepOf(0, 2));

    await expect(planner.recordProgress('r1', 'r1/2', progressOf(2))).rejects.toThrow(
      "message r1/2 is not one of run r1's 2 messages",
    );
    await expect(planner.recordPlanStep('r1', { ...stepOf(2, 1), keysPlanned: 1.5 })).rejects.toThrow(
      'plan step keysPlanned must be a whole number, not 1.5',
    );
    await expect(planner.recordPlanStep('missing', stepOf(0, 1))).rejects.toThrow(
      'run missing does not exist in runs-',
    );
  });
});
