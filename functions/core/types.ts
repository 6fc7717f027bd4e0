/** A key with the priority it should be warmed at: higher weights are loaded first. */
export interface WeightedKey<K> {
  key: K;
  weight: number;
}

/** What a provider may yield for each key: the key alone (weight 0) or the key with a weight. */
export type KeyCandidate<K> = K | WeightedKey<K>;

/** Something that can be iterated, synchronously or not. */
export type KeySource<T> = Iterable<T> | AsyncIterable<T>;

/** Where a read of a key source stands, as JSON data a later read (maybe in another process) resumes from. */
export type SourcePosition =
  | null
  | boolean
  | number
  | string
  | SourcePosition[]
  | { [name: string]: SourcePosition };

/** A read of a key source that can say where it stands. */
export interface KeyReader<K> extends AsyncIterable<KeyCandidate<K>> {
  /** Where a read resumes to get the keys after the last one yielded. */
  position(): SourcePosition;
}

/** Supplies the keys a run warms. */
export interface KeyProvider<K> {
  getKeys(): Promise<KeySource<KeyCandidate<K>>>;
  /**
   * Reads the keys from `position` (from the start when undefined), so a run can continue in another
   * process. A provider without it is resumed by reading again and skipping the keys already read.
   */
  readKeys?(position?: SourcePosition): KeyReader<K>;
}

/**
 * Loads the values of keys from the source of truth.
 * A loader loads one key at a time (`loadOne`) or many (`loadMany`); `undefined` or a key left out
 * of the map means the source has no value for it.
 */
export type ValueLoader<K, V> =
  | { readonly kind: 'single'; loadOne(key: K, signal: AbortSignal): Promise<V | undefined> }
  | { readonly kind: 'batch'; loadMany(keys: readonly K[], signal: AbortSignal): Promise<Map<K, V>> };

/** How a write treats a value already cached under the same key. */
export type WriteMode = 'overwrite' | 'ifAbsent' | 'ifNewer';

/** One value to write into a cache. */
export interface CacheEntry<K, V> {
  key: K;
  value: V;
  /** Overrides the store's default time to live for this entry. */
  ttlSeconds?: number;
  /** With `ifNewer`, the entry is written only when no entry with a higher version is cached. */
  version?: number;
}

export interface WriteOptions {
  /** Default `overwrite`. */
  mode?: WriteMode;
  /** Time to live of every entry that does not set its own; default the store's. */
  ttlSeconds?: number;
}

/** What happened to one entry of a write. */
export type WriteResult<K> =
  | { key: K; status: 'written' }
  | { key: K; status: 'skipped'; reason: string }
  | { key: K; status: 'rejected'; reason: string };

/**
 * The cache a warmer writes into. `setMany` returns one result per entry, in the order given; it
 * throws only when the store itself cannot be reached, never for one bad entry.
 */
export interface CacheStore<K, V> {
  get(key: K): Promise<V | undefined>;
  set(key: K, value: V, options?: WriteOptions & { version?: number }): Promise<WriteResult<K>>;
  setMany(entries: readonly CacheEntry<K, V>[], options?: WriteOptions): Promise<WriteResult<K>[]>;
  delete(key: K): Promise<boolean>;
  /**
   * Milliseconds each key has left to live: `undefined` when the key is missing, `Infinity` when it
   * never expires. Stores that cannot tell omit this method, and TTL-aware refresh then warms every key.
   */
  remainingTtl?(keys: readonly K[]): Promise<Map<K, number | undefined>>;
  close?(): Promise<void>;
}

/**
 * A cache that hands out short per-key leases, so two loaders (two consumers, or a scheduled and an
 * on-demand run) never load the same key at once. A lease expires on its own after `ttlMs`.
 */
export interface LeaseStore<K> {
  /** Leases each key not leased by another owner; resolves with the keys now leased to `owner`. */
  acquireLeases(keys: readonly K[], owner: string, ttlMs: number): Promise<Set<K>>;
  /** Gives back the leases `owner` holds on `keys`; leases held by others are left alone. */
  releaseLeases(keys: readonly K[], owner: string): Promise<void>;
}

/** Figures of one warm run. `keysWarmed + keysFailed + keysSkipped` is the number of distinct keys. */
export interface WarmingStats<K> {
  keysWarmed: number;
  keysFailed: number;
  keysSkipped: number;
  /** keysWarmed ÷ (keysWarmed + keysFailed); 1 when nothing was attempted. */
  successRate: number;
  durationMs: number;
  /** Each failed key with its last error. */
  failures: Map<K, string>;
  /** Each skipped key with why: no value, still fresh, not reached before the timeout, cancelled, … */
  skipped: Map<K, string>;
  cancelled: boolean;
}

/** A snapshot of a run in progress. */
export interface WarmingProgress {
  keysPlanned: number;
  keysWarmed: number;
  keysFailed: number;
  keysSkipped: number;
  inFlight: number;
  elapsedMs: number;
  keysPerSecond: number;
  /** Estimated milliseconds left at the current rate; `undefined` until a key has finished. */
  etaMs: number | undefined;
}
