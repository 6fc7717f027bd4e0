import { describe, expect, it } from 'vitest';
import {
  expectRunEndedWhole,
  keys,
  originLoads,
  POISON,
  startWarm,
  useLocalRuntimeScenario,
  waitForRun,
} from '../support/localRuntimeScenario';

// The run ends with the poison key's third delivery, at most 6 s after its first.
useLocalRuntimeScenario({ deliveries: 3, requeueDelaySeconds: 1 });

describe('the local runtime: warm → SQS → consume → Redis, with the Lambda Invoke API in front', () => {
  it('warms 10,000 keys: every key but the poison one in Redis, the poison one in the DLQ, exact counts', async () => {
    const runId = await startWarm(keys);

    const run = await waitForRun(runId, (current) => current.status !== 'running');

    const [letter] = await expectRunEndedWhole(runId, run, keys);
    expect(letter?.errors[POISON]).toMatch(/answered 500 .*row 7331 is corrupt/);
    expect(letter?.reason).toBe('failed 3 deliveries');
    expect(originLoads.get('item:500')).toBe(2);
  }, 300_000);
});
