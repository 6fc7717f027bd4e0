import type { CacheEntry, CacheStore, LeaseStore, WriteMode, WriteOptions, WriteResult } from './types';

export interface MemoryStoreOptions<K, V> {
  /** Time to live of entries written without one; 0 or undefined for no expiry. */
  ttlSeconds?: number;
  /**
   * The map values are kept in, raw, so the application can read them directly; a new one by default.
   * Expiry and versions are kept beside it.
   */
  values?: Map<K, V>;
}

/**
 * The embedded cache: an in-process map with per-key expiry and the three write modes. It is what
 * `npm start` warms, what tests warm, and what `CacheWarmer` wraps a plain `Map` in.
 *
 * @example
 * const store = new MemoryStore<string, User>({ ttlSeconds: 300 });
 * await store.setMany([{ key: 'user:1', value: user }]);
 */
export class MemoryStore<K, V> implements CacheStore<K, V>, LeaseStore<K> {
  readonly #values: Map<K, V>;
  /** Epoch milliseconds after which an entry is gone, for entries that expire. */
  readonly #expiresAt = new Map<K, number>();
  /** Versions of entries written with one, for `ifNewer`. */
  readonly #versions = new Map<K, number>();
  readonly #defaultTtlSeconds: number;
  readonly #leases = new Map<K, { owner: string; expiresAt: number }>();

  public constructor(options: MemoryStoreOptions<K, V> = {}) {
    this.#values = options.values ?? new Map();
    this.#defaultTtlSeconds = options.ttlSeconds ?? 0;
  }

  /** Number of entries, counting ones that expired but were not read since. */
  public get size(): number {
    return this.#values.size;
  }

  public async get(key: K): Promise<V | undefined> {
    return this.#live(key, Date.now()) ? this.#values.get(key) : undefined;
  }

  public async set(
    key: K,
    value: V,
    options: WriteOptions & { version?: number } = {},
  ): Promise<WriteResult<K>> {
    return this.#write(
      key,
      value,
      options.ttlSeconds,
      options.version,
      options.mode ?? 'overwrite',
      Date.now(),
    );
  }

  public async setMany(
    entries: readonly CacheEntry<K, V>[],
    options: WriteOptions = {},
  ): Promise<WriteResult<K>[]> {
    const now = Date.now();
    const mode = options.mode ?? 'overwrite';
    return entries.map((entry) =>
      this.#write(entry.key, entry.value, entry.ttlSeconds ?? options.ttlSeconds, entry.version, mode, now),
    );
  }

  public async delete(key: K): Promise<boolean> {
    const existed = this.#live(key, Date.now());
    this.#forget(key);
    return existed;
  }

  public async remainingTtl(keys: readonly K[]): Promise<Map<K, number | undefined>> {
    const now = Date.now();
    return new Map(
      keys.map((key) => {
        if (!this.#live(key, now)) return [key, undefined];
        const expiresAt = this.#expiresAt.get(key);
        return [key, expiresAt === undefined ? Number.POSITIVE_INFINITY : expiresAt - now];
      }),
    );
  }

  public async acquireLeases(keys: readonly K[], owner: string, ttlMs: number): Promise<Set<K>> {
    const now = Date.now();
    const leased = new Set<K>();
    for (const key of keys) {
      const lease = this.#leases.get(key);
      if (lease && lease.owner !== owner && lease.expiresAt > now) continue;
      this.#leases.set(key, { owner, expiresAt: now + ttlMs });
      leased.add(key);
    }
    return leased;
  }

  public async releaseLeases(keys: readonly K[], owner: string): Promise<void> {
    for (const key of keys) {
      if (this.#leases.get(key)?.owner === owner) this.#leases.delete(key);
    }
  }

  /** True when the key holds an unexpired value; drops it when it expired. */
  #live(key: K, now: number): boolean {
    if (!this.#values.has(key)) return false;
    const expiresAt = this.#expiresAt.get(key);
    if (expiresAt !== undefined && expiresAt <= now) {
      this.#forget(key);
      return false;
    }
    return true;
  }

  #forget(key: K): void {
    this.#values.delete(key);
    this.#expiresAt.delete(key);
    this.#versions.delete(key);
  }

  #write(
    key: K,
    value: V,
    ttlSeconds: number | undefined,
    version: number | undefined,
    mode: WriteMode,
    now: number,
  ): WriteResult<K> {
    if (mode !== 'overwrite' && this.#live(key, now)) {
      if (mode === 'ifAbsent') return { key, status: 'skipped', reason: 'already cached' };
      const cachedVersion = this.#versions.get(key);
      if (cachedVersion !== undefined && (version === undefined || version <= cachedVersion)) {
        return {
          key,
          status: 'skipped',
          reason: `cached version ${cachedVersion} is not older than ${version ?? 'an unversioned value'}`,
        };
      }
    }
    this.#values.set(key, value);
    const ttl = ttlSeconds ?? this.#defaultTtlSeconds;
    if (ttl > 0) this.#expiresAt.set(key, now + ttl * 1000);
    else if (this.#expiresAt.size > 0) this.#expiresAt.delete(key);
    if (version !== undefined) this.#versions.set(key, version);
    else if (this.#versions.size > 0) this.#versions.delete(key);
    return { key, status: 'written' };
  }
}
