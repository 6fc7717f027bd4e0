import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { RunStatusReport } from '../../functions/adapters/runStatus';
import { ProgressBar, renderProgress } from '../../functions/local/ProgressBar';
import { progressOfRun, RunPace, type RunProgress } from '../../functions/local/runProgress';

const startedAt = Date.parse('2025-01-31T09:05:00.000Z');

/** The status the control function reports at `seconds` into a 5,000-key run with `done` keys settled. */
const statusAt = (seconds: number, done: number, failed = 0): RunStatusReport => {
  const keysPerSecond = done / seconds;
  return {
    runId: 'run-1',
    status: done === 5_000 ? 'finished' : 'running',
    trigger: 'cli',
    startedAt: new Date(startedAt).toISOString(),
    planned: 5_000,
    warmed: done - failed,
    failed,
    skipped: 0,
    remaining: 5_000 - done,
    settling: 0,
    skippedReasons: [],
    keysPerSecond,
    etaSeconds: Math.ceil((5_000 - done) / keysPerSecond),
  };
};

/** Polls every half second, as `warm --wait` does: `done` keys settled at each poll. */
const follow = (pace: RunPace, polls: [seconds: number, done: number][], retryWaitsSeconds?: number[]) =>
  polls.map(([seconds, done]) =>
    pace.progressOf(
      { ...statusAt(seconds, done, Math.min(done, 1)), retryWaitsSeconds },
      startedAt + seconds * 1_000,
    ),
  );

/** The sample's tail: 4,998 keys settled by 7 s, then polls every half second up to `until` seconds. */
const tailUntil = (until: number): [number, number][] => [
  [6, 4_990],
  [7, 4_998],
  ...Array.from({ length: (until - 7) * 2 }, (_, index): [number, number] => [7.5 + index * 0.5, 4_998]),
];
const bar = (progress: RunProgress | undefined) => renderProgress(progress ?? progressOfRun(statusAt(1, 1)));

describe('RunPace', () => {
  it('takes the rate of the last seconds, not the whole run average', () => {
    const pace = new RunPace();
    const progress = follow(pace, [
      [1, 1_000],
      [5, 4_000],
      [6, 4_200],
      [7, 4_400],
      [8, 4_600],
      [9, 4_700],
      [10, 4_800],
    ]);
    const last = progress.at(-1);
    // 4,000 → 4,800 over the last 5 s: 160 keys/s; the run's average would say 480.
    expect(last?.keysPerSecond).toBe(160);
    expect(last?.etaMs).toBe(1_250);
    expect(last?.stalledMs).toBeUndefined();
  });

  it('says the tail waits on retries, with no ETA, once nothing settles for 3 s, when the run does not report its retry waits', () => {
    const pace = new RunPace();
    const progress = follow(pace, tailUntil(27));
    // 2.5 s after the last key settled, the rate still speaks; at 3 s the bar says what is happening.
    expect(progress[6]?.stalledMs).toBeUndefined();
    expect(progress[7]).toMatchObject({ stalledMs: 3_000, etaMs: undefined, keysPerSecond: 0 });
    const twentySeconds = progress.at(-1);
    expect(twentySeconds).toMatchObject({ stalledMs: 20_000, etaMs: undefined });
    expect(bar(twentySeconds)).toBe(
      '[##############################]  99% 4,998/5,000 keys · 2 left, waiting on retries for 20s · 1 failed · ETA --',
    );
  });

  it('in a stalled tail, says when the next retry is due at the latest, and bounds the ETA by the last one', () => {
    // maxRetries 3, requeueDelaySeconds 5: a failed key waits under 10 s, then under 20 s.
    const progress = follow(new RunPace(), tailUntil(40), [10, 20]);
    const at = (seconds: number) => bar(progress.find((_, index) => tailUntil(40)[index]?.[0] === seconds));

    expect(at(10)).toBe(
      '[##############################]  99% 4,998/5,000 keys · 2 retrying, next attempt within 7s · 1 failed · ETA ≤27s',
    );
    // Past the first wait, the second delivery has come and gone: the next is the third.
    expect(at(20)).toContain('· 2 retrying, next attempt within 17s · 1 failed · ETA ≤17s');
    // Every retry was due by 30 s after the last key settled: the bar says so instead of guessing.
    expect(at(37)).toContain('· 2 left, none settled for 30s, its retries overdue · 1 failed · ETA --');
    // From 3 s after the last key settled, no line claims the run is about to end.
    expect(progress.slice(7).filter((line) => /ETA [1-5]s$/.test(bar(line)))).toEqual([]);
  });

  it('bounds the tail from when it started following, however late that is', () => {
    const pace = new RunPace();
    const [first, stalled] = follow(
      pace,
      [
        [30, 4_998],
        [34, 4_998],
      ],
      [2, 4],
    );
    expect(first?.stalledMs).toBeUndefined();
    expect(bar(stalled)).toContain('· 2 retrying, next attempt within 2s · 1 failed · ETA ≤2s');
  });

  it('says nothing has settled yet when a run stalls before its first key', () => {
    const pace = new RunPace();
    const [, stalled] = follow(pace, [
      [0.5, 0],
      [4, 0],
    ]);
    expect(renderProgress(stalled ?? progressOfRun(statusAt(1, 1)))).toContain(
      '0/5,000 keys · 5,000 left, none settled yet for 4s · 0 failed · ETA --',
    );
  });

  it('draws the ended run with its own figures', () => {
    const pace = new RunPace();
    follow(pace, [[5, 4_000]]);
    const ended = {
      ...statusAt(8, 5_000),
      endedAt: new Date(startedAt + 8_000).toISOString(),
      etaSeconds: 0,
    };
    expect(pace.progressOf(ended, startedAt + 9_000)).toEqual(progressOfRun(ended, startedAt + 9_000));
  });
});

describe('ProgressBar', () => {
  it('keeps a line within the terminal, so redrawing in place never wraps', () => {
    const written: string[] = [];
    const terminal = Object.assign(new PassThrough(), { isTTY: true, columns: 60 });
    terminal.on('data', (chunk: Buffer) => written.push(chunk.toString()));
    const bar = new ProgressBar(terminal as unknown as NodeJS.WriteStream);
    bar.update(progressOfRun(statusAt(4, 2_000)));
    const line = written.join('').replace('\r', '').replace('\u001b[K', '');
    expect(line).toHaveLength(59);
    expect(line.startsWith('[############')).toBe(true);
  });
});
