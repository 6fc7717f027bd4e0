import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccessTracker, ConfigurationError } from '../../functions/core';

describe('AccessTracker', () => {
  it('counts exactly while it has room, and orders hot keys by count', () => {
    const tracker = new AccessTracker<string>({ maxKeys: 10 });
    for (const [key, times] of [
      ['a', 3],
      ['b', 7],
      ['c', 5],
      ['d', 1],
    ] as const) {
      for (let access = 0; access < times; access++) tracker.recordAccess(key, 1, 1_000);
    }

    expect(tracker.getAccessCount('b')).toBe(7);
    expect(tracker.getAccessCount('never')).toBe(0);
    expect(tracker.getHotKeys(3, 10).map(({ key, count }) => [key, count])).toEqual([
      ['b', 7],
      ['c', 5],
      ['a', 3],
    ]);
    expect(tracker.getHotKeys(0, 2).map(({ key }) => key)).toEqual(['b', 'c']);
  });

  it('records a batch of accesses at once', () => {
    const tracker = new AccessTracker<string>();
    tracker.recordAccess('k', 40);
    tracker.recordAccess('k', 2);

    expect(tracker.getAccessCount('k')).toBe(42);
  });

  it('stays within maxKeys and keeps the heavy hitter when the long tail overflows it', () => {
    const tracker = new AccessTracker<string>({ maxKeys: 50 });
    for (let index = 0; index < 10_000; index++) {
      tracker.recordAccess(`tail:${index}`);
      if (index % 10 === 0) tracker.recordAccess('hot');
    }

    expect(tracker.size).toBe(50);
    expect(tracker.getHotKeys(0, 1)[0]?.key).toBe('hot');
    expect(tracker.getAccessCount('hot')).toBeGreaterThanOrEqual(1_000);
  });

  it('lists recent keys most recent first, only within the window', () => {
    const tracker = new AccessTracker<string>();
    tracker.recordAccess('old', 1, 0);
    tracker.recordAccess('newer', 1, 250_000);
    tracker.recordAccess('newest', 1, 290_000);
    tracker.recordAccess('old', 1, 100);

    expect(tracker.getRecentKeys(60, 10, 300_000).map(({ key }) => key)).toEqual(['newest', 'newer']);
    expect(tracker.getRecentKeys(300, 10, 300_000).map(({ key }) => key)).toEqual(['newest', 'newer', 'old']);
    expect(tracker.getRecentKeys(300, 1, 300_000).map(({ key }) => key)).toEqual(['newest']);
  });

  it('clear forgets everything', () => {
    const tracker = new AccessTracker<string>();
    tracker.recordAccess('k', 9);
    tracker.clear();

    expect(tracker.size).toBe(0);
    expect(tracker.getAccessCount('k')).toBe(0);
    expect(tracker.getHotKeys(0)).toEqual([]);
  });

  it('rejects a maxKeys that is not a whole number ≥ 1, naming it', () => {
    expect(() => new AccessTracker({ maxKeys: 0 })).toThrow(
      new ConfigurationError('maxKeys', 'expected a whole number ≥ 1, got 0'),
    );
  });

  it('never holds more than maxKeys keys, never undercounts a tracked key, and keeps every key above total ÷ maxKeys', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 400 }),
        (maxKeys, stream) => {
          const tracker = new AccessTracker<number>({ maxKeys });
          const exact = new Map<number, number>();
          for (const key of stream) {
            tracker.recordAccess(key);
            exact.set(key, (exact.get(key) ?? 0) + 1);
            expect(tracker.size).toBeLessThanOrEqual(maxKeys);
          }
          for (const [key, count] of exact) {
            const tracked = tracker.getAccessCount(key);
            if (tracked > 0) expect(tracked).toBeGreaterThanOrEqual(count);
            if (count > stream.length / maxKeys) expect(tracked).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
