import type { RunRecord, SkippedReason } from './RunStore';

/** A run's progress as an operator reads it: what is left, how fast it goes, when it should end. */
export interface RunStatusReport {
  runId: string;
  status: RunRecord['status'];
  /** True while the fan-out still plans the run, so `planned` may grow (absent from older functions' reports). */
  planning?: boolean;
  trigger: RunRecord['trigger'];
  startedAt: string;
  endedAt?: string;
  planned: number;
  warmed: number;
  failed: number;
  skipped: number;
  /** Keys still to be accounted for while the run is running; 0 once it ended. */
  remaining: number;
  /**
   * Keys of an ended run still being accounted for: a cancelled run's messages in flight are counted
   * (mostly skipped) as consumers drain them. The figures are final when this is 0.
   */
  settling: number;
  /** Keys loaded per second (warmed or failed; skipped keys are not loaded), up to the run's end. */
  keysPerSecond: number;
  /**
   * Seconds until every key is accounted for at the current rate; undefined when it cannot be told
   * (no key loaded yet, or the plan still growing).
   */
  etaSeconds: number | undefined;
  /** Why keys were skipped, most frequent first, each with a few of the keys. */
  skippedReasons: SkippedReason[];
  /**
   * While the run is running: the longest each wait between deliveries of a key that keeps failing
   * can be, in seconds, from the configuration (see `requeueWaitCeilingsSeconds`), so a follower can
   * bound a tail waiting on retries. Absent from ended runs, and from control functions that predate it.
   */
  retryWaitsSeconds?: number[];
}

export interface DescribeRunStatusOptions {
  now?: number;
  /** The configuration's `requeueWaitCeilingsSeconds`, reported for a running run. */
  retryWaitsSeconds?: number[];
}

/** Derives the figures `status` shows from a run record. */
export const describeRunStatus = (
  run: RunRecord,
  { now = Date.now(), retryWaitsSeconds }: DescribeRunStatusOptions = {},
): RunStatusReport => {
  const loaded = run.keysWarmed + run.keysFailed;
  const unaccounted = Math.max(0, run.keysPlanned - loaded - run.keysSkipped);
  const running = run.status === 'running';
  const elapsedSeconds = Math.max(
    0.001,
    ((run.endedAt ? Date.parse(run.endedAt) : now) - Date.parse(run.startedAt)) / 1000,
  );
  const keysPerSecond = loaded / elapsedSeconds;
  return {
    runId: run.runId,
    status: run.status,
    planning: run.planning,
    trigger: run.trigger,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    planned: run.keysPlanned,
    warmed: run.keysWarmed,
    failed: run.keysFailed,
    skipped: run.keysSkipped,
    remaining: running ? unaccounted : 0,
    settling: running ? 0 : unaccounted,
    keysPerSecond: Math.round(keysPerSecond * 10) / 10,
    etaSeconds: !running
      ? 0
      : keysPerSecond > 0 && !run.planning
        ? Math.ceil(unaccounted / keysPerSecond)
        : undefined,
    skippedReasons: run.skippedReasons,
    ...(running && retryWaitsSeconds ? { retryWaitsSeconds } : {}),
  };
};
