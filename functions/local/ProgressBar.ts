import type { WarmingProgress } from '../core';

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

/** One line: bar, percentage, keys done, rate, failures and ETA. */
export const renderProgress = (progress: WarmingProgress): string => {
  const done = progress.keysWarmed + progress.keysFailed + progress.keysSkipped;
  const share = progress.keysPlanned === 0 ? 1 : done / progress.keysPlanned;
  const filled = Math.round(share * WIDTH);
  return (
    `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(Math.floor(share * 100)).padStart(3)}% ` +
    `${formatCount(done)}/${formatCount(progress.keysPlanned)} keys · ${formatCount(progress.keysPerSecond)} keys/s · ` +
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

  public update(progress: WarmingProgress): void {
    const now = Date.now();
    if (now - this.#lastDrawnAt < (this.#stream.isTTY ? TERMINAL_REDRAW_MS : LOG_LINE_MS)) return;
    this.#lastDrawnAt = now;
    this.#draw(progress);
  }

  /** Draws the final state and ends the line. */
  public finish(progress: WarmingProgress): void {
    this.#draw(progress);
    if (this.#stream.isTTY) this.#stream.write('\n');
  }

  #draw(progress: WarmingProgress): void {
    const line = renderProgress(progress);
    this.#stream.write(this.#stream.isTTY ? `\r${line}\u001b[K` : `${line}\n`);
  }
}
