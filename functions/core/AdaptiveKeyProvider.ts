import type { KeyAccess } from './AccessTracker';
import { ConfigurationError } from './errors';
import type { KeyProvider, WeightedKey } from './types';

/** Where hot and recent keys come from: the in-process `AccessTracker`, or a shared one (DynamoDB). */
export interface HotKeySource<K> {
  getHotKeys(threshold: number, limit: number): KeyAccess<K>[] | Promise<KeyAccess<K>[]>;
  getRecentKeys(seconds: number, limit: number): KeyAccess<K>[] | Promise<KeyAccess<K>[]>;
}

export interface AdaptiveKeyProviderOptions {
  /** Accesses a key needs to count as hot. */
  threshold: number;
  /** Hot keys provided at most (and recent keys at most, when `recentSeconds` is given). */
  limit: number;
  /** Also provide keys accessed within this many seconds, however often. */
  recentSeconds?: number;
}

/**
 * Provides the keys an application actually reads: the hot keys of a tracker (plus, with
 * `recentSeconds`, the recently read ones), each weighted by its access count so the hottest load first.
 *
 * @example
 * const provider = new AdaptiveKeyProvider(tracker, { threshold: 5, limit: 1_000, recentSeconds: 300 });
 */
export class AdaptiveKeyProvider<K> implements KeyProvider<K> {
  readonly #source: HotKeySource<K>;
  readonly #options: AdaptiveKeyProviderOptions;

  public constructor(source: HotKeySource<K>, options: AdaptiveKeyProviderOptions) {
    if (!(Number.isFinite(options.threshold) && options.threshold >= 0)) {
      throw new ConfigurationError(
        'threshold',
        `expected a number ≥ 0, got ${JSON.stringify(options.threshold)}`,
      );
    }
    if (!(Number.isInteger(options.limit) && options.limit >= 1)) {
      throw new ConfigurationError(
        'limit',
        `expected a whole number ≥ 1, got ${JSON.stringify(options.limit)}`,
      );
    }
    if (
      options.recentSeconds !== undefined &&
      !(Number.isFinite(options.recentSeconds) && options.recentSeconds > 0)
    ) {
      throw new ConfigurationError(
        'recentSeconds',
        `expected a number > 0, got ${JSON.stringify(options.recentSeconds)}`,
      );
    }
    this.#source = source;
    this.#options = options;
  }

  public async getKeys(): Promise<WeightedKey<K>[]> {
    const { threshold, limit, recentSeconds } = this.#options;
    const [hot, recent] = await Promise.all([
      this.#source.getHotKeys(threshold, limit),
      recentSeconds === undefined ? [] : this.#source.getRecentKeys(recentSeconds, limit),
    ]);
    const weights = new Map<K, number>();
    for (const { key, count } of [...hot, ...recent])
      weights.set(key, Math.max(weights.get(key) ?? 0, count));
    return [...weights].map(([key, weight]) => ({ key, weight }));
  }
}
