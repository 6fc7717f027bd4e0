import { describe, expect, it } from 'vitest';
import { InMemoryRunStore } from '../support/InMemoryRunStore';

const planningRun = async (store = new InMemoryRunStore()) => {
  await store.acquireRunLock('r1', 60);
  await store.createRun({
    runId: 'r1',
    trigger: 'cli',
    strategy: 'LAZY',
    keysPlanned: 0,
    messages: 0,
    planning: true,
  });
  return store;
};
const counts = (warmed: number) => ({ warmed, failed: 0, skipped: 0 });

describe('InMemoryRunStore planning', () => {
  it('grows a planning run step by step and refuses a repeated step', async () => {
    const store = await planningRun();
    const step = {
      messagesBefore: 0,
      messages: 2,
      keysPlanned: 20,
      checkpoint: '{"offset":10}',
      complete: false,
    };

    expect(await store.recordPlanStep('r1', step)).toEqual({ applied: true, run: undefined });
    expect(await store.recordPlanStep('r1', step)).toEqual({ applied: false, run: undefined });
    expect(await store.getPlan('r1')).toEqual({
      messages: 2,
      keysPlanned: 20,
      checkpoint: '{"offset":10}',
      complete: false,
      segment: 0,
    });
    expect(await store.getRun('r1')).toMatchObject({ messages: 2, keysPlanned: 20, planning: true });
  });

  it('does not finish a run while it plans, even with every planned key counted', async () => {
    const store = await planningRun();
    await store.recordPlanStep('r1', { messagesBefore: 0, messages: 1, keysPlanned: 10, complete: false });

    expect(await store.recordProgress('r1', 'r1/0', counts(10))).toEqual({ counted: true, run: undefined });
    expect(await store.getRun('r1')).toMatchObject({ status: 'running', planning: true, keysWarmed: 10 });
    expect(store.lock?.runId).toBe('r1');
  });

  it('finishes the run with the complete step when every key is already counted', async () => {
    const store = await planningRun();
    await store.recordPlanStep('r1', { messagesBefore: 0, messages: 1, keysPlanned: 10, complete: false });
    await store.recordProgress('r1', 'r1/0', counts(10));

    const { applied, run } = await store.recordPlanStep('r1', {
      messagesBefore: 1,
      messages: 0,
      keysPlanned: 0,
      complete: true,
    });

    expect(applied).toBe(true);
    expect(run).toMatchObject({ status: 'finished', planning: false, keysPlanned: 10, keysWarmed: 10 });
    expect(store.lock).toBeUndefined();
  });

  it('finishes a completely planned run with the message that counts its last key', async () => {
    const store = await planningRun();
    await store.recordPlanStep('r1', { messagesBefore: 0, messages: 2, keysPlanned: 20, complete: true });
    await store.recordProgress('r1', 'r1/0', counts(10));

    expect((await store.recordProgress('r1', 'r1/1', counts(10))).run).toMatchObject({ status: 'finished' });
  });

  it('counts refused keys as planned and skipped under their reason', async () => {
    const store = await planningRun();
    await store.recordPlanStep('r1', {
      messagesBefore: 0,
      messages: 1,
      keysPlanned: 5,
      rejected: [{ reason: 'too large for a message', keys: ['big1', 'big2'] }],
      complete: true,
    });

    expect(await store.getRun('r1')).toMatchObject({
      keysPlanned: 7,
      keysSkipped: 2,
      skippedReasons: [{ reason: 'too large for a message', count: 2, sample: ['big1', 'big2'] }],
    });
    expect((await store.recordProgress('r1', 'r1/0', counts(5))).run).toMatchObject({ status: 'finished' });
  });

  it('refuses a step of a run planned whole, and a step with a count that is not a whole number', async () => {
    const store = new InMemoryRunStore();
    await store.createRun({ runId: 'r1', trigger: 'cli', strategy: 'LAZY', keysPlanned: 10, messages: 1 });

    expect(await store.getPlan('r1')).toMatchObject({ messages: 1, keysPlanned: 10, complete: true });
    expect(
      await store.recordPlanStep('r1', { messagesBefore: 1, messages: 1, keysPlanned: 10, complete: true }),
    ).toEqual({ applied: false, run: undefined });
    await expect(
      store.recordPlanStep('r1', { messagesBefore: 1, messages: -1, keysPlanned: 10, complete: true }),
    ).rejects.toThrow(/messages must be a whole number, not -1/);
    await expect(
      store.recordPlanStep('nope', { messagesBefore: 0, messages: 1, keysPlanned: 1, complete: true }),
    ).rejects.toThrow(/run nope does not exist/);
  });

  it('lets one continuation claim each segment', async () => {
    const store = await planningRun();

    expect(await store.startPlanSegment('r1', 0)).toBe(true);
    expect(await store.startPlanSegment('r1', 0)).toBe(false);
    expect(await store.startPlanSegment('r1', 1)).toBe(true);
    expect(await store.startPlanSegment('nope', 0)).toBe(false);
    expect(await store.getPlan('r1')).toMatchObject({ segment: 2 });
    expect(await store.getPlan('nope')).toBeUndefined();
  });
});
