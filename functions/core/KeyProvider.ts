import type { KeyCandidate, KeyProvider, KeySource } from './types';

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
