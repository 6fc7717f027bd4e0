import type { RunRecord, SkippedReason } from './RunStore';

/** A run's progress as an operator reads it: what is left, how fast it goes, when it should end. */
export interface RunStatusReport {
  runId: string;
  status: RunRecord['status'];
  trigger: RunRecord['trigger'];
  startedAt: string;
  endedAt?: string;
  planned: number;
  warmed: number;
  failed: number;
  skipped: number;
  remaining: number;
  keysPerSecond: number;
  /** Seconds until every key is accounted for at the current rate; undefined when it cannot be told. */
  etaSeconds: number | undefined;
  /** Why keys were skipped: a count per reason with a sample of its keys. */
  skippedReasons?: SkippedReason[];
}

/** Derives the figures `status` shows from a run record. */
export const describeRunStatus = (run: RunRecord, now = Date.now()): RunStatusReport => {
  const done = run.keysWarmed + run.keysFailed + run.keysSkipped;
  const remaining = Math.max(0, run.keysPlanned - done);
  const elapsedSeconds = Math.max(
    0.001,
    ((run.endedAt ? Date.parse(run.endedAt) : now) - Date.parse(run.startedAt)) / 1000,
  );
  const keysPerSecond = done / elapsedSeconds;
  return {
    runId: run.runId,
    status: run.status,
    trigger: run.trigger,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    planned: run.keysPlanned,
    warmed: run.keysWarmed,
    failed: run.keysFailed,
    skipped: run.keysSkipped,
    remaining,
    keysPerSecond: Math.round(keysPerSecond * 10) / 10,
    etaSeconds:
      run.status !== 'running' ? 0 : keysPerSecond > 0 ? Math.ceil(remaining / keysPerSecond) : undefined,
    ...(run.skippedReasons === undefined ? {} : { skippedReasons: run.skippedReasons }),
  };
};
