import { setMaxListeners } from 'node:events';
import { withTimeout } from './abortable';
import { CacheWarmersError, CancelledError, describeError, TimeoutError } from './errors';
import { collectWeightedKeys, findKeysDueForRefresh, KeyQueue } from './planKeys';
import { type RetryOptions, retryWithBackoff } from './retryWithBackoff';
import type {
  CacheEntry,
  CacheStore,
  KeyCandidate,
  KeySource,
  ValueLoader,
  WarmingProgress,
  WarmingStats,
  WriteResult,
} from './types';
import type { WarmingConfig } from './WarmingConfig';
import { WriteBatcher } from './WriteBatcher';

export interface WarmRunOptions {
  /** Aborting it cancels the run, as `cancel()` does. */
  signal?: AbortSignal;
  /** Called each time a load finishes, with the figures so far. */
  onProgress?: (progress: WarmingProgress) => void;
  /** TTL-aware refresh: warm only keys that are missing or inside their refresh window. */
  onlyDueForRefresh?: boolean;
}

/** How values are written, fixed per warmer. */
export interface WriteSettings<V> {
  /**
   * The version a value carries. When given, writes use `ifNewer`: a value never replaces a newer
   * version already cached (a redelivered or late load cannot roll the cache back).
   */
  versionOf?: (value: V) => number | undefined;
}

/** Keys read from a synchronous source between two chances for the workers to start loads. */
const READ_CHUNK = 1_000;

/**
 * One warm run: reads the keys, loads them with at most `maxWorkers` loads in flight, writes them, and
 * accounts for every key exactly once as warmed, failed or skipped. `CacheWarmer` creates these.
 *
 * Loading starts while the provider is still being read: the keys read and not yet started wait in
 * a `KeyQueue`, which hands out the highest weight first and each key once. Only a run that needs
 * every key before it can choose (`maxKeysPerRun`, or a TTL-aware refresh) plans the whole run first.
 */
export class WarmRun<K, V> {
  readonly #store: CacheStore<K, V>;
  readonly #loader: ValueLoader<K, V>;
  readonly #config: WarmingConfig;
  readonly #options: WarmRunOptions;
  readonly #versionOf: ((value: V) => number | undefined) | undefined;
  readonly #startedAt = Date.now();
  readonly #cancel = new AbortController();
  /** Aborts at `warmupTimeoutSeconds`: loads in flight stop, and the run ends. */
  readonly #deadline = new AbortController();
  /**
   * Aborts when the store fails a write after that write's retries (it threw, rather than refusing
   * entries): the store is down, so the run loads nothing more it could not write, and ends.
   */
  readonly #storeFailed = new AbortController();
  /** Aborts with the provider's error when the keys cannot be read: nothing new starts, and the run rejects. */
  readonly #planFailed = new AbortController();
  /** Aborts on the first of cancel, deadline, store failure or plan failure (its reason): nothing new starts, no load retry waits. */
  readonly #stop = AbortSignal.any([
    this.#cancel.signal,
    this.#deadline.signal,
    this.#storeFailed.signal,
    this.#planFailed.signal,
  ]);
  /** Aborts on deadline or store failure: loads in flight are given up, and write retries wait no more. */
  readonly #giveUp = AbortSignal.any([this.#deadline.signal, this.#storeFailed.signal]);
  readonly #writer: WriteBatcher<K, V>;
  /** Keys warmed, failed or skipped; a key is settled once. */
  readonly #settled = new Set<K>();
  /** Keys read and not yet started. */
  readonly #queue = new KeyQueue<K>();
  #readingDone = false;
  /** Resolves the workers waiting for keys; settled and dropped each time keys arrive. */
  #keysArrived: { promise: Promise<void>; resolve: () => void } | undefined;
  readonly #unitsInFlight = new Set<K[]>();
  #keysPlanned = 0;
  readonly #failures = new Map<K, string>();
  readonly #skipped = new Map<K, string>();
  #keysWarmed = 0;
  #keysInFlight = 0;
  #finished = false;

  public constructor(
    store: CacheStore<K, V>,
    loader: ValueLoader<K, V>,
    config: WarmingConfig,
    options: WarmRunOptions,
    writeSettings: WriteSettings<V> = {},
  ) {
    this.#store = store;
    this.#versionOf = writeSettings.versionOf;
    this.#loader = loader;
    this.#config = config;
    this.#options = options;
    this.#writer = new WriteBatcher((entries) => this.#writeWithRetries(entries), config.batchSize);
    // Every load and write in flight listens to these; maxWorkers may well exceed Node's default of 10.
    setMaxListeners(0, this.#deadline.signal, this.#stop, this.#giveUp);
    this.#stop.addEventListener('abort', () => this.#wakeWorkers(), { once: true });
    if (options.signal?.aborted) this.cancel();
    options.signal?.addEventListener('abort', () => this.cancel(), { once: true });
  }

  /** Stops starting loads; loads in flight finish and are written; the rest is skipped. */
  public cancel(): void {
    this.#cancel.abort(new CancelledError('the run was cancelled'));
  }

  public progress(): WarmingProgress {
    const keysDone = this.#keysWarmed + this.#failures.size + this.#skipped.size;
    const elapsedMs = Date.now() - this.#startedAt;
    const keysPerSecond = elapsedMs > 0 ? (keysDone * 1000) / elapsedMs : 0;
    const keysLeft = this.#keysPlanned - keysDone;
    return {
      keysPlanned: this.#keysPlanned,
      keysWarmed: this.#keysWarmed,
      keysFailed: this.#failures.size,
      keysSkipped: this.#skipped.size,
      inFlight: this.#keysInFlight,
      elapsedMs,
      keysPerSecond,
      etaMs: keysPerSecond > 0 ? (keysLeft * 1000) / keysPerSecond : undefined,
    };
  }

  /** Reads the keys from `source` and warms them as they arrive; resolves once every key is accounted for. */
  public async run(source: () => Promise<KeySource<KeyCandidate<K>>>): Promise<WarmingStats<K>> {
    const timer = setTimeout(() => {
      this.#deadline.abort(
        new TimeoutError(`the run reached warmupTimeoutSeconds (${this.#config.warmupTimeoutSeconds} s)`),
      );
    }, this.#config.warmupTimeoutSeconds * 1000);
    const deadlineReached = new Promise<void>((resolve) => {
      this.#deadline.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    try {
      void this.#read(source);
      await Promise.race([this.#loadAll(), deadlineReached]);
      if (this.#planFailed.signal.aborted) throw this.#planFailed.signal.reason;
      return this.#finish();
    } finally {
      clearTimeout(timer);
    }
  }

  /** Feeds the queue from `source`; a provider error stops the run (`#planFailed`). */
  async #read(source: () => Promise<KeySource<KeyCandidate<K>>>): Promise<void> {
    try {
      const keys = await source();
      const ttlAware = this.#options.onlyDueForRefresh && this.#config.ttlSeconds > 0;
      if (this.#config.maxKeysPerRun > 0 || ttlAware) await this.#planWhole(keys);
      else await this.#stream(keys);
    } catch (error) {
      this.#planFailed.abort(error);
    } finally {
      this.#readingDone = true;
      this.#wakeWorkers();
    }
  }

  async #stream(keys: KeySource<KeyCandidate<K>>): Promise<void> {
    if (Symbol.iterator in keys) {
      // Read synchronously in chunks (`for await` would cost a promise per key), letting loads start between them.
      let sinceYield = 0;
      for (const candidate of keys) {
        this.#admit(candidate);
        if (++sinceYield < READ_CHUNK) continue;
        sinceYield = 0;
        this.#wakeWorkers();
        await new Promise((resolve) => setImmediate(resolve));
        if (this.#stop.aborted) return;
      }
      return;
    }
    for await (const candidate of keys) {
      this.#admit(candidate);
      this.#wakeWorkers();
      if (this.#stop.aborted) return;
    }
  }

  #admit(candidate: KeyCandidate<K>): void {
    if (!this.#finished && this.#queue.add(candidate) !== undefined) this.#keysPlanned++;
  }

  /** Plans the whole run before the first load: the top `maxKeysPerRun` by weight, then the keys due for refresh. */
  async #planWhole(source: KeySource<KeyCandidate<K>>): Promise<void> {
    const weighted = await collectWeightedKeys(source);
    this.#keysPlanned = weighted.length;
    const limit = this.#config.maxKeysPerRun;
    let keys = weighted.map(({ key }) => key);
    if (limit > 0 && keys.length > limit) {
      for (const key of keys.slice(limit)) this.#skip(key, `beyond maxKeysPerRun (${limit}) by weight`);
      keys = keys.slice(0, limit);
    }
    if (this.#options.onlyDueForRefresh) keys = await this.#keepKeysDueForRefresh(keys);
    // Already in order: the queue keeps it, since every key is added before a worker takes one.
    for (const key of keys) this.#queue.add(key);
  }

  async #keepKeysDueForRefresh(keys: K[]): Promise<K[]> {
    const { ttlSeconds, refreshAheadRatio } = this.#config;
    if (ttlSeconds <= 0) return keys;
    const { due, fresh } = await findKeysDueForRefresh(this.#store, keys, ttlSeconds, refreshAheadRatio);
    for (const [key, remainingMs] of fresh)
      this.#skip(key, `fresh: ${Math.round(remainingMs / 1000)} s of its TTL left`);
    return due;
  }

  #wakeWorkers(): void {
    const arrived = this.#keysArrived;
    this.#keysArrived = undefined;
    arrived?.resolve();
  }

  #nextArrival(): Promise<void> {
    if (!this.#keysArrived) {
      let resolve = (): void => undefined;
      const promise = new Promise<void>((settle) => {
        resolve = settle;
      });
      this.#keysArrived = { promise, resolve };
    }
    return this.#keysArrived.promise;
  }

  /** The next unit to load (one key, or a batch): empty while too few keys have arrived. */
  #takeUnit(): K[] {
    const size = this.#loader.kind === 'batch' ? this.#config.batchSize : 1;
    if (this.#queue.size < size && !this.#readingDone) return [];
    return this.#queue.take(size);
  }

  /**
   * Runs `maxWorkers` workers. A worker starts its next load as soon as its load finishes, while that
   * unit's write goes on: waiting for the write would idle the worker for a turn of the event loop
   * per unit. It waits for that write before the next one, so at most one write per worker is pending.
   */
  async #loadAll(): Promise<void> {
    const work = async (): Promise<void> => {
      let writing: Promise<void> | undefined;
      while (!this.#stop.aborted) {
        const unit = this.#takeUnit();
        if (unit.length > 0) {
          const { written } = await this.#loadUnit(unit);
          await writing;
          writing = written;
        } else if (this.#readingDone) break;
        else await this.#nextArrival();
      }
      await writing;
    };
    await Promise.all(Array.from({ length: this.#config.maxWorkers }, work));
  }

  /** Loads one unit; resolves once loaded, with the unit's write (and its accounting) still going on. */
  async #loadUnit(keys: K[]): Promise<{ written: Promise<void> }> {
    this.#unitsInFlight.add(keys);
    this.#keysInFlight += keys.length;
    const values = await this.#loadWithRetries(keys).catch((error: unknown) => {
      for (const key of keys) this.#fail(key, describeError(error));
      return undefined;
    });
    return { written: this.#writeUnit(keys, values) };
  }

  async #writeUnit(keys: K[], values: Map<K, V> | undefined): Promise<void> {
    try {
      if (!values) return;
      const entries: CacheEntry<K, V>[] = [];
      for (const key of keys) {
        const value = values.get(key);
        if (value === undefined) this.#skip(key, 'the loader returned no value');
        else entries.push({ key, value, version: this.#versionOf?.(value) });
      }
      if (entries.length === 0) return;
      const results = await this.#writer.write(entries).catch((error: unknown) => {
        const reason =
          error === this.#storeFailed.signal.reason
            ? describeError(error)
            : `write failed: ${describeError(error)}`;
        for (const { key } of entries) this.#fail(key, reason);
        if (!this.#giveUp.aborted) {
          this.#storeFailed.abort(
            new CacheWarmersError(`not written: the cache store failed a write (${describeError(error)})`),
          );
        }
        return [];
      });
      for (const result of results) this.#record(result);
    } finally {
      this.#unitsInFlight.delete(keys);
      this.#keysInFlight -= keys.length;
      this.#options.onProgress?.(this.progress());
    }
  }

  #loadWithRetries(keys: K[]): Promise<Map<K, V>> {
    const loader = this.#loader;
    const describe =
      keys.length === 1 ? `loading ${String(keys[0])}` : `loading a batch of ${keys.length} keys`;
    return retryWithBackoff(
      () =>
        withTimeout(
          async (signal) => {
            if (loader.kind === 'batch') return loader.loadMany(keys, signal);
            const key = keys[0] as K;
            const value = await loader.loadOne(key, signal);
            return new Map(value === undefined ? [] : [[key, value]]);
          },
          this.#config.attemptTimeoutSeconds * 1000,
          describe,
          this.#giveUp,
        ),
      this.#backoff(this.#stop),
    );
  }

  /**
   * Write retries go on after a cancel, so loaded values are not thrown away; the deadline stops them,
   * and so does a store failure, after which a write is not even tried.
   */
  #writeWithRetries(entries: readonly CacheEntry<K, V>[]): Promise<WriteResult<K>[]> {
    if (this.#storeFailed.signal.aborted) return Promise.reject(this.#storeFailed.signal.reason);
    const ttlSeconds = this.#config.ttlSeconds > 0 ? this.#config.ttlSeconds : undefined;
    const mode = this.#versionOf ? 'ifNewer' : 'overwrite';
    return retryWithBackoff(
      () =>
        withTimeout(
          () => this.#store.setMany(entries, { ttlSeconds, mode }),
          this.#config.attemptTimeoutSeconds * 1000,
          `writing ${entries.length} entries`,
          this.#deadline.signal,
        ),
      this.#backoff(this.#giveUp),
    );
  }

  #backoff(signal: AbortSignal): RetryOptions {
    const { retryOnFailure, maxRetries, retryBaseDelayMs, retryMaxDelayMs } = this.#config;
    return {
      maxRetries: retryOnFailure ? maxRetries : 0,
      baseDelayMs: retryBaseDelayMs,
      maxDelayMs: retryMaxDelayMs,
      signal,
    };
  }

  #record(result: WriteResult<K>): void {
    if (result.status === 'written') {
      if (this.#settle(result.key)) this.#keysWarmed++;
    } else if (result.status === 'skipped') this.#skip(result.key, result.reason);
    else this.#fail(result.key, result.reason);
  }

  #fail(key: K, reason: string): void {
    if (this.#settle(key)) this.#failures.set(key, reason);
  }

  #skip(key: K, reason: string): void {
    if (this.#settle(key)) this.#skipped.set(key, reason);
  }

  /** Marks a key settled; false when it already was, or the run has already reported. */
  #settle(key: K): boolean {
    if (this.#finished || this.#settled.has(key)) return false;
    this.#settled.add(key);
    return true;
  }

  #finish(): WarmingStats<K> {
    const timedOut = this.#deadline.signal.aborted;
    const cancelled = this.#cancel.signal.aborted && !timedOut;
    const timeout = `warmupTimeoutSeconds (${this.#config.warmupTimeoutSeconds} s)`;
    for (const unit of this.#unitsInFlight) {
      for (const key of unit) this.#fail(key, `not finished before the run reached ${timeout}`);
    }
    const reason = cancelled ? 'the run was cancelled before it was loaded' : `not reached before ${timeout}`;
    // Keys never loaded fail when the store's failure is what stopped the run: they were not written.
    const storeFailed =
      this.#storeFailed.signal.aborted && this.#stop.reason === this.#storeFailed.signal.reason;
    const storeFailure = storeFailed ? describeError(this.#stop.reason) : undefined;
    for (const key of this.#queue.take(this.#queue.size)) {
      if (storeFailure) this.#fail(key, storeFailure);
      else this.#skip(key, reason);
    }
    this.#finished = true;
    const attempted = this.#keysWarmed + this.#failures.size;
    return {
      keysWarmed: this.#keysWarmed,
      keysFailed: this.#failures.size,
      keysSkipped: this.#skipped.size,
      successRate: attempted === 0 ? 1 : this.#keysWarmed / attempted,
      durationMs: Date.now() - this.#startedAt,
      failures: this.#failures,
      skipped: this.#skipped,
      cancelled,
    };
  }
}
