import { sleep } from '../../core';
import { progressOfRun, RunPace, type RunProgress } from '../runProgress';
import { STATUS_POLL_INTERVAL_MS } from './constants';
import type { RunStatusReport, WarmerFunctions } from './types';

/** Draws a run's progress; `ProgressBar` is one. */
export interface ProgressDisplay {
  update(progress: RunProgress): void;
  finish(progress: RunProgress): void;
}

/** Why following a run stopped: it ended, the timeout passed, or the signal aborted. */
export type FollowEnd = 'ended' | 'timedOut' | 'interrupted';

export interface FollowRunOptions {
  functions: WarmerFunctions;
  timeoutSeconds: number;
  progress?: ProgressDisplay;
  /** Aborted to stop watching; the run goes on. */
  signal?: AbortSignal;
  now?: () => number;
  pollIntervalMs?: number;
}

/**
 * Polls the control function's `status` until the run ends, the timeout passes or the signal aborts,
 * drawing the run's progress. Returns the last status seen and why following stopped.
 *
 * @example
 * const { run, end } = await followRun(runId, { functions, timeoutSeconds: 900, progress: new ProgressBar() });
 */
export const followRun = async (
  runId: string,
  { functions, timeoutSeconds, progress, signal, now = Date.now, pollIntervalMs }: FollowRunOptions,
): Promise<{ run: RunStatusReport; end: FollowEnd }> => {
  const deadline = now() + timeoutSeconds * 1000;
  const pace = new RunPace();
  let { run } = await functions.control({ action: 'status', runId });
  const stop = (end: FollowEnd) => {
    progress?.finish(progressOfRun(run, now()));
    return { run, end };
  };
  for (;;) {
    if (run.status !== 'running') return stop('ended');
    if (now() >= deadline) return stop('timedOut');
    progress?.update(pace.progressOf(run, now()));
    try {
      await sleep(pollIntervalMs ?? STATUS_POLL_INTERVAL_MS, signal);
    } catch (error) {
      if (!signal?.aborted) throw error;
      return stop('interrupted');
    }
    ({ run } = await functions.control({ action: 'status', runId }));
  }
};
