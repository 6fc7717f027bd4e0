import { InvalidKeyError } from './errors';
import type { CacheStore, KeyCandidate, KeySource, WeightedKey } from './types';

const isWeightedKey = <K>(candidate: KeyCandidate<K>): candidate is WeightedKey<K> =>
  typeof candidate === 'object' &&
  candidate !== null &&
  'key' in candidate &&
  'weight' in candidate &&
  typeof candidate.weight === 'number';

/** The key and weight of a candidate. @throws InvalidKeyError for a missing key or a weight that is not finite. */
const weighKey = <K>(candidate: KeyCandidate<K>, position: number): WeightedKey<K> => {
  const weighted = isWeightedKey(candidate);
  const key = weighted ? candidate.key : candidate;
  const weight = weighted ? candidate.weight : 0;
  if (key === undefined || key === null) {
    throw new InvalidKeyError(`key at position ${position} is ${String(key)}`);
  }
  if (!Number.isFinite(weight)) {
    throw new InvalidKeyError(`key ${String(key)} has weight ${weight}, expected a finite number`);
  }
  return { key, weight };
};

/** Deduplicates candidates as they arrive, keeping each key's highest weight and first position. */
class WeightedKeySet<K> {
  readonly #byKey = new Map<K, WeightedKey<K>>();
  #position = 0;
  #weighted = false;

  public add(candidate: KeyCandidate<K>): void {
    const { key, weight } = weighKey(candidate, this.#position++);
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

/** A pending key; `live` turns false when it is taken, or moved to a higher weight's bucket. */
interface QueuedKey<K> {
  key: K;
  weight: number;
  live: boolean;
}

/** The pending keys of one weight, first read first. */
interface WeightBucket<K> {
  keys: QueuedKey<K>[];
  head: number;
}

export interface KeyQueueOptions {
  /**
   * Distinct keys remembered for de-duplication; once that many are, later keys are admitted
   * unchecked (counted by `unchecked`). Default: every key.
   */
  rememberAtMost?: number;
}

/**
 * The keys read from a provider and not yet taken, so work can start while the plan still arrives.
 * `take` hands out the highest weight first, first read first among equal weights. A key is admitted
 * once: a repeat of a key still pending raises it to the higher weight, a repeat of a key already
 * taken is dropped. With `rememberAtMost`, memory stays bounded: the first that many distinct keys
 * are remembered (the highest-weight sources, since those are read first), later keys are admitted
 * without a check.
 *
 * @example
 * const queue = new KeyQueue<string>();
 * queue.add({ key: 'home', weight: 10 });
 * queue.add('about');
 * queue.take(10); // ['home', 'about']
 */
export class KeyQueue<K> {
  readonly #rememberAtMost: number;
  /** Every key remembered; the value is its pending entry, or undefined once taken. */
  readonly #seen = new Map<K, QueuedKey<K> | undefined>();
  readonly #buckets = new Map<number, WeightBucket<K>>();
  /** A max-heap of the weights that have a bucket. */
  readonly #weights: number[] = [];
  #size = 0;
  #position = 0;
  #unchecked = 0;

  public constructor(options: KeyQueueOptions = {}) {
    this.#rememberAtMost = options.rememberAtMost ?? Number.POSITIVE_INFINITY;
  }

  /** Keys pending. */
  public get size(): number {
    return this.#size;
  }

  /** Keys admitted without a duplicate check, after `rememberAtMost` distinct keys. */
  public get unchecked(): number {
    return this.#unchecked;
  }

  /**
   * Adds a candidate. Returns the key when it is new (or admitted unchecked), undefined for a repeat.
   * @throws InvalidKeyError for a missing key (`undefined` or `null`) or a weight that is not finite.
   */
  public add(candidate: KeyCandidate<K>): K | undefined {
    const { key, weight } = weighKey(candidate, this.#position++);
    if (this.#seen.has(key)) {
      const pending = this.#seen.get(key);
      if (pending && weight > pending.weight) {
        pending.live = false;
        this.#seen.set(key, this.#enqueue(key, weight));
      }
      return undefined;
    }
    if (this.#seen.size < this.#rememberAtMost) this.#seen.set(key, this.#enqueue(key, weight));
    else {
      this.#unchecked++;
      this.#enqueue(key, weight);
    }
    this.#size++;
    return key;
  }

  /** Takes up to `count` pending keys, highest weight first. */
  public take(count: number): K[] {
    const taken: K[] = [];
    while (taken.length < count && this.#size > 0) {
      const weight = this.#weights[0] as number;
      const bucket = this.#buckets.get(weight) as WeightBucket<K>;
      while (taken.length < count && bucket.head < bucket.keys.length) {
        const queued = bucket.keys[bucket.head++] as QueuedKey<K>;
        if (!queued.live) continue;
        queued.live = false;
        if (this.#seen.get(queued.key) === queued) this.#seen.set(queued.key, undefined);
        taken.push(queued.key);
        this.#size--;
      }
      if (bucket.head === bucket.keys.length) {
        this.#buckets.delete(weight);
        this.#popWeight();
      } else if (bucket.head > 1_024 && bucket.head * 2 > bucket.keys.length) {
        bucket.keys = bucket.keys.slice(bucket.head);
        bucket.head = 0;
      }
    }
    return taken;
  }

  #enqueue(key: K, weight: number): QueuedKey<K> {
    const queued: QueuedKey<K> = { key, weight, live: true };
    const bucket = this.#buckets.get(weight);
    if (bucket) bucket.keys.push(queued);
    else {
      this.#buckets.set(weight, { keys: [queued], head: 0 });
      this.#pushWeight(weight);
    }
    return queued;
  }

  #pushWeight(weight: number): void {
    const heap = this.#weights;
    let index = heap.push(weight) - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if ((heap[parent] as number) >= weight) break;
      heap[index] = heap[parent] as number;
      index = parent;
    }
    heap[index] = weight;
  }

  #popWeight(): void {
    const heap = this.#weights;
    const last = heap.pop() as number;
    if (heap.length === 0) return;
    let index = 0;
    for (;;) {
      const left = index * 2 + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const larger = right < heap.length && (heap[right] as number) > (heap[left] as number) ? right : left;
      if ((heap[larger] as number) <= last) break;
      heap[index] = heap[larger] as number;
      index = larger;
    }
    heap[index] = last;
  }
}

/** A kept key of `selectTopKeys`, with its place in the min-heap. */
interface RankedKey<K> extends WeightedKey<K> {
  position: number;
  slot: number;
}

/** True when `a` ranks below `b`: a lower weight, or the same weight read later. */
const ranksBelow = <K>(a: RankedKey<K>, b: RankedKey<K>): boolean =>
  a.weight < b.weight || (a.weight === b.weight && a.position > b.position);

/**
 * The `limit` keys of highest weight in `source` (a key seen twice keeps its highest weight), ordered
 * highest first, first read first among equals. Memory is bounded by `limit`, not by the source: a
 * min-heap keeps the best keys so far and forgets the rest.
 * @throws InvalidKeyError as `collectWeightedKeys` does.
 */
export const selectTopKeys = async <K>(
  source: KeySource<KeyCandidate<K>>,
  limit: number,
): Promise<WeightedKey<K>[]> => {
  const heap: RankedKey<K>[] = [];
  const kept = new Map<K, RankedKey<K>>();
  const place = (ranked: RankedKey<K>, slot: number) => {
    heap[slot] = ranked;
    ranked.slot = slot;
  };
  const siftDown = (ranked: RankedKey<K>) => {
    let slot = ranked.slot;
    for (;;) {
      const left = slot * 2 + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const lower =
        right < heap.length && ranksBelow(heap[right] as RankedKey<K>, heap[left] as RankedKey<K>)
          ? right
          : left;
      if (!ranksBelow(heap[lower] as RankedKey<K>, ranked)) break;
      place(heap[lower] as RankedKey<K>, slot);
      slot = lower;
    }
    place(ranked, slot);
  };
  const siftUp = (ranked: RankedKey<K>) => {
    let slot = ranked.slot;
    while (slot > 0) {
      const parent = (slot - 1) >> 1;
      if (!ranksBelow(ranked, heap[parent] as RankedKey<K>)) break;
      place(heap[parent] as RankedKey<K>, slot);
      slot = parent;
    }
    place(ranked, slot);
  };
  let position = 0;
  const offer = (candidate: KeyCandidate<K>) => {
    const { key, weight } = weighKey(candidate, position);
    const ranked: RankedKey<K> = { key, weight, position: position++, slot: heap.length };
    const held = kept.get(key);
    if (held) {
      if (weight > held.weight) {
        held.weight = weight;
        siftDown(held);
      }
      return;
    }
    if (heap.length < limit) {
      kept.set(key, ranked);
      heap.push(ranked);
      siftUp(ranked);
      return;
    }
    const lowest = heap[0];
    if (!lowest || !ranksBelow(lowest, ranked)) return;
    kept.delete(lowest.key);
    kept.set(key, ranked);
    ranked.slot = 0;
    siftDown(ranked);
  };
  if (Symbol.iterator in source) for (const candidate of source) offer(candidate);
  else for await (const candidate of source) offer(candidate);
  return heap
    .sort((a, b) => b.weight - a.weight || a.position - b.position)
    .map(({ key, weight }) => ({ key, weight }));
};

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
