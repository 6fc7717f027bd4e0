import { describe, it } from 'vitest';
import {
  expectRunEndedWhole,
  KEYS,
  keys,
  POISON,
  startWarm,
  useLocalRuntimeScenario,
  waitForRun,
} from '../support/localRuntimeScenario';

// Waits of up to 6, 12 and 24 s give keys caught by the restart up to 42 s to find Redis back on a
// busy machine, where the restart and the reconnect can take several seconds.
const scenario = useLocalRuntimeScenario({ deliveries: 4, requeueDelaySeconds: 3 });

describe('the local runtime when redis-server is killed and restarted midway', () => {
  it('ends with every key counted and cached', async () => {
    // Without the poison key, the run ends as soon as the keys the restart caught are loaded again.
    const healthyKeys = keys.filter((key) => key !== POISON);
    const runId = await startWarm(healthyKeys);

    await waitForRun(runId, (current) => current.warmed >= KEYS / 2);
    await scenario.redis().kill();
    await scenario.redis().restart();
    const run = await waitForRun(runId, (current) => current.status !== 'running');

    await expectRunEndedWhole(runId, run, healthyKeys);
  }, 300_000);
});
