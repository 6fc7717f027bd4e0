import { describe, expect, it } from 'vitest';
import {
  CallableKeyProvider,
  collectWeightedKeys,
  InvalidKeyError,
  KeyQueue,
  readKeysFrom,
  SourcePositionError,
  StaticKeyProvider,
  selectKeysDueForRefresh,
  selectTopKeys,
} from '../../functions/core';

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

describe('KeyQueue', () => {
  it('hands out the highest weight first, first read first among equals, each key once', () => {
    const queue = new KeyQueue<string>();
    for (const candidate of [
      'a',
      { key: 'b', weight: 5 },
      'c',
      { key: 'a', weight: 9 },
      'b',
      { key: 'd', weight: 5 },
    ])
      queue.add(candidate);

    expect(queue.take(2)).toEqual(['a', 'b']);
    queue.add({ key: 'a', weight: 100 });
    queue.add({ key: 'e', weight: 1 });
    expect(queue.take(10)).toEqual(['d', 'e', 'c']);
    expect(queue.size).toBe(0);
  });

  it('remembers at most rememberAtMost keys and counts the keys admitted unchecked', () => {
    const queue = new KeyQueue<string>({ rememberAtMost: 2 });
    for (const key of ['a', 'b', 'a', 'c', 'c', 'b']) queue.add(key);

    expect(queue.take(10)).toEqual(['a', 'b', 'c', 'c']);
    expect(queue.unchecked).toBe(2);
  });

  it('rejects a null key with its position', () => {
    const queue = new KeyQueue<string>();
    queue.add('a');
    expect(() => queue.add(null as unknown as string)).toThrow(
      new InvalidKeyError('key at position 1 is null'),
    );
  });
});

describe('selectTopKeys', () => {
  it('keeps the limit keys of highest weight, a repeated key at its highest weight, in weight order', async () => {
    async function* candidates() {
      yield* ['x', { key: 'a', weight: 1 }, { key: 'b', weight: 7 }, { key: 'c', weight: 3 }];
      yield* [{ key: 'a', weight: 8 }, { key: 'd', weight: 3 }, { key: 'b', weight: 2 }, 'y'];
    }

    expect(await selectTopKeys(candidates(), 3)).toEqual([
      { key: 'a', weight: 8 },
      { key: 'b', weight: 7 },
      { key: 'c', weight: 3 },
    ]);
  });

  it('agrees with a full sort when weights are distinct', async () => {
    const candidates = Array.from({ length: 500 }, (_, index) => ({
      key: `k${(index * 7919) % 211}`,
      weight: (index * 7) % 500,
    }));
    const sorted = await collectWeightedKeys(candidates);

    expect(await selectTopKeys(candidates, 50)).toEqual(sorted.slice(0, 50));
  });
});

describe('readKeysFrom', () => {
  const readAll = async (reader: AsyncIterable<unknown>) => {
    const keys: unknown[] = [];
    for await (const key of reader) keys.push(key);
    return keys;
  };

  it('resumes a provider without positions of its own after the keys read before', async () => {
    const provider = new CallableKeyProvider(async function* () {
      yield* ['a', 'b', 'c', 'd'];
    });
    const first = readKeysFrom(provider);
    const read: unknown[] = [];
    for await (const key of first) {
      read.push(key);
      if (read.length === 2) break;
    }

    expect(await readAll(readKeysFrom(provider, first.position()))).toEqual(['c', 'd']);
    expect(await readAll(readKeysFrom(new StaticKeyProvider(['a', 'b', 'c']), 1))).toEqual(['b', 'c']);
  });

  it('refuses a position that is not a count of keys read', () => {
    expect(() => readKeysFrom(new StaticKeyProvider(['a']), { offset: 3 })).toThrow(SourcePositionError);
  });
});
