import type { RunStatusReport } from '../adapters/runStatus';
import type { WarmingProgress } from '../core';

/** A run's progress as a `ProgressBar` draws it. */
export interface RunProgress extends WarmingProgress {
  /**
   * How long no key has been accounted for while keys remain, once that is long enough to say so:
   * the tail of a run whose last keys wait on retries with backoff.
   */
  stalledMs?: number;
  /**
   * In a stalled tail, how long from now each retry still to come is due at the latest, soonest
   * first, from the run's `retryWaitsSeconds`; empty when they are all past due, undefined when the
   * run does not report its retry waits.
   */
  retriesDueWithinMs?: number[];
}

/** The polls of this last stretch set the rate and the ETA; older ones no longer say how fast it goes. */
const RATE_WINDOW_MS = 5_000;
/** Until the polls span this long, the run's own average rate stands in. */
const MIN_RATE_SPAN_MS = 1_000;
/** No key accounted for in this long means the tail is waiting, and the bar says so. */
const STALL_MS = 3_000;

/**
 * A serverless run's status (control `status`) as the progress a `ProgressBar` draws. Keys in flight
 * are not known outside the consumers, so they count as none.
 *
 * @example
 * bar.finish(progressOfRun(status.run));
 */
export const progressOfRun = (run: RunStatusReport, now = Date.now()): RunProgress => ({
  keysPlanned: run.planned,
  keysWarmed: run.warmed,
  keysFailed: run.failed,
  keysSkipped: run.skipped,
  inFlight: 0,
  elapsedMs: (run.endedAt ? Date.parse(run.endedAt) : now) - Date.parse(run.startedAt),
  keysPerSecond: run.keysPerSecond,
  etaMs: run.etaSeconds === undefined ? undefined : run.etaSeconds * 1_000,
});

/**
 * When each retry still to come is due at the latest, `sinceMs` after the last key settled. A key that
 * failed was re-enqueued when its message was counted, which settled its neighbours: its next
 * delivery comes within the first wait from then, the one after within the first two, and so on.
 */
const retriesDueWithinMs = (waitsSeconds: readonly number[], sinceMs: number): number[] => {
  let dueAtMs = 0;
  return waitsSeconds
    .map((seconds) => {
      dueAtMs += seconds * 1_000;
      return dueAtMs - sinceMs;
    })
    .filter((withinMs) => withinMs > 0);
};

/**
 * Follows a running run's pace over successive polls. The run's own figures average over its whole
 * life, so when the last keys wait on retries its ETA stays at a second for as long as they wait;
 * here the rate is that of the last few seconds, the ETA follows it, and a tail where nothing settles
 * is reported as such: with when its retries are due at the latest when the run reports its retry
 * waits, never with a confident ETA.
 *
 * @example
 * const pace = new RunPace();
 * bar.update(pace.progressOf(status.run, Date.now()));
 */
export class RunPace {
  readonly #samples: { at: number; done: number }[] = [];
  #lastChange: { at: number; done: number } | undefined;

  public progressOf(run: RunStatusReport, now: number): RunProgress {
    const base = progressOfRun(run, now);
    const done = run.warmed + run.failed + run.skipped;
    if (this.#lastChange?.done !== done) this.#lastChange = { at: now, done };
    this.#samples.push({ at: now, done });
    while ((this.#samples[1]?.at ?? now) <= now - RATE_WINDOW_MS) this.#samples.shift();
    const oldest = this.#samples[0] as { at: number; done: number };
    const remaining = Math.max(0, run.planned - done);
    if (run.status !== 'running' || remaining === 0) return base;

    const stalledMs = now - this.#lastChange.at;
    if (stalledMs >= STALL_MS) {
      return {
        ...base,
        keysPerSecond: 0,
        etaMs: undefined,
        stalledMs,
        retriesDueWithinMs: run.retryWaitsSeconds && retriesDueWithinMs(run.retryWaitsSeconds, stalledMs),
      };
    }
    const spanMs = now - oldest.at;
    if (spanMs < MIN_RATE_SPAN_MS) return base;
    const keysPerSecond = ((done - oldest.done) * 1_000) / spanMs;
    return {
      ...base,
      keysPerSecond,
      etaMs: keysPerSecond > 0 ? (remaining / keysPerSecond) * 1_000 : undefined,
    };
  }
}
