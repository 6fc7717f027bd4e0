import { describe, expect, it } from 'vitest';
import type { CacheEntry } from '../../functions/core';
import { WriteBatcher } from '../../functions/core/WriteBatcher';

const written = (entries: readonly CacheEntry<string, number>[]) =>
  entries.map((entry) => ({ key: entry.key, status: 'written' as const }));

describe('WriteBatcher', () => {
  it('coalesces writes made in the same turn into one call and hands each caller its own results', async () => {
    const calls: string[][] = [];
    const batcher = new WriteBatcher<string, number>(async (entries) => {
      calls.push(entries.map((entry) => entry.key));
      return written(entries);
    }, 100);

    const [first, second] = await Promise.all([
      batcher.write([{ key: 'a', value: 1 }]),
      batcher.write([
        { key: 'b', value: 2 },
        { key: 'c', value: 3 },
      ]),
    ]);

    expect(calls).toEqual([['a', 'b', 'c']]);
    expect(first.map((result) => result.key)).toEqual(['a']);
    expect(second.map((result) => result.key)).toEqual(['b', 'c']);
  });

  it('flushes as soon as a batch is full', async () => {
    const calls: number[] = [];
    const batcher = new WriteBatcher<string, number>(async (entries) => {
      calls.push(entries.length);
      return written(entries);
    }, 2);

    await Promise.all([1, 2, 3, 4, 5].map((index) => batcher.write([{ key: `k${index}`, value: index }])));

    expect(calls).toEqual([2, 2, 1]);
  });

  it('rejects every caller of a failed call', async () => {
    const batcher = new WriteBatcher<string, number>(async () => {
      throw new Error('store down');
    }, 10);

    const writes = [batcher.write([{ key: 'a', value: 1 }]), batcher.write([{ key: 'b', value: 2 }])];

    for (const write of writes) await expect(write).rejects.toThrow('store down');
  });
});
