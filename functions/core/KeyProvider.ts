import { CacheWarmersError } from './errors';
import type { KeyCandidate, KeyProvider, KeyReader, KeySource, SourcePosition } from './types';

/**
 * Provides a fixed list of keys, optionally weighted.
 *
 * @example
 * const provider = new StaticKeyProvider(['user:1', { key: 'user:2', weight: 10 }]);
 */
export class StaticKeyProvider<K> implements KeyProvider<K> {
  readonly #keys: readonly KeyCandidate<K>[];

  public constructor(keys: Iterable<KeyCandidate<K>>) {
    this.#keys = [...keys];
  }

  public async getKeys(): Promise<KeySource<KeyCandidate<K>>> {
    return this.#keys;
  }
}

/**
 * Provides the keys a function returns at each run: an array, an iterable or an async iterable
 * (a paginated listing, say), maybe in a promise.
 *
 * @example
 * const provider = new CallableKeyProvider(async function* () {
 *   for await (const page of listProducts()) yield* page.map((product) => `product:${product.id}`);
 * });
 */
export class CallableKeyProvider<K> implements KeyProvider<K> {
  readonly #getKeys: () => KeySource<KeyCandidate<K>> | Promise<KeySource<KeyCandidate<K>>>;

  public constructor(getKeys: () => KeySource<KeyCandidate<K>> | Promise<KeySource<KeyCandidate<K>>>) {
    this.#getKeys = getKeys;
  }

  public async getKeys(): Promise<KeySource<KeyCandidate<K>>> {
    return this.#getKeys();
  }
}

/** A position a key source cannot resume from: it was written by another source, or altered. */
export class SourcePositionError extends CacheWarmersError {
  public constructor(message: string) {
    super(message);
    this.name = 'SourcePositionError';
  }
}

const keysReadBefore = (position: SourcePosition | undefined): number => {
  if (position === undefined) return 0;
  if (typeof position !== 'number' || !Number.isInteger(position) || position < 0) {
    throw new SourcePositionError(
      `cannot resume a key source at ${JSON.stringify(position)}: expected a count of keys read`,
    );
  }
  return position;
};

/**
 * Reads `provider` from `position`: with its own `readKeys` when it has one; otherwise by reading it
 * again and skipping the keys read before, so its position is how many keys were read (which holds
 * for any provider that lists the same keys in the same order each time).
 */
export const readKeysFrom = <K>(provider: KeyProvider<K>, position?: SourcePosition): KeyReader<K> => {
  if (provider.readKeys) return provider.readKeys(position);
  const skip = keysReadBefore(position);
  let read = 0;
  return {
    position: () => read,
    async *[Symbol.asyncIterator]() {
      const source = await provider.getKeys();
      // A plain iterable is read synchronously where it is skipped: `for await` costs a promise per key.
      if (Symbol.iterator in source) {
        const iterator = source[Symbol.iterator]();
        for (let skipped = 0; skipped < skip; skipped++) if (iterator.next().done) return;
        read = skip;
        for (let next = iterator.next(); !next.done; next = iterator.next()) {
          read++;
          yield next.value;
        }
        return;
      }
      for await (const candidate of source) {
        if (read++ < skip) continue;
        yield candidate;
      }
    },
  };
};
