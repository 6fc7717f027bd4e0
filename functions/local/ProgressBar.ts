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
 * One line: bar, percentage, keys done, rate, failures and ETA; in a stalled tail, how many keys are
 * left waiting on retries and for how long, instead of the rate.
 */
export const renderProgress = (progress: RunProgress): string => {
  const done = progress.keysWarmed + progress.keysFailed + progress.keysSkipped;
  const share = progress.keysPlanned === 0 ? 1 : done / progress.keysPlanned;
  const filled = Math.round(share * WIDTH);
  const left = formatCount(progress.keysPlanned - done);
  const stalledFor = formatDuration(progress.stalledMs);
  // Keys that fail are retried with backoff: once some have settled, a pause is the retries' wait.
  const pace =
    progress.stalledMs === undefined
      ? `${formatCount(progress.keysPerSecond)} keys/s`
      : done === 0
        ? `${left} left, none settled yet for ${stalledFor}`
        : `${left} left, waiting on retries for ${stalledFor}`;
  return (
    `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(Math.floor(share * 100)).padStart(3)}% ` +
    `${formatCount(done)}/${formatCount(progress.keysPlanned)} keys · ${pace} · ` +
    `${formatCount(progress.keysFailed)} failed · ETA ${formatDuration(progress.etaMs)}`
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
