import { InvalidKeyError } from './errors';
import type { CacheStore, KeyCandidate, KeySource, WeightedKey } from './types';

const isWeightedKey = <K>(candidate: KeyCandidate<K>): candidate is WeightedKey<K> =>
  typeof candidate === 'object' &&
  candidate !== null &&
  'key' in candidate &&
  'weight' in candidate &&
  typeof candidate.weight === 'number';

/** Deduplicates candidates as they arrive, keeping each key's highest weight and first position. */
class WeightedKeySet<K> {
  readonly #byKey = new Map<K, WeightedKey<K>>();
  #position = 0;
  #weighted = false;

  public add(candidate: KeyCandidate<K>): void {
    const weighted = isWeightedKey(candidate);
    const key = weighted ? candidate.key : candidate;
    const weight = weighted ? candidate.weight : 0;
    if (key === undefined || key === null) {
      throw new InvalidKeyError(`key at position ${this.#position} is ${String(key)}`);
    }
    if (!Number.isFinite(weight)) {
      throw new InvalidKeyError(`key ${String(key)} has weight ${weight}, expected a finite number`);
    }
    this.#position++;
    if (weight !== 0) this.#weighted = true;
    const seen = this.#byKey.get(key);
    if (!seen) this.#byKey.set(key, { key, weight });
    else if (weight > seen.weight) seen.weight = weight;
  }

  public ordered(): WeightedKey<K>[] {
    const keys = [...this.#byKey.values()];
    // Array.prototype.sort is stable, so equal weights keep the order they were first seen in.
    return this.#weighted ? keys.sort((a, b) => b.weight - a.weight) : keys;
  }
}

/**
 * Reads every candidate from `source`, removes duplicates (a key seen twice keeps its highest weight
 * and its first position) and orders the keys by descending weight, first seen first among equals.
 * @throws InvalidKeyError for a missing key (`undefined` or `null`) or a weight that is not finite.
 */
export const collectWeightedKeys = async <K>(
  source: KeySource<KeyCandidate<K>>,
): Promise<WeightedKey<K>[]> => {
  const keys = new WeightedKeySet<K>();
  // A plain iterable is read synchronously: `for await` would cost a promise per key.
  if (Symbol.iterator in source) for (const candidate of source) keys.add(candidate);
  else for await (const candidate of source) keys.add(candidate);
  return keys.ordered();
};

/**
 * Which keys are due for a TTL-aware refresh: those missing from the cache, and those past
 * `refreshAheadRatio` of their `ttlSeconds` (a key with 0.8 ratio and 300 s TTL is due once 60 s or
 * less remain). Keys that never expire are fresh.
 */
export const selectKeysDueForRefresh = <K>(
  keys: readonly K[],
  remainingTtlMs: Map<K, number | undefined>,
  ttlSeconds: number,
  refreshAheadRatio: number,
): { due: K[]; fresh: Map<K, number> } => {
  // Whole milliseconds: (1 - 0.8) * 300_000 is 59_999.999… in floating point.
  const refreshWindowMs = Math.round((1 - refreshAheadRatio) * ttlSeconds * 1000);
  const due: K[] = [];
  const fresh = new Map<K, number>();
  for (const key of keys) {
    const remaining = remainingTtlMs.get(key);
    if (remaining === undefined || remaining <= refreshWindowMs) due.push(key);
    else fresh.set(key, remaining);
  }
  return { due, fresh };
};

/** Keys asked for their remaining TTL per store call. */
const TTL_LOOKUP_CHUNK = 1_000;

/**
 * Asks `store` for the remaining TTL of `keys` (in chunks, one store call each) and splits them into
 * those due for refresh and those still fresh, as `selectKeysDueForRefresh` decides. A store that
 * cannot tell remaining TTLs makes every key due.
 */
export const findKeysDueForRefresh = async <K>(
  store: Pick<CacheStore<K, unknown>, 'remainingTtl'>,
  keys: readonly K[],
  ttlSeconds: number,
  refreshAheadRatio: number,
): Promise<{ due: K[]; fresh: Map<K, number> }> => {
  if (!store.remainingTtl) return { due: [...keys], fresh: new Map() };
  const due: K[] = [];
  const fresh = new Map<K, number>();
  for (let start = 0; start < keys.length; start += TTL_LOOKUP_CHUNK) {
    const chunk = keys.slice(start, start + TTL_LOOKUP_CHUNK);
    const selection = selectKeysDueForRefresh(
      chunk,
      await store.remainingTtl(chunk),
      ttlSeconds,
      refreshAheadRatio,
    );
    due.push(...selection.due);
    for (const [key, remainingMs] of selection.fresh) fresh.set(key, remainingMs);
  }
  return { due, fresh };
};
