import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../functions/adapters/RunStore';
import { requeueBackoff, requeueWaitCeilingsSeconds } from '../../functions/adapters/requeueBackoff';
import { describeRunStatus } from '../../functions/adapters/runStatus';
import { backoffDelayMs } from '../../functions/core';

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
    expect(describeRunStatus(run, { now: tenSecondsIn })).toMatchObject({
      keysPerSecond: 40,
      remaining: 100,
    });
  });

  it('says how many keys of an ended run are still settling, and nothing remains', () => {
    const cancelled: RunRecord = { ...run, status: 'cancelled', endedAt: '2025-01-31T09:05:05.000Z' };

    expect(describeRunStatus(cancelled, { now: tenSecondsIn })).toMatchObject({
      remaining: 0,
      settling: 100,
      etaSeconds: 0,
      keysPerSecond: 80,
    });
    const settled = { ...cancelled, keysSkipped: 600 };
    expect(describeRunStatus(settled, { now: tenSecondsIn }).settling).toBe(0);
  });

  it('tells no ETA while the plan still grows', () => {
    expect(describeRunStatus({ ...run, planning: true }, { now: tenSecondsIn })).toMatchObject({
      planning: true,
      remaining: 100,
      etaSeconds: undefined,
    });
  });

  it('carries the skip reasons with their samples', () => {
    expect(describeRunStatus(run, { now: tenSecondsIn }).skippedReasons).toEqual(run.skippedReasons);
  });

  it("reports a running run's retry waits, so a follower can bound its tail, and an ended run's none", () => {
    const retryWaitsSeconds = requeueWaitCeilingsSeconds({ maxRetries: 3, requeueDelaySeconds: 5 });

    expect(describeRunStatus(run, { now: tenSecondsIn, retryWaitsSeconds }).retryWaitsSeconds).toEqual([
      10, 20,
    ]);
    const finished: RunRecord = { ...run, status: 'finished', endedAt: '2025-01-31T09:05:05.000Z' };
    expect(describeRunStatus(finished, { retryWaitsSeconds })).not.toHaveProperty('retryWaitsSeconds');
  });
});

describe('requeueWaitCeilingsSeconds', () => {
  it('is the longest each wait before a redelivery can be, capped at SQS’s 900 s', () => {
    const config = { maxRetries: 6, requeueDelaySeconds: 40 };
    const ceilings = requeueWaitCeilingsSeconds(config);

    expect(ceilings).toEqual([80, 160, 320, 640, 900]);
    // The consumer's delay before the n-th redelivery never reaches its ceiling, even at the top of the jitter.
    ceilings.forEach((ceiling, index) => {
      const highest = backoffDelayMs(index + 1, { ...requeueBackoff(config), random: () => 0.999_999 });
      expect(highest).toBeLessThan(ceiling * 1000);
      expect(highest).toBeGreaterThanOrEqual(ceiling * 1000 - 1);
    });
  });

  it('has no waits when a message is delivered once', () => {
    expect(requeueWaitCeilingsSeconds({ maxRetries: 1, requeueDelaySeconds: 5 })).toEqual([]);
    expect(requeueWaitCeilingsSeconds({ maxRetries: 0, requeueDelaySeconds: 5 })).toEqual([]);
  });
});
