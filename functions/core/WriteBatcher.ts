import type { CacheEntry, WriteResult } from './types';

interface PendingWrite<K, V> {
  entries: readonly CacheEntry<K, V>[];
  resolve: (results: WriteResult<K>[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers the entries that concurrent loads finish in the same turn of the event loop into one
 * `setMany` call of about `maxBatch` entries, so a per-key loader still writes in pipelined batches.
 * A write that is a full batch by itself goes out at once.
 */
export class WriteBatcher<K, V> {
  readonly #writeMany: (entries: readonly CacheEntry<K, V>[]) => Promise<WriteResult<K>[]>;
  readonly #maxBatch: number;
  #pending: PendingWrite<K, V>[] = [];
  #pendingEntries = 0;
  #flushScheduled = false;

  public constructor(
    writeMany: (entries: readonly CacheEntry<K, V>[]) => Promise<WriteResult<K>[]>,
    maxBatch: number,
  ) {
    this.#writeMany = writeMany;
    this.#maxBatch = maxBatch;
  }

  /** Writes `entries` with whatever else is pending; resolves with their results, in order. */
  public write(entries: readonly CacheEntry<K, V>[]): Promise<WriteResult<K>[]> {
    if (entries.length >= this.#maxBatch) return this.#writeMany(entries);
    return new Promise((resolve, reject) => {
      this.#pending.push({ entries, resolve, reject });
      this.#pendingEntries += entries.length;
      if (this.#pendingEntries >= this.#maxBatch) this.#flush();
      else if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const writes = this.#pending;
    this.#pending = [];
    this.#pendingEntries = 0;
    if (writes.length === 0) return;
    const entries = writes.flatMap((write) => write.entries);
    this.#writeMany(entries).then(
      (results) => {
        let offset = 0;
        for (const write of writes) {
          write.resolve(results.slice(offset, offset + write.entries.length));
          offset += write.entries.length;
        }
      },
      (error: unknown) => {
        for (const write of writes) write.reject(error);
      },
    );
  }
}
