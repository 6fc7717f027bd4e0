import { describe, expect, it } from 'vitest';
import {
  AccessTracker,
  AdaptiveKeyProvider,
  ConfigurationError,
  type HotKeySource,
} from '../../functions/core';

/** A tracker fed with `[key, count, millisecondsAgo]` reads. */
const trackerWith = (reads: [string, number, number][]) => {
  const tracker = new AccessTracker<string>();
  const now = Date.now();
  for (const [key, count, ago] of reads) tracker.recordAccess(key, count, now - ago);
  return tracker;
};

const HOUR = 3_600_000;

describe('AdaptiveKeyProvider', () => {
  it('provides the hot keys at or above the threshold, weighted by count, up to the limit', async () => {
    const tracker = trackerWith([
      ['a', 50, 0],
      ['b', 5, 0],
      ['c', 4, 0],
      ['d', 30, 0],
    ]);

    expect(await new AdaptiveKeyProvider(tracker, { threshold: 5, limit: 10 }).getKeys()).toEqual([
      { key: 'a', weight: 50 },
      { key: 'd', weight: 30 },
      { key: 'b', weight: 5 },
    ]);
    expect(await new AdaptiveKeyProvider(tracker, { threshold: 5, limit: 2 }).getKeys()).toEqual([
      { key: 'a', weight: 50 },
      { key: 'd', weight: 30 },
    ]);
  });

  it('leaves recently read keys out unless recentSeconds is given', async () => {
    const tracker = trackerWith([
      ['hot', 20, HOUR],
      ['recent', 1, 1_000],
    ]);

    expect(await new AdaptiveKeyProvider(tracker, { threshold: 5, limit: 10 }).getKeys()).toEqual([
      { key: 'hot', weight: 20 },
    ]);
  });

  it('adds the keys read within recentSeconds, each key once', async () => {
    const tracker = trackerWith([
      ['hot', 20, HOUR],
      ['recent', 1, 1_000],
      ['both', 10, 500],
      ['stale', 1, HOUR],
    ]);

    const keys = await new AdaptiveKeyProvider(tracker, {
      threshold: 5,
      limit: 10,
      recentSeconds: 60,
    }).getKeys();

    expect(keys).toEqual([
      { key: 'hot', weight: 20 },
      { key: 'both', weight: 10 },
      { key: 'recent', weight: 1 },
    ]);
  });

  it('limits the recent keys too, keeping the most recent', async () => {
    const tracker = trackerWith([
      ['first', 1, 3_000],
      ['second', 1, 2_000],
      ['third', 1, 1_000],
    ]);

    const keys = await new AdaptiveKeyProvider(tracker, {
      threshold: 5,
      limit: 2,
      recentSeconds: 60,
    }).getKeys();

    expect(keys.map(({ key }) => key)).toEqual(['third', 'second']);
  });

  it('reads an asynchronous source, as a shared tracker is, passing it the options', async () => {
    const calls: unknown[] = [];
    const source: HotKeySource<string> = {
      getHotKeyStats: async (threshold, limit) => {
        calls.push(['hot', threshold, limit]);
        return [{ key: 'remote', count: 8 }];
      },
      getRecentKeyStats: async (seconds, limit) => {
        calls.push(['recent', seconds, limit]);
        return [
          { key: 'remote', count: 9 },
          { key: 'fresh', count: 1 },
        ];
      },
    };

    const keys = await new AdaptiveKeyProvider(source, {
      threshold: 2,
      limit: 5,
      recentSeconds: 30,
    }).getKeys();

    expect(keys).toEqual([
      { key: 'remote', weight: 9 },
      { key: 'fresh', weight: 1 },
    ]);
    expect(calls).toEqual([
      ['hot', 2, 5],
      ['recent', 30, 5],
    ]);
  });

  it('uses threshold 5 and limit 100 when they are not given', async () => {
    const calls: unknown[] = [];
    const source: HotKeySource<string> = {
      getHotKeyStats: (threshold, limit) => {
        calls.push([threshold, limit]);
        return [];
      },
      getRecentKeyStats: () => [],
    };

    expect(
      await new AdaptiveKeyProvider(source, { threshold: undefined, limit: undefined }).getKeys(),
    ).toEqual([]);
    expect(calls).toEqual([[5, 100]]);
  });

  it.each([
    ['threshold', { threshold: -1, limit: 5 }],
    ['threshold', { threshold: Number.NaN, limit: 5 }],
    ['limit', { threshold: 1, limit: 0 }],
    ['limit', { threshold: 1, limit: 2.5 }],
    ['recentSeconds', { threshold: 1, limit: 5, recentSeconds: 0 }],
    ['recentSeconds', { threshold: 1, limit: 5, recentSeconds: Number.POSITIVE_INFINITY }],
  ])('rejects a bad %s, naming it', (setting, options) => {
    const create = () => new AdaptiveKeyProvider(new AccessTracker<string>(), options);
    expect(create).toThrow(ConfigurationError);
    expect(create).toThrow(new RegExp(`^${setting}: `));
  });
});
