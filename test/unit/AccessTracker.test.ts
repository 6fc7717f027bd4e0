import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccessTracker, ConfigurationError } from '../../functions/core';

const AT = 1_767_225_600_000;

const record = (tracker: AccessTracker<string>, reads: Record<string, number>, at = AT) => {
  for (const [key, times] of Object.entries(reads)) {
    for (let read = 0; read < times; read++) tracker.recordAccess(key, 1, at);
  }
};

describe('AccessTracker', () => {
  it('lists hot keys by descending count, above the threshold, up to the limit', () => {
    const tracker = new AccessTracker<string>({ maxKeys: 10 });
    record(tracker, { a: 3, b: 7, c: 5, d: 1 });

    expect(tracker.getHotKeyStats(3, 10)).toEqual([
      { key: 'b', count: 7, lastAccess: AT },
      { key: 'c', count: 5, lastAccess: AT },
      { key: 'a', count: 3, lastAccess: AT },
    ]);
    expect(tracker.getHotKeyStats(0, 2).map(({ key }) => key)).toEqual(['b', 'c']);
    expect(tracker.getHotKeyStats(0, Number.POSITIVE_INFINITY)).toHaveLength(4);
  });

  it("returns plain keys from getHotKeys and getRecentKeys, as the seed's signatures do", () => {
    const tracker = new AccessTracker<string>();
    record(tracker, { a: 3, b: 7, c: 5 });
    tracker.recordAccess('late', 1, AT + 1_000);

    expect(tracker.getHotKeys(3)).toEqual(['b', 'c', 'a']);
    expect(tracker.getHotKeys(0, 2)).toEqual(['b', 'c']);
    expect(tracker.getRecentKeys(300, 100, AT + 1_000)[0]).toBe('late');
    expect(tracker.getRecentKeys(300, 2, AT + 1_000)).toHaveLength(2);
  });

  it('uses threshold 5 and limit 100 by default', () => {
    const tracker = new AccessTracker<string>();
    record(tracker, { hot: 5, warm: 4 });
    for (let index = 0; index < 150; index++) tracker.recordAccess(`many:${index}`, 6, AT);

    const hot = tracker.getHotKeyStats();
    expect(hot).toHaveLength(100);
    expect(hot.some(({ key }) => key === 'warm')).toBe(false);
  });

  it('counts exactly while the distinct keys fit, and 0 for a key never read', () => {
    const tracker = new AccessTracker<string>({ maxKeys: 3_000 });
    for (let index = 0; index < 3_000; index++) tracker.recordAccess(`key:${index}`, (index % 7) + 1, AT);

    expect(tracker.size).toBe(3_000);
    expect(tracker.getAccessCount('key:0')).toBe(1);
    expect(tracker.getAccessCount('key:2999')).toBe((2_999 % 7) + 1);
    expect(tracker.getAccessCount('never')).toBe(0);
    expect(tracker.getOverestimate('key:2999')).toBe(0);
  });

  it('records a batch of accesses in one call', () => {
    const tracker = new AccessTracker<string>();
    tracker.recordAccess('k', 40, AT);
    tracker.recordAccess('k', 2, AT);

    expect(tracker.getAccessCount('k')).toBe(42);
  });

  it('makes room for a new key by replacing the least read one, which the newcomer inherits', () => {
    const tracker = new AccessTracker<string>({ maxKeys: 2 });
    record(tracker, { a: 3, b: 1 });
    tracker.recordAccess('c', 1, AT);

    expect(tracker.size).toBe(2);
    expect(tracker.getAccessCount('b')).toBe(0);
    expect(tracker.getAccessCount('c')).toBe(2);
    expect(tracker.getOverestimate('c')).toBe(1);
    expect(tracker.getAccessCount('a')).toBe(3);
  });

  it('stays within maxKeys and keeps the heavy hitter under a long tail of one-off keys', () => {
    const tracker = new AccessTracker<string>({ maxKeys: 50 });
    for (let index = 0; index < 10_000; index++) {
      tracker.recordAccess(`tail:${index}`, 1, AT);
      if (index % 10 === 0) tracker.recordAccess('hot', 1, AT);
    }

    expect(tracker.size).toBe(50);
    expect(tracker.getHotKeyStats(0, 1)[0]?.key).toBe('hot');
    expect(tracker.getAccessCount('hot')).toBeGreaterThanOrEqual(1_000);
  });

  it('lists recent keys most recent first, only those inside the window', () => {
    const tracker = new AccessTracker<string>();
    const now = AT + 300_000;
    tracker.recordAccess('old', 1, AT);
    tracker.recordAccess('newer', 1, now - 50_000);
    tracker.recordAccess('newest', 3, now - 10_000);
    tracker.recordAccess('oldest', 1, AT - 1);

    expect(tracker.getRecentKeyStats(60, 10, now).map(({ key }) => key)).toEqual(['newest', 'newer']);
    expect(tracker.getRecentKeyStats(300, 10, now)).toEqual([
      { key: 'newest', count: 3, lastAccess: now - 10_000 },
      { key: 'newer', count: 1, lastAccess: now - 50_000 },
      { key: 'old', count: 1, lastAccess: AT },
    ]);
    expect(tracker.getRecentKeyStats(300, 1, now).map(({ key }) => key)).toEqual(['newest']);
  });

  it('keeps the latest access time when accesses are recorded out of order', () => {
    const tracker = new AccessTracker<string>();
    tracker.recordAccess('k', 1, AT);
    tracker.recordAccess('k', 1, AT - 60_000);

    expect(tracker.getRecentKeyStats(1, 10, AT)).toEqual([{ key: 'k', count: 2, lastAccess: AT }]);
  });

  it('clear forgets every key', () => {
    const tracker = new AccessTracker<string>({ maxKeys: 2 });
    record(tracker, { a: 9, b: 1, c: 1 });
    tracker.clear();

    expect(tracker.size).toBe(0);
    expect(tracker.getAccessCount('a')).toBe(0);
    expect(tracker.getHotKeyStats(0)).toEqual([]);
    expect(tracker.getRecentKeyStats(300, 100, AT)).toEqual([]);

    tracker.recordAccess('d', 1, AT);
    expect(tracker.getHotKeyStats(0)).toEqual([{ key: 'd', count: 1, lastAccess: AT }]);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10'])(
    'rejects maxKeys %s, naming it',
    (maxKeys) => {
      const create = () => new AccessTracker({ maxKeys: maxKeys as number });
      expect(create).toThrow(ConfigurationError);
      expect(create).toThrow(/^maxKeys: expected a whole number ≥ 1/);
    },
  );

  it('rejects a count that is not a positive number, and a limit that is not a whole number', () => {
    const tracker = new AccessTracker<string>();

    expect(() => tracker.recordAccess('k', 0)).toThrow(/^count must be a positive finite number/);
    expect(() => tracker.recordAccess('k', Number.NaN)).toThrow(RangeError);
    expect(tracker.size).toBe(0);
    expect(() => tracker.getHotKeyStats(0, -1)).toThrow(/^limit must be a whole number/);
    expect(() => tracker.getRecentKeyStats(60, 1.5)).toThrow(RangeError);
  });
});

describe('AccessTracker properties', () => {
  const reads = fc.array(
    fc.record({ key: fc.integer({ min: 0, max: 60 }), count: fc.integer({ min: 1, max: 5 }) }),
    {
      maxLength: 400,
    },
  );

  it('keeps every key read more than total ÷ maxKeys times, and never undercounts a tracked key', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), reads, (maxKeys, stream) => {
        const tracker = new AccessTracker<number>({ maxKeys });
        const exact = new Map<number, number>();
        let total = 0;
        for (const { key, count } of stream) {
          tracker.recordAccess(key, count, AT);
          exact.set(key, (exact.get(key) ?? 0) + count);
          total += count;
        }
        for (const [key, count] of exact) {
          const tracked = tracker.getAccessCount(key);
          if (count > total / maxKeys) expect(tracked).toBeGreaterThan(0);
          if (tracked > 0) {
            expect(tracked).toBeGreaterThanOrEqual(count);
            expect(tracked - tracker.getOverestimate(key)).toBeLessThanOrEqual(count);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never holds more than maxKeys keys', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), reads, (maxKeys, stream) => {
        const tracker = new AccessTracker<number>({ maxKeys });
        for (const { key, count } of stream) {
          tracker.recordAccess(key, count, AT);
          expect(tracker.size).toBeLessThanOrEqual(maxKeys);
        }
        expect(tracker.getHotKeyStats(0, 1_000).length).toBe(tracker.size);
      }),
      { numRuns: 300 },
    );
  });

  it('counts exactly and orders by count while the distinct keys fit', () => {
    fc.assert(
      fc.property(reads, (stream) => {
        const tracker = new AccessTracker<number>({ maxKeys: 61 });
        const exact = new Map<number, number>();
        for (const { key, count } of stream) {
          tracker.recordAccess(key, count, AT);
          exact.set(key, (exact.get(key) ?? 0) + count);
        }
        const hot = tracker.getHotKeyStats(0, 1_000);
        expect(new Map(hot.map(({ key, count }) => [key, count]))).toEqual(exact);
        for (let index = 1; index < hot.length; index++) {
          expect((hot[index - 1] as { count: number }).count).toBeGreaterThanOrEqual(
            (hot[index] as { count: number }).count,
          );
        }
      }),
      { numRuns: 200 },
    );
  });
});
