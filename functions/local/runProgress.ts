import type { RunStatusReport } from '../adapters/runStatus';
import type { WarmingProgress } from '../core';

/**
 * A serverless run's status (control `status`) as the progress a `ProgressBar` draws. Keys in flight
 * are not known outside the consumers, so they count as none.
 *
 * @example
 * bar.update(progressOfRun(status.run));
 */
export const progressOfRun = (run: RunStatusReport, now = Date.now()): WarmingProgress => ({
  keysPlanned: run.planned,
  keysWarmed: run.warmed,
  keysFailed: run.failed,
  keysSkipped: run.skipped,
  inFlight: 0,
  elapsedMs: (run.endedAt ? Date.parse(run.endedAt) : now) - Date.parse(run.startedAt),
  keysPerSecond: run.keysPerSecond,
  etaMs: run.etaSeconds === undefined ? undefined : run.etaSeconds * 1_000,
});
