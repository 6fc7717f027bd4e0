import { describe, expect, it } from 'vitest';
import { collectWeightedKeys, InvalidKeyError, selectKeysDueForRefresh } from '../../functions/core';

describe('collectWeightedKeys', () => {
  it('dedupes, keeps the highest weight, and orders by weight then first appearance', async () => {
    const keys = await collectWeightedKeys<string>([
      'a',
      { key: 'b', weight: 2 },
      'c',
      { key: 'a', weight: 5 },
      { key: 'b', weight: 1 },
    ]);

    expect(keys).toEqual([
      { key: 'a', weight: 5 },
      { key: 'b', weight: 2 },
      { key: 'c', weight: 0 },
    ]);
  });

  it('reads async iterables', async () => {
    async function* pages() {
      yield 'x';
      yield 'y';
    }

    expect(await collectWeightedKeys(pages())).toEqual([
      { key: 'x', weight: 0 },
      { key: 'y', weight: 0 },
    ]);
  });

  it('rejects a null key and a weight that is not a finite number', async () => {
    await expect(collectWeightedKeys(['a', null as unknown as string])).rejects.toThrow(InvalidKeyError);
    await expect(collectWeightedKeys([{ key: 'a', weight: Number.NaN }])).rejects.toThrow(
      'key a has weight NaN, expected a finite number',
    );
  });
});

describe('selectKeysDueForRefresh', () => {
  it('keeps missing keys and keys inside the last (1 - ratio) of their TTL', () => {
    const remaining = new Map<string, number | undefined>([
      ['fresh', 61_000],
      ['edge', 60_000],
      ['stale', 1_000],
      ['forever', Number.POSITIVE_INFINITY],
    ]);

    const { due, fresh } = selectKeysDueForRefresh(
      ['fresh', 'edge', 'stale', 'forever', 'missing'],
      remaining,
      300,
      0.8,
    );

    expect(due).toEqual(['edge', 'stale', 'missing']);
    expect([...fresh.keys()]).toEqual(['fresh', 'forever']);
  });
});
