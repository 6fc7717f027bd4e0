import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoRunStore, runsTableDefinition } from '../../functions/adapters/DynamoRunStore';
import { type LocalDynamo, startLocalDynamo } from '../support/dynalite';

let dynamo: LocalDynamo;
let store: DynamoRunStore;
let table = 0;

beforeAll(async () => {
  dynamo = await startLocalDynamo();
});

afterAll(async () => {
  await dynamo.close();
});

beforeEach(async () => {
  // A fresh table per test keeps the single lock item and the runs index independent.
  const tableName = `runs-${++table}`;
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
});
