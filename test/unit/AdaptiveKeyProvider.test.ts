import { describe, expect, it } from 'vitest';
import { AccessTracker, AdaptiveKeyProvider, ConfigurationError } from '../../functions/core';

const trackerWith = (accesses: [string, number, number][]) => {
  const tracker = new AccessTracker<string>();
  for (const [key, count, at] of accesses) tracker.recordAccess(key, count, at);
  return tracker;
};

describe('AdaptiveKeyProvider', () => {
  it('provides the hot keys over the threshold, weighted by their counts, up to the limit', async () => {
    const tracker = trackerWith([
      ['a', 50, Date.now()],
      ['b', 9, Date.now()],
      ['c', 2, Date.now()],
      ['d', 30, Date.now()],
    ]);

    const keys = await new AdaptiveKeyProvider(tracker, { threshold: 5, limit: 2 }).getKeys();

    expect(keys).toEqual([
      { key: 'a', weight: 50 },
      { key: 'd', weight: 30 },
    ]);
  });

  it('adds recently read keys when recentSeconds is given, each key once', async () => {
    const now = Date.now();
    const tracker = trackerWith([
      ['hot', 20, now - 10_000_000],
      ['recent', 1, now - 1_000],
      ['both', 10, now - 500],
      ['stale', 1, now - 10_000_000],
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

  it('reads an asynchronous source, as a DynamoDB tracker is', async () => {
    const source = {
      getHotKeys: async () => [{ key: 'remote', count: 8, lastAccess: 0 }],
      getRecentKeys: async () => [],
    };

    expect(await new AdaptiveKeyProvider(source, { threshold: 1, limit: 5 }).getKeys()).toEqual([
      { key: 'remote', weight: 8 },
    ]);
  });

  it('rejects invalid options, naming each', () => {
    const tracker = new AccessTracker<string>();
    expect(() => new AdaptiveKeyProvider(tracker, { threshold: -1, limit: 5 })).toThrow(ConfigurationError);
    expect(() => new AdaptiveKeyProvider(tracker, { threshold: 1, limit: 0 })).toThrow(/^limit: /);
    expect(() => new AdaptiveKeyProvider(tracker, { threshold: 1, limit: 5, recentSeconds: 0 })).toThrow(
      /^recentSeconds: /,
    );
  });
});
