import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../functions/adapters/RunStore';
import { describeRunStatus } from '../../functions/adapters/runStatus';

const run: RunRecord = {
  runId: 'run-1',
  trigger: 'cli',
  strategy: 'LAZY',
  keysPlanned: 1_000,
  messages: 10,
  keysWarmed: 300,
  keysFailed: 100,
  keysSkipped: 500,
  skippedReasons: [{ reason: 'the run was cancelled', count: 500, sample: ['a', 'b'] }],
  status: 'running',
  startedAt: '2025-01-31T09:05:00.000Z',
  planning: false,
};
const tenSecondsIn = Date.parse('2025-01-31T09:05:10.000Z');

describe('describeRunStatus', () => {
  it('counts loaded keys in the rate, not skipped ones', () => {
    expect(describeRunStatus(run, tenSecondsIn)).toMatchObject({ keysPerSecond: 40, remaining: 100 });
  });

  it('says how many keys of an ended run are still settling, and nothing remains', () => {
    const cancelled: RunRecord = { ...run, status: 'cancelled', endedAt: '2025-01-31T09:05:05.000Z' };

    expect(describeRunStatus(cancelled, tenSecondsIn)).toMatchObject({
      remaining: 0,
      settling: 100,
      etaSeconds: 0,
      keysPerSecond: 80,
    });
    const settled = { ...cancelled, keysSkipped: 600 };
    expect(describeRunStatus(settled, tenSecondsIn).settling).toBe(0);
  });

  it('tells no ETA while the plan still grows', () => {
    expect(describeRunStatus({ ...run, planning: true }, tenSecondsIn)).toMatchObject({
      planning: true,
      remaining: 100,
      etaSeconds: undefined,
    });
  });

  it('carries the skip reasons with their samples', () => {
    expect(describeRunStatus(run, tenSecondsIn).skippedReasons).toEqual(run.skippedReasons);
  });
});
