import { afterEach, describe, expect, it, vi } from 'vitest';
import { WarmingStrategy } from '../../functions/core';
import { LocalScheduler, type ScheduledWarm } from '../../functions/local/LocalScheduler';
import { advanceClock, useFakeClock } from '../support/fakeClock';

const schedulerFor = (
  strategy: WarmingStrategy,
  invokeWarm = vi.fn<() => Promise<unknown>>(async () => ({ ok: true })),
) => {
  const warms: ScheduledWarm[] = [];
  const scheduler = new LocalScheduler({
    strategy,
    refreshIntervalSeconds: 60,
    invokeWarm,
    onScheduledWarm: (warm) => warms.push(warm),
  });
  return { scheduler, invokeWarm, warms };
};

afterEach(() => {
  vi.useRealTimers();
});

describe('LocalScheduler', () => {
  it('invokes a SCHEDULED warm at start and then every refreshIntervalSeconds', async () => {
    useFakeClock();
    const { scheduler, invokeWarm, warms } = schedulerFor(WarmingStrategy.SCHEDULED);

    scheduler.start();
    await advanceClock(150_000);
    await scheduler.stop();
    await advanceClock(120_000);

    expect(invokeWarm.mock.calls).toEqual([
      [{ trigger: 'schedule' }],
      [{ trigger: 'schedule' }],
      [{ trigger: 'schedule' }],
    ]);
    expect(warms.map(({ trigger, result }) => ({ trigger, result }))).toEqual(
      Array(3).fill({ trigger: 'schedule', result: { ok: true } }),
    );
  });

  it('warms EAGER once as after a deploy, then on the schedule', async () => {
    useFakeClock();
    const { scheduler, invokeWarm } = schedulerFor(WarmingStrategy.EAGER);

    scheduler.start();
    await advanceClock(60_000);
    await scheduler.stop();

    expect(invokeWarm.mock.calls).toEqual([
      [{ trigger: 'deploy' }],
      [{ trigger: 'schedule' }],
      [{ trigger: 'schedule' }],
    ]);
  });

  it('never warms LAZY', async () => {
    useFakeClock();
    const { scheduler, invokeWarm } = schedulerFor(WarmingStrategy.LAZY);

    scheduler.start();
    await advanceClock(600_000, 60_000);
    await scheduler.stop();

    expect(invokeWarm).not.toHaveBeenCalled();
  });

  it('reports a failed invocation with its reason and keeps the schedule', async () => {
    useFakeClock();
    const invokeWarm = vi
      .fn<() => Promise<unknown>>()
      .mockRejectedValueOnce(new Error('warm function failed to start'))
      .mockResolvedValue({ ok: true });
    const { scheduler, warms } = schedulerFor(WarmingStrategy.ADAPTIVE, invokeWarm);

    scheduler.start();
    await advanceClock(60_000);
    await scheduler.stop();

    expect(warms.map(({ error, result }) => error ?? result)).toEqual([
      'warm function failed to start',
      { ok: true },
    ]);
  });

  it('stop waits for the invocation in flight', async () => {
    let finish: (value: unknown) => void = () => {};
    const { scheduler, warms } = schedulerFor(
      WarmingStrategy.SCHEDULED,
      vi.fn<() => Promise<unknown>>(() => new Promise((resolve) => (finish = resolve))),
    );

    scheduler.start();
    const stopped = scheduler.stop();
    finish({ ok: true, status: 'started' });
    await stopped;

    expect(warms).toMatchObject([{ trigger: 'schedule', result: { ok: true, status: 'started' } }]);
  });

  it('keeps going when the listener throws, and says so', async () => {
    const complaints = vi.spyOn(console, 'error').mockImplementation(() => {});
    const scheduler = new LocalScheduler({
      strategy: WarmingStrategy.SCHEDULED,
      refreshIntervalSeconds: 60,
      invokeWarm: async () => ({ ok: true }),
      onScheduledWarm: () => {
        throw new Error('listener broke');
      },
    });

    scheduler.start();

    await expect(scheduler.stop()).resolves.toBeUndefined();
    expect(complaints).toHaveBeenCalledWith('onScheduledWarm failed: listener broke');
    complaints.mockRestore();
  });
});
