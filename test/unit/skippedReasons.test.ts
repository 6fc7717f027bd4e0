import { describe, expect, it } from 'vitest';
import {
  mergeSkippedReasons,
  reasonKind,
  summarizeSkippedKeys,
  UNRECORDED_REASON,
} from '../../functions/adapters/skippedReasons';

describe('skippedReasons', () => {
  it('counts reasons that differ only by a number together', () => {
    expect(reasonKind('not reached before warmupTimeoutSeconds (4.804 s)')).toBe(
      'not reached before warmupTimeoutSeconds (n s)',
    );
    expect(reasonKind('beyond maxKeysPerRun (10,000) by weight')).toBe('beyond maxKeysPerRun (n) by weight');
    expect(reasonKind('x'.repeat(500))).toHaveLength(120);
  });

  it("summarizes a message's skipped keys by reason, with the unexplained rest under its own reason", () => {
    const skippedKeys = new Map([
      ['a', 'not reached before warmupTimeoutSeconds (4.8 s)'],
      ['b', 'not reached before warmupTimeoutSeconds (3.1 s)'],
      ['c', 'the loader returned no value'],
    ]);

    expect(summarizeSkippedKeys({ warmed: 0, failed: 0, skipped: 4, skippedKeys })).toEqual([
      { reason: 'not reached before warmupTimeoutSeconds (n s)', count: 2, sample: ['a', 'b'] },
      { reason: 'the loader returned no value', count: 1, sample: ['c'] },
      { reason: UNRECORDED_REASON, count: 1, sample: [] },
    ]);
  });

  it('merges lists with their counts added and samples bounded to 10 keys and 1 KB', () => {
    const keys = (prefix: string, count: number) =>
      Array.from({ length: count }, (_, index) => `${prefix}${index}`);
    const merged = mergeSkippedReasons([
      [{ reason: 'fresh', count: 8, sample: keys('a', 8) }],
      [
        { reason: 'fresh', count: 8, sample: keys('b', 8) },
        { reason: 'long', count: 3, sample: ['x'.repeat(600), 'y'.repeat(600), 'z'] },
      ],
    ]);

    expect(merged).toEqual([
      { reason: 'fresh', count: 16, sample: [...keys('a', 8), 'b0', 'b1'] },
      { reason: 'long', count: 3, sample: ['x'.repeat(600)] },
    ]);
  });
});
