import { WarmingStrategy } from './constants';
import { describeError } from './errors';
import { MemoryStore } from './MemoryStore';
import type {
  CacheStore,
  KeyCandidate,
  KeyProvider,
  ValueLoader,
  WarmingProgress,
  WarmingStats,
} from './types';
import { resolveWarmingConfig, type WarmingConfig } from './WarmingConfig';
import { WarmRun, type WarmRunOptions, type WriteSettings } from './WarmRun';

/** A run started by `warmAsync`. */
export interface WarmingRun<K> {
  /** Resolves once every key is warmed, failed or skipped; rejects only when the keys cannot be planned. */
  result: Promise<WarmingStats<K>>;
  progress(): WarmingProgress;
  /** Starts no more loads; loads in flight finish; resolves `result` with `cancelled: true`. */
  cancel(): void;
}

/** What the scheduler has done since it started. */
export interface SchedulerStatus<K> {
  running: boolean;
  /** Scheduled runs that finished. */
  runs: number;
  /** Ticks that found a run still in flight and did nothing. */
  skippedTicks: number;
  lastStats?: WarmingStats<K>;
  /** Why the last scheduled run could not be planned, if it could not. */
  lastError?: string;
}

/**
 * Loads values for many keys concurrently, with bounded retries, and writes them into a cache.
 *
 * @example
 * const warmer = new CacheWarmer(
 *   new Map<string, Product>(),
 *   new StaticKeyProvider(['product:1', 'product:2']),
 *   new CallableValueLoader((key: string) => catalog.find(key)),
 *   { maxWorkers: 16 },
 * );
 * const stats = await warmer.warm();
 * console.log(`${stats.keysWarmed} warmed, ${stats.keysFailed} failed`);
 */
export class CacheWarmer<K, V> {
  public readonly config: WarmingConfig;
  public readonly cache: CacheStore<K, V>;
  readonly #keyProvider: KeyProvider<K>;
  readonly #valueLoader: ValueLoader<K, V>;
  readonly #writeSettings: WriteSettings<V>;
  #timer: NodeJS.Timeout | undefined;
  #scheduledRun: WarmingRun<K> | undefined;
  #schedulerStatus: SchedulerStatus<K> = { running: false, runs: 0, skippedTicks: 0 };

  /**
   * @param cache where values are written: any `CacheStore`, or a plain `Map` (wrapped in a `MemoryStore`).
   * @param config overrides of `defaultWarmingConfig()`.
   * @param writeSettings `versionOf` makes writes version-aware (`ifNewer`).
   * @throws ConfigurationError naming the option that is wrong.
   */
  public constructor(
    cache: CacheStore<K, V> | Map<K, V>,
    keyProvider: KeyProvider<K>,
    valueLoader: ValueLoader<K, V>,
    config: Partial<WarmingConfig> = {},
    writeSettings: WriteSettings<V> = {},
  ) {
    this.config = resolveWarmingConfig(config);
    this.cache = cache instanceof Map ? new MemoryStore({ values: cache }) : cache;
    this.#keyProvider = keyProvider;
    this.#valueLoader = valueLoader;
    this.#writeSettings = writeSettings;
  }

  /** Warms `keys`, or the provider's keys when none are given. */
  public warm(keys?: Iterable<KeyCandidate<K>>): Promise<WarmingStats<K>> {
    return this.warmAsync(keys).result;
  }

  /** Starts a warm and returns at once with a handle to follow or cancel it. */
  public warmAsync(keys?: Iterable<KeyCandidate<K>>, options: WarmRunOptions = {}): WarmingRun<K> {
    const run = new WarmRun(this.cache, this.#valueLoader, this.config, options, this.#writeSettings);
    const source = keys ? async () => keys : () => this.#keyProvider.getKeys();
    return { result: run.run(source), progress: () => run.progress(), cancel: () => run.cancel() };
  }

  /** Warms one key; true when a value was written. */
  public async warmKey(key: K): Promise<boolean> {
    const stats = await this.warm([key]);
    return stats.keysWarmed === 1;
  }

  /**
   * Warms every `refreshIntervalSeconds` (SCHEDULED, ADAPTIVE), or at once and then on that interval
   * (EAGER); LAZY schedules nothing. Scheduled runs are TTL-aware when `ttlSeconds` is set. A tick that
   * finds the previous run still going is skipped and counted.
   */
  public startScheduler(): void {
    if (this.#timer || this.config.strategy === WarmingStrategy.LAZY) return;
    this.#schedulerStatus.running = true;
    if (this.config.strategy === WarmingStrategy.EAGER) this.#tick(false);
    this.#timer = setInterval(() => this.#tick(true), this.config.refreshIntervalSeconds * 1000);
  }

  /** Stops the schedule and cancels the run in flight; resolves once that run has stopped. */
  public async stopScheduler(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#schedulerStatus.running = false;
    const run = this.#scheduledRun;
    if (!run) return;
    run.cancel();
    await run.result.catch(() => undefined);
  }

  public schedulerStatus(): SchedulerStatus<K> {
    return { ...this.#schedulerStatus };
  }

  #tick(onlyDueForRefresh: boolean): void {
    if (this.#scheduledRun) {
      this.#schedulerStatus.skippedTicks++;
      return;
    }
    const run = this.warmAsync(undefined, { onlyDueForRefresh });
    this.#scheduledRun = run;
    run.result
      .then(
        (stats) => {
          this.#schedulerStatus.runs++;
          this.#schedulerStatus.lastStats = stats;
          this.#schedulerStatus.lastError = undefined;
        },
        (error: unknown) => {
          this.#schedulerStatus.lastError = describeError(error);
        },
      )
      .finally(() => {
        this.#scheduledRun = undefined;
      });
  }
}
