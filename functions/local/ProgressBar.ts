import type { RunProgress } from './runProgress';

const WIDTH = 30;
/** A terminal gets one line redrawn in place at most this often; a log gets a line at most every second. */
const TERMINAL_REDRAW_MS = 80;
const LOG_LINE_MS = 1_000;

/** `12345.6` → `12,346`. */
export const formatCount = (count: number) => Math.round(count).toLocaleString('en-US');

/** `75_000` → `1m15s`; `--` when unknown. */
export const formatDuration = (ms: number | undefined): string => {
  if (ms === undefined || !Number.isFinite(ms)) return '--';
  const seconds = Math.ceil(ms / 1000);
  return seconds < 60
    ? `${seconds}s`
    : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
};

/**
 * The pace part of the line and its ETA. In a stalled tail: the keys left and what they wait on, with
 * the latest the retries can be due as an upper bound on the ETA, or no ETA when that is not known.
 */
const describePace = (progress: RunProgress, done: number): { pace: string; eta: string } => {
  const { stalledMs, retriesDueWithinMs: due } = progress;
  if (stalledMs === undefined) {
    return { pace: `${formatCount(progress.keysPerSecond)} keys/s`, eta: formatDuration(progress.etaMs) };
  }
  const left = formatCount(progress.keysPlanned - done);
  const stalledFor = formatDuration(stalledMs);
  // Keys that fail are retried with backoff: once some have settled, a pause is the retries' wait.
  if (done === 0) return { pace: `${left} left, none settled yet for ${stalledFor}`, eta: '--' };
  if (due === undefined) return { pace: `${left} left, waiting on retries for ${stalledFor}`, eta: '--' };
  const [next] = due;
  const last = due.at(-1);
  if (next === undefined || last === undefined) {
    return { pace: `${left} left, none settled for ${stalledFor}, its retries overdue`, eta: '--' };
  }
  return {
    pace: `${left} retrying, next attempt within ${formatDuration(next)}`,
    eta: `≤${formatDuration(last)}`,
  };
};

/**
 * One line: bar, percentage, keys done, rate, failures and ETA; in a stalled tail, how many keys are
 * left and what they wait on, instead of the rate.
 */
export const renderProgress = (progress: RunProgress): string => {
  const done = progress.keysWarmed + progress.keysFailed + progress.keysSkipped;
  const share = progress.keysPlanned === 0 ? 1 : done / progress.keysPlanned;
  const filled = Math.round(share * WIDTH);
  const { pace, eta } = describePace(progress, done);
  return (
    `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(Math.floor(share * 100)).padStart(3)}% ` +
    `${formatCount(done)}/${formatCount(progress.keysPlanned)} keys · ${pace} · ` +
    `${formatCount(progress.keysFailed)} failed · ETA ${eta}`
  );
};

/**
 * Draws a run's progress on a stream: redrawn in place on a terminal, a line a second otherwise
 * (so logs stay readable).
 */
export class ProgressBar {
  readonly #stream: NodeJS.WriteStream;
  #lastDrawnAt = 0;

  public constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
  }

  public update(progress: RunProgress): void {
    const now = Date.now();
    if (now - this.#lastDrawnAt < (this.#stream.isTTY ? TERMINAL_REDRAW_MS : LOG_LINE_MS)) return;
    this.#lastDrawnAt = now;
    this.#draw(progress);
  }

  /** Draws the final state and ends the line. */
  public finish(progress: RunProgress): void {
    this.#draw(progress);
    if (this.#stream.isTTY) this.#stream.write('\n');
  }

  #draw(progress: RunProgress): void {
    const line = renderProgress(progress);
    if (!this.#stream.isTTY) {
      this.#stream.write(`${line}\n`);
      return;
    }
    // A line longer than the terminal wraps, and `\r` then redraws only its last row.
    const fits = this.#stream.columns > 1 ? line.slice(0, this.#stream.columns - 1) : line;
    this.#stream.write(`\r${fits}\u001b[K`);
  }
}
