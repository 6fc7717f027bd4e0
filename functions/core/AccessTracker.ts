import { ConfigurationError } from './errors';

/** How an `AccessTracker` is sized. */
export interface AccessTrackerOptions {
  /** Most keys tracked at once; beyond it the least counted key makes room. Default 10000. */
  maxKeys?: number;
}

/** One tracked key: its access count (an upper bound once keys were evicted) and its last access. */
export interface KeyAccess<K> {
  key: K;
  count: number;
  /** Time of the latest access, in epoch milliseconds. */
  lastAccess: number;
}

const DEFAULT_MAX_KEYS = 10_000;
/** Storage grows in steps up to `maxKeys`, so a generous bound costs nothing until keys arrive. */
const INITIAL_CAPACITY = 1_024;

/** A query's `limit`: a whole number ≥ 0, or `Infinity` for every match. */
const checkLimit = (limit: number): void => {
  if (!(Number.isInteger(limit) || limit === Number.POSITIVE_INFINITY) || limit < 0) {
    throw new RangeError(`limit must be a whole number ≥ 0 or Infinity, got ${String(limit)}`);
  }
};

/**
 * Learns which keys are read most, in memory bounded by `maxKeys` however many distinct keys arrive.
 *
 * It runs the Space-Saving algorithm (Metwally, Agrawal and El Abbadi, 2005): while there is room
 * every key is counted exactly; once full, a new key takes the place of the least counted one and
 * inherits its count. So a count may overstate a key's true count by at most what it inherited, never
 * understate it, and every key read more than `total ÷ maxKeys` times is guaranteed to be tracked.
 * An access costs O(log maxKeys) at worst: a min-heap by count over typed arrays, indexed by a `Map`.
 *
 * Use it where the application reads its cache, then warm its hot keys with an `AdaptiveKeyProvider`.
 *
 * @example
 * const tracker = new AccessTracker<string>({ maxKeys: 10_000 });
 * tracker.recordAccess('product:42');
 * tracker.getHotKeys(5, 100); // ['product:42', …], most read first
 */
export class AccessTracker<K> {
  readonly #maxKeys: number;
  /** key → slot. A slot indexes the parallel arrays below and stays put while its key is tracked. */
  readonly #slotOf = new Map<K, number>();
  readonly #keys: K[] = [];
  #counts: Float64Array;
  /** What each slot's count inherited on eviction: the most it overstates the true count. */
  #overestimates: Float64Array;
  #lastAccess: Float64Array;
  /** The min-heap by count, of slots: `#heap[0]` is the least counted slot. */
  #heap: Int32Array;
  /** slot → its position in `#heap`. */
  #positions: Int32Array;
  #size = 0;

  /** @throws ConfigurationError when `maxKeys` is not a whole number ≥ 1. */
  public constructor(options: AccessTrackerOptions = {}) {
    const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    if (typeof maxKeys !== 'number' || !Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new ConfigurationError('maxKeys', `expected a whole number ≥ 1, got ${JSON.stringify(maxKeys)}`);
    }
    this.#maxKeys = maxKeys;
    const capacity = Math.min(maxKeys, INITIAL_CAPACITY);
    this.#counts = new Float64Array(capacity);
    this.#overestimates = new Float64Array(capacity);
    this.#lastAccess = new Float64Array(capacity);
    this.#heap = new Int32Array(capacity);
    this.#positions = new Int32Array(capacity);
  }

  /** Most keys tracked at once. */
  public get maxKeys(): number {
    return this.#maxKeys;
  }

  /** Keys tracked now: at most `maxKeys`. */
  public get size(): number {
    return this.#size;
  }

  /**
   * Counts `count` accesses to `key` at time `at` (epoch ms). An aggregator that already summed the
   * reads of a window records them in one call.
   *
   * @example
   * tracker.recordAccess('product:42');
   * tracker.recordAccess('product:7', 12, batch.at);
   * @throws RangeError when `count` is not a positive finite number.
   */
  public recordAccess(key: K, count = 1, at: number = Date.now()): void {
    if (!(count > 0 && count < Number.POSITIVE_INFINITY)) {
      throw new RangeError(`count must be a positive finite number, got ${String(count)}`);
    }
    const slot = this.#slotOf.get(key);
    if (slot !== undefined) {
      this.#counts[slot] = (this.#counts[slot] as number) + count;
      if (at > (this.#lastAccess[slot] as number)) this.#lastAccess[slot] = at;
      this.#siftDown(slot, this.#positions[slot] as number);
      return;
    }
    if (this.#size < this.#maxKeys) {
      this.#insert(key, count, at);
      return;
    }
    // Full: the least counted key makes room, and the newcomer inherits its count (Space-Saving).
    const evicted = this.#heap[0] as number;
    const inherited = this.#counts[evicted] as number;
    this.#slotOf.delete(this.#keys[evicted] as K);
    this.#slotOf.set(key, evicted);
    this.#keys[evicted] = key;
    this.#counts[evicted] = inherited + count;
    this.#overestimates[evicted] = inherited;
    this.#lastAccess[evicted] = at;
    this.#siftDown(evicted, 0);
  }

  /** The tracked access count of `key`: 0 when it is not tracked, possibly an overestimate otherwise. */
  public getAccessCount(key: K): number {
    const slot = this.#slotOf.get(key);
    return slot === undefined ? 0 : (this.#counts[slot] as number);
  }

  /**
   * How much `getAccessCount(key)` may overstate the true count, which lies between
   * `count − overestimate` and `count`. 0 for keys tracked since their first access, and for untracked keys.
   */
  public getOverestimate(key: K): number {
    const slot = this.#slotOf.get(key);
    return slot === undefined ? 0 : (this.#overestimates[slot] as number);
  }

  /**
   * The most read keys, most read first: at most `limit` keys read at least `threshold` times. The
   * seed's signature; `getHotKeyStats` gives each key's count and last access too.
   *
   * @example
   * tracker.getHotKeys(5, 10); // ['product:42', 'product:7', …]
   * @throws RangeError when `limit` is neither a whole number ≥ 0 nor `Infinity`.
   */
  public getHotKeys(threshold = 5, limit = 100): K[] {
    return this.getHotKeyStats(threshold, limit).map(({ key }) => key);
  }

  /**
   * `getHotKeys` with each key's count and last access, for callers that weigh keys by their reads.
   *
   * @example
   * for (const { key, count } of tracker.getHotKeyStats(5, 10)) console.log(key, count);
   * @throws RangeError when `limit` is neither a whole number ≥ 0 nor `Infinity`.
   */
  public getHotKeyStats(threshold = 5, limit = 100): KeyAccess<K>[] {
    checkLimit(limit);
    const counts = this.#counts;
    const hot = this.#collect((slot) => (counts[slot] as number) >= threshold);
    hot.sort((a, b) => b.count - a.count || b.lastAccess - a.lastAccess);
    return hot.slice(0, limit);
  }

  /**
   * The keys read in the `seconds` before `now`, most recent first, at most `limit` of them. The
   * seed's signature; `getRecentKeyStats` gives each key's count and last access too.
   * Accesses stamped after `now` (a reporter's clock ahead of ours) count as recent.
   *
   * @example
   * tracker.getRecentKeys(60); // keys read in the last minute
   * @throws RangeError when `limit` is neither a whole number ≥ 0 nor `Infinity`.
   */
  public getRecentKeys(seconds = 300, limit = 100, now: number = Date.now()): K[] {
    return this.getRecentKeyStats(seconds, limit, now).map(({ key }) => key);
  }

  /**
   * `getRecentKeys` with each key's count and last access.
   *
   * @example
   * tracker.getRecentKeyStats(60)[0]; // { key, count, lastAccess } of the latest read
   * @throws RangeError when `limit` is neither a whole number ≥ 0 nor `Infinity`.
   */
  public getRecentKeyStats(seconds = 300, limit = 100, now: number = Date.now()): KeyAccess<K>[] {
    checkLimit(limit);
    const since = now - seconds * 1_000;
    const lastAccess = this.#lastAccess;
    const recent = this.#collect((slot) => (lastAccess[slot] as number) >= since);
    recent.sort((a, b) => b.lastAccess - a.lastAccess || b.count - a.count);
    return recent.slice(0, limit);
  }

  /** Forgets every key. */
  public clear(): void {
    this.#slotOf.clear();
    // Drops the references too, so forgotten keys can be collected.
    this.#keys.length = 0;
    this.#size = 0;
  }

  #collect(include: (slot: number) => boolean): KeyAccess<K>[] {
    const entries: KeyAccess<K>[] = [];
    for (let slot = 0; slot < this.#size; slot++) {
      if (!include(slot)) continue;
      entries.push({
        key: this.#keys[slot] as K,
        count: this.#counts[slot] as number,
        lastAccess: this.#lastAccess[slot] as number,
      });
    }
    return entries;
  }

  #insert(key: K, count: number, at: number): void {
    if (this.#size === this.#counts.length) this.#grow();
    const slot = this.#size++;
    this.#slotOf.set(key, slot);
    this.#keys[slot] = key;
    this.#counts[slot] = count;
    this.#overestimates[slot] = 0;
    this.#lastAccess[slot] = at;
    this.#siftUp(slot, slot);
  }

  #grow(): void {
    const capacity = Math.min(this.#maxKeys, this.#counts.length * 2);
    const widenFloats = (array: Float64Array) => {
      const wider = new Float64Array(capacity);
      wider.set(array);
      return wider;
    };
    const widenInts = (array: Int32Array) => {
      const wider = new Int32Array(capacity);
      wider.set(array);
      return wider;
    };
    this.#counts = widenFloats(this.#counts);
    this.#overestimates = widenFloats(this.#overestimates);
    this.#lastAccess = widenFloats(this.#lastAccess);
    this.#heap = widenInts(this.#heap);
    this.#positions = widenInts(this.#positions);
  }

  /** Moves `slot`, whose count grew, from heap `position` down below any smaller child. */
  #siftDown(slot: number, position: number): void {
    const heap = this.#heap;
    const positions = this.#positions;
    const counts = this.#counts;
    const size = this.#size;
    const count = counts[slot] as number;
    let at = position;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= size) break;
      let childSlot = heap[child] as number;
      let childCount = counts[childSlot] as number;
      const right = child + 1;
      if (right < size) {
        const rightSlot = heap[right] as number;
        const rightCount = counts[rightSlot] as number;
        if (rightCount < childCount) {
          child = right;
          childSlot = rightSlot;
          childCount = rightCount;
        }
      }
      if (childCount >= count) break;
      heap[at] = childSlot;
      positions[childSlot] = at;
      at = child;
    }
    heap[at] = slot;
    positions[slot] = at;
  }

  /** Moves a new `slot` from heap `position` up above any larger parent. */
  #siftUp(slot: number, position: number): void {
    const heap = this.#heap;
    const positions = this.#positions;
    const counts = this.#counts;
    const count = counts[slot] as number;
    let at = position;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const parentSlot = heap[parent] as number;
      if ((counts[parentSlot] as number) <= count) break;
      heap[at] = parentSlot;
      positions[parentSlot] = at;
      at = parent;
    }
    heap[at] = slot;
    positions[slot] = at;
  }
}
