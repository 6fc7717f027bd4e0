import { ConfigurationError } from './errors';
import type { KeyProvider, WeightedKey } from './types';

/** A key with how often it was read, as a `HotKeySource` reports it. */
export interface CountedKey<K> {
  key: K;
  count: number;
}

/**
 * Where an `AdaptiveKeyProvider` learns the hot keys: the in-process `AccessTracker`, or a shared
 * tracker (a DynamoDB table) whose queries are asynchronous.
 */
export interface HotKeySource<K> {
  /** At most `limit` keys read at least `threshold` times, most read first, with their counts. */
  getHotKeyStats(
    threshold: number,
    limit: number,
  ): readonly CountedKey<K>[] | Promise<readonly CountedKey<K>[]>;
  /** At most `limit` keys read in the last `seconds`, most recent first, with their counts. */
  getRecentKeyStats(
    seconds: number,
    limit: number,
  ): readonly CountedKey<K>[] | Promise<readonly CountedKey<K>[]>;
}

export interface AdaptiveKeyProviderOptions {
  /** Reads a key needs to count as hot. Default 5. */
  threshold?: number;
  /** Most hot keys provided, and most recent keys too when `recentSeconds` is set. Default 100. */
  limit?: number;
  /** Also provide the keys read in this many seconds, however few times. Default: hot keys only. */
  recentSeconds?: number;
}

const DEFAULT_THRESHOLD = 5;
const DEFAULT_LIMIT = 100;

/**
 * Provides the keys an application actually reads: the hot keys of a tracker, plus with
 * `recentSeconds` the recently read ones, each once and weighted by its read count so the hottest
 * load first. Use it with the `ADAPTIVE` strategy to keep warm what traffic needs, not a fixed list.
 *
 * @example
 * const tracker = new AccessTracker<string>();
 * const provider = new AdaptiveKeyProvider(tracker, { threshold: 5, limit: 1_000, recentSeconds: 300 });
 * const warmer = new CacheWarmer(cache, provider, loader, { strategy: 'ADAPTIVE' });
 * @throws ConfigurationError naming `threshold`, `limit` or `recentSeconds` when it is out of range.
 */
export class AdaptiveKeyProvider<K> implements KeyProvider<K> {
  readonly #source: HotKeySource<K>;
  readonly #threshold: number;
  readonly #limit: number;
  readonly #recentSeconds: number | undefined;

  public constructor(source: HotKeySource<K>, options: AdaptiveKeyProviderOptions = {}) {
    const { threshold = DEFAULT_THRESHOLD, limit = DEFAULT_LIMIT, recentSeconds } = options;
    if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold < 0) {
      throw new ConfigurationError('threshold', `expected a number ≥ 0, got ${JSON.stringify(threshold)}`);
    }
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1) {
      throw new ConfigurationError('limit', `expected a whole number ≥ 1, got ${JSON.stringify(limit)}`);
    }
    if (
      recentSeconds !== undefined &&
      (typeof recentSeconds !== 'number' || !Number.isFinite(recentSeconds) || recentSeconds <= 0)
    ) {
      throw new ConfigurationError(
        'recentSeconds',
        `expected a number > 0, got ${JSON.stringify(recentSeconds)}`,
      );
    }
    this.#source = source;
    this.#threshold = threshold;
    this.#limit = limit;
    this.#recentSeconds = recentSeconds;
  }

  /** The hot keys, most read first, then the recent keys that are not hot, each weighted by its count. */
  public async getKeys(): Promise<WeightedKey<K>[]> {
    const [hot, recent] = await Promise.all([
      this.#source.getHotKeyStats(this.#threshold, this.#limit),
      this.#recentSeconds === undefined
        ? []
        : this.#source.getRecentKeyStats(this.#recentSeconds, this.#limit),
    ]);
    const weights = new Map<K, number>();
    for (const { key, count } of [...hot, ...recent]) {
      // A shared tracker may answer the two queries from different moments: keep the larger count.
      weights.set(key, Math.max(weights.get(key) ?? 0, count));
    }
    return Array.from(weights, ([key, weight]) => ({ key, weight }));
  }
}
