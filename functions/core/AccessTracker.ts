import { ConfigurationError } from './errors';

/** A tracked key with its (estimated) access count and its last access, epoch milliseconds. */
export interface KeyAccess<K> {
  key: K;
  count: number;
  lastAccess: number;
}

export interface AccessTrackerOptions {
  /** Keys tracked at most, whatever number of distinct keys arrive. Default 10,000. */
  maxKeys?: number;
}

/**
 * Learns which keys are hot in bounded memory: the Space-Saving heavy-hitter summary (Metwally et
 * al.). It tracks at most `maxKeys` keys; a new key replaces the least counted one and inherits its
 * count, so counts are upper bounds, exact while fewer than `maxKeys` distinct keys were seen, and
 * every key accessed more than total ÷ maxKeys times is guaranteed to be tracked.
 *
 * The summary is a min-heap on counts kept in parallel arrays, so an access costs O(log maxKeys) at
 * worst and O(1) for the hot keys, which sit at the bottom of the heap.
 *
 * @example
 * const tracker = new AccessTracker<string>({ maxKeys: 10_000 });
 * tracker.recordAccess('product:1');
 * tracker.getHotKeys(5, 100); // [{ key, count, lastAccess }, …] by descending count
 */
/** One tracked key; its heap slot is kept on it so a swap moves no map entries. */
interface Counter<K> {
  key: K;
  count: number;
  lastAccess: number;
  slot: number;
}

export class AccessTracker<K> {
  readonly #maxKeys: number;
  readonly #counters = new Map<K, Counter<K>>();
  /** A min-heap on count. */
  #heap: Counter<K>[] = [];

  public constructor(options: AccessTrackerOptions = {}) {
    const maxKeys = options.maxKeys ?? 10_000;
    if (!Number.isInteger(maxKeys) || maxKeys < 1) {
      throw new ConfigurationError('maxKeys', `expected a whole number ≥ 1, got ${JSON.stringify(maxKeys)}`);
    }
    this.#maxKeys = maxKeys;
  }

  /** Number of keys tracked, at most `maxKeys`. */
  public get size(): number {
    return this.#heap.length;
  }

  /** Records `count` accesses of `key` at `at` (epoch milliseconds). */
  public recordAccess(key: K, count = 1, at = Date.now()): void {
    const tracked = this.#counters.get(key);
    if (tracked !== undefined) {
      tracked.count += count;
      if (at > tracked.lastAccess) tracked.lastAccess = at;
      this.#siftDown(tracked.slot);
      return;
    }
    const heap = this.#heap;
    if (heap.length < this.#maxKeys) {
      const counter = { key, count, lastAccess: at, slot: heap.length };
      heap.push(counter);
      this.#counters.set(key, counter);
      this.#siftUp(counter.slot);
      return;
    }
    // Space-Saving: the new key takes the least counted counter, and its count.
    const least = heap[0] as Counter<K>;
    this.#counters.delete(least.key);
    least.key = key;
    least.count += count;
    least.lastAccess = at;
    this.#counters.set(key, least);
    this.#siftDown(0);
  }

  /** The tracked count of `key`: 0 when it is not tracked. */
  public getAccessCount(key: K): number {
    return this.#counters.get(key)?.count ?? 0;
  }

  /** Keys accessed at least `threshold` times, most accessed first. */
  public getHotKeys(threshold = 5, limit = 100): KeyAccess<K>[] {
    return this.#entries()
      .filter((entry) => entry.count >= threshold)
      .sort((a, b) => b.count - a.count)
      .slice(0, limit);
  }

  /** Keys accessed within the last `seconds`, most recent first. */
  public getRecentKeys(seconds = 300, limit = 100, now = Date.now()): KeyAccess<K>[] {
    const since = now - seconds * 1000;
    return this.#entries()
      .filter((entry) => entry.lastAccess >= since)
      .sort((a, b) => b.lastAccess - a.lastAccess)
      .slice(0, limit);
  }

  public clear(): void {
    this.#heap = [];
    this.#counters.clear();
  }

  #entries(): KeyAccess<K>[] {
    return this.#heap.map(({ key, count, lastAccess }) => ({ key, count, lastAccess }));
  }

  #place(counter: Counter<K>, slot: number): void {
    this.#heap[slot] = counter;
    counter.slot = slot;
  }

  #siftUp(start: number): void {
    const heap = this.#heap;
    const counter = heap[start] as Counter<K>;
    let slot = start;
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1;
      const parent = heap[parentSlot] as Counter<K>;
      if (parent.count <= counter.count) break;
      this.#place(parent, slot);
      slot = parentSlot;
    }
    this.#place(counter, slot);
  }

  #siftDown(start: number): void {
    const heap = this.#heap;
    const size = heap.length;
    const counter = heap[start] as Counter<K>;
    let slot = start;
    for (;;) {
      const left = 2 * slot + 1;
      if (left >= size) break;
      const right = left + 1;
      const smaller =
        right < size && (heap[right] as Counter<K>).count < (heap[left] as Counter<K>).count ? right : left;
      const child = heap[smaller] as Counter<K>;
      if (counter.count <= child.count) break;
      this.#place(child, slot);
      slot = smaller;
    }
    this.#place(counter, slot);
  }
}
