import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccessEventBatch, parseAccessEventBatch } from '../../functions/adapters/accessEvents';
import {
  DynamoAccessTracker,
  MAX_REPORTER_CLOCK_SKEW_MS,
  trackerTableDefinition,
} from '../../functions/adapters/DynamoAccessTracker';
import { type LocalDynamo, startLocalDynamo } from '../support/dynalite';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
let dynamo: LocalDynamo;
let tableCount = 0;

const newTracker = async (now = () => NOW): Promise<{ tracker: DynamoAccessTracker; tableName: string }> => {
  const tableName = `tracker-${++tableCount}`;
  await dynamo.createTable(trackerTableDefinition(tableName));
  return {
    tracker: new DynamoAccessTracker({ client: dynamo.documentClient, tableName, shards: 4, now }),
    tableName,
  };
};

const batch = (id: string, counts: Record<string, number>, at = NOW): AccessEventBatch => ({
  v: 1,
  id,
  at,
  counts,
});

beforeAll(async () => {
  dynamo = await startLocalDynamo();
});

afterAll(async () => {
  await dynamo.close();
});

describe('DynamoAccessTracker against dynalite', () => {
  it('adds counts across batches, writing each distinct key once', async () => {
    const { tracker } = await newTracker();
    const result = await tracker.recordBatches([batch('r/1', { a: 2, b: 1 }), batch('r/2', { a: 3 })]);
    expect(result).toEqual({ applied: 2, skippedDuplicates: 0, writes: 2 });
    await tracker.recordBatches([batch('r/3', { a: 1, c: 4 })]);
    expect(await tracker.getHotKeyStats(0, 10)).toEqual([
      { key: 'a', count: 6, lastAccess: NOW },
      { key: 'c', count: 4, lastAccess: NOW },
      { key: 'b', count: 1, lastAccess: NOW },
    ]);
  });

  it('answers getHotKeys and getRecentKeys with plain keys, as AccessTracker does', async () => {
    const { tracker } = await newTracker();
    await tracker.recordBatches([batch('r/1', { a: 2, b: 5 })]);
    expect(await tracker.getHotKeys(0, 10)).toEqual(['b', 'a']);
    expect((await tracker.getRecentKeys(3_600, 10)).sort()).toEqual(['a', 'b']);
  });

  it('counts a key named __proto__ like any other key', async () => {
    const { tracker } = await newTracker();
    const body = JSON.stringify({ v: 1, id: 'r/1', at: NOW, counts: { ['__proto__']: 3, other: 1 } });
    expect(body).toContain('"__proto__":3');
    await tracker.recordBatches([parseAccessEventBatch(body)]);
    expect(await tracker.getHotKeyStats(0, 10)).toEqual([
      { key: '__proto__', count: 3, lastAccess: NOW },
      { key: 'other', count: 1, lastAccess: NOW },
    ]);
  });

  it("clamps a reporter's stamp from the future to this clock, so the key stays recent", async () => {
    let now = NOW;
    const { tracker } = await newTracker(() => now);
    await tracker.recordBatches([batch('ahead/1', { k: 1 }, NOW + 30 * 86_400_000)]);
    now = NOW + 3_600_000;
    await tracker.recordBatches([batch('r/1', { k: 50 }, now)]);

    expect(await tracker.getRecentKeyStats(3_600, 10)).toEqual([{ key: 'k', count: 51, lastAccess: now }]);
    const [stored] = await tracker.getHotKeyStats(0, 10);
    expect(stored?.lastAccess).toBeLessThanOrEqual(now + MAX_REPORTER_CLOCK_SKEW_MS);
  });

  it('does not count a redelivered batch twice, within a call or across calls', async () => {
    const { tracker } = await newTracker();
    await tracker.recordBatches([batch('r/1', { a: 2 })]);
    const result = await tracker.recordBatches([
      batch('r/1', { a: 2 }),
      batch('r/2', { a: 1 }),
      batch('r/2', { a: 1 }),
    ]);
    expect(result).toEqual({ applied: 1, skippedDuplicates: 2, writes: 1 });
    expect(await tracker.getHotKeyStats(0, 10)).toEqual([{ key: 'a', count: 3, lastAccess: NOW }]);
  });

  it('returns the exact hot keys of a known stream, most counted first, honouring threshold and limit', async () => {
    const { tracker } = await newTracker();
    const counts = Object.fromEntries(Array.from({ length: 30 }, (_, rank) => [`key:${rank}`, 30 - rank]));
    await tracker.recordBatches([batch('r/1', counts)]);
    await tracker.recordBatches([batch('r/2', { 'key:29': 100 })]);
    const top = await tracker.getHotKeyStats(0, 5);
    expect(top.map(({ key, count }) => [key, count])).toEqual([
      ['key:29', 101],
      ['key:0', 30],
      ['key:1', 29],
      ['key:2', 28],
      ['key:3', 27],
    ]);
    const overThreshold = await tracker.getHotKeyStats(25, 100);
    expect(overThreshold.map(({ key }) => key)).toEqual([
      'key:29',
      'key:0',
      'key:1',
      'key:2',
      'key:3',
      'key:4',
      'key:5',
    ]);
  });

  it('returns the keys of a recent window, newest first, across time buckets', async () => {
    const { tracker } = await newTracker();
    const minute = 60_000;
    await tracker.recordBatches([
      batch('r/1', { old: 1 }, NOW - 120 * minute),
      batch('r/2', { hourAgo: 1 }, NOW - 50 * minute),
      batch('r/3', { recent: 1 }, NOW - 2 * minute),
      batch('r/4', { newest: 1 }, NOW),
    ]);
    expect((await tracker.getRecentKeyStats(3_600, 10)).map(({ key }) => key)).toEqual([
      'newest',
      'recent',
      'hourAgo',
    ]);
    expect((await tracker.getRecentKeyStats(3_600, 2)).map(({ key }) => key)).toEqual(['newest', 'recent']);
  });

  it('keeps a key’s latest access when an older batch arrives late', async () => {
    const { tracker } = await newTracker();
    await tracker.recordBatches([batch('r/2', { a: 1 }, NOW)]);
    await tracker.recordBatches([batch('r/1', { a: 2 }, NOW - 60_000)]);
    expect(await tracker.getHotKeyStats(0, 10)).toEqual([{ key: 'a', count: 3, lastAccess: NOW }]);
  });

  it('leaves out items past their expiresAt, which DynamoDB TTL deletes only lazily', async () => {
    let now = NOW;
    const { tracker } = await newTracker(() => now);
    await tracker.recordBatches([batch('r/1', { stale: 5 }, NOW)]);
    now = NOW + 6 * 86_400_000;
    await tracker.recordBatches([batch('r/2', { fresh: 1 }, now)]);
    now = NOW + 8 * 86_400_000;
    expect((await tracker.getHotKeyStats(0, 10)).map(({ key }) => key)).toEqual(['fresh']);
    expect((await tracker.getRecentKeyStats(3 * 86_400, 10)).map(({ key }) => key)).toEqual(['fresh']);
  });
});
