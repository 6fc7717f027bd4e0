import { AccessTracker, type KeyAccess } from './AccessTracker';
import { CacheWarmersError, ConfigurationError, describeError } from './errors';

/** One access-queue message body, as `parseAccessEventBatch` in the adapters reads it. */
export interface AccessReport {
  v: 1;
  /** `<reporterId>/<sequence>`: unique per message, so a redelivery is counted once. */
  id: string;
  /** The latest access in the batch, epoch milliseconds. */
  at: number;
  counts: Record<string, number>;
}

export interface AccessReporterOptions {
  /** Delivers one batch, e.g. to the access SQS queue. A rejection keeps the batch's counts for the next flush. */
  send: (batch: AccessReport) => Promise<void>;
  /** Prefix of the batch ids; unique per process. Default a random UUID. */
  reporterId?: string;
  /** Flush once this many accesses were recorded since the last flush. Default 100,000. */
  flushEveryEvents?: number;
  /** Flush at least this often, in milliseconds. Default 60,000. */
  flushIntervalMs?: number;
  /** Keys counted in process at most (the `AccessTracker` summary size). Default 10,000. */
  maxKeys?: number;
  /** Keys counted fewer times in a flush window are not sent. Default 2. */
  minCount?: number;
  /** Each batch's JSON stays under this many bytes (SQS allows 256 KiB by default). Default 200,000. */
  maxBatchBytes?: number;
  /** Told about every failed send (and every failed background flush). Default: `console.warn`. */
  onError?: (error: unknown) => void;
}

const requireWholeNumber = (setting: string, value: number, minimum: number): number => {
  if (!Number.isInteger(value) || value < minimum) {
    throw new ConfigurationError(
      setting,
      `expected a whole number ≥ ${minimum}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
};

/** The fixed part of a batch's JSON besides its id, at and counts: `{"v":1,"id":"","at":,"counts":{}}`. */
const ENVELOPE_BYTES = 33;
const encoder = new TextEncoder();
const byteLength = (text: string): number => encoder.encode(text).length;

/**
 * Counts an application's cache reads in process and reports them to the access tracker in compact
 * batches: per key counts over a window, flushed every `flushEveryEvents` reads, every
 * `flushIntervalMs`, and on `flush()` / `close()`. Counting happens in a bounded `AccessTracker`
 * summary, so memory stays flat however many distinct keys are read.
 *
 * A flush sends only keys surely read at least `minCount` times in its window. That drop is deliberate: the
 * tracker exists to find hot keys, the cold tail is most distinct keys but no hot key, and leaving it
 * out keeps the tracker's DynamoDB writes a small share of the reads.
 *
 * @example
 * const reporter = new AccessReporter({ send: (batch) => queue.send(JSON.stringify(batch)) });
 * reporter.record('product:42');
 * await reporter.close(); // flushes what is left
 */
export class AccessReporter {
  readonly #send: (batch: AccessReport) => Promise<void>;
  readonly #reporterId: string;
  readonly #flushEveryEvents: number;
  readonly #minCount: number;
  readonly #maxBatchBytes: number;
  readonly #onError: (error: unknown) => void;
  readonly #tracker: AccessTracker<string>;
  readonly #timer: ReturnType<typeof setInterval>;
  #eventsSinceFlush = 0;
  #sequence = 0;
  #closed = false;
  /** Sends run one flush after another, so batches leave in sequence order. */
  #sending: Promise<void> = Promise.resolve();

  public constructor(options: AccessReporterOptions) {
    if (typeof options.send !== 'function') {
      throw new ConfigurationError('send', 'expected a function that delivers a batch');
    }
    const reporterId = options.reporterId ?? globalThis.crypto.randomUUID();
    if (typeof reporterId !== 'string' || reporterId.length === 0 || reporterId.length > 200) {
      throw new ConfigurationError(
        'reporterId',
        `expected 1 to 200 characters, got ${JSON.stringify(reporterId)}`,
      );
    }
    this.#send = options.send;
    this.#reporterId = reporterId;
    this.#flushEveryEvents = requireWholeNumber('flushEveryEvents', options.flushEveryEvents ?? 100_000, 1);
    const flushIntervalMs = requireWholeNumber('flushIntervalMs', options.flushIntervalMs ?? 60_000, 1);
    this.#minCount = requireWholeNumber('minCount', options.minCount ?? 2, 1);
    // Room for the envelope, a long id and one key of the longest length the access queue accepts.
    this.#maxBatchBytes = requireWholeNumber('maxBatchBytes', options.maxBatchBytes ?? 200_000, 8_192);
    this.#onError =
      options.onError ??
      ((error) =>
        console.warn(`AccessReporter: a batch was not sent, its counts are kept: ${describeError(error)}`));
    this.#tracker = new AccessTracker<string>({
      maxKeys: requireWholeNumber('maxKeys', options.maxKeys ?? 10_000, 1),
    });
    // Unref'd: a pending report never keeps a process alive; `close()` is how to send the last one.
    this.#timer = setInterval(() => void this.flush(), flushIntervalMs);
    this.#timer.unref?.();
  }

  /** Records `count` reads of `key`; flushes in the background once `flushEveryEvents` reads are in. */
  public record(key: string, count = 1): void {
    if (this.#closed) throw new CacheWarmersError('AccessReporter.record: the reporter is closed');
    if (typeof key !== 'string' || key.length === 0) {
      throw new CacheWarmersError(
        `AccessReporter.record: expected a non-empty string key, got ${JSON.stringify(key)}`,
      );
    }
    requireWholeNumber('count', count, 1);
    this.#tracker.recordAccess(key, count);
    this.#eventsSinceFlush += count;
    if (this.#eventsSinceFlush >= this.#flushEveryEvents) void this.flush();
  }

  /**
   * Sends the keys counted since the last flush (those read at least `minCount` times) and resolves
   * once they are sent. A failed batch is reported to `onError` and its counts wait for the next flush.
   */
  public flush(): Promise<void> {
    // Filtered on the guaranteed count: a key that took over an evicted counter inherited its count.
    const tracker = this.#tracker;
    const entries = tracker
      .getHotKeyStats(this.#minCount, tracker.size)
      .filter(({ key, count }) => count - tracker.getOverestimate(key) >= this.#minCount);
    this.#tracker.clear();
    this.#eventsSinceFlush = 0;
    const batches = this.#pack(entries);
    this.#sending = this.#sending.then(() => this.#sendAll(batches));
    return this.#sending;
  }

  /** Stops the interval and sends what is left. Recording afterwards is an error. */
  public async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.flush();
  }

  async #sendAll(batches: { report: AccessReport; entries: KeyAccess<string>[] }[]): Promise<void> {
    for (const { report, entries } of batches) {
      try {
        await this.#send(report);
      } catch (error) {
        for (const { key, count, lastAccess } of entries) this.#tracker.recordAccess(key, count, lastAccess);
        this.#onError(error);
      }
    }
  }

  /** Splits `entries` into batches whose JSON stays under `maxBatchBytes`. */
  #pack(entries: KeyAccess<string>[]): { report: AccessReport; entries: KeyAccess<string>[] }[] {
    const batches: { report: AccessReport; entries: KeyAccess<string>[] }[] = [];
    let current: KeyAccess<string>[] = [];
    // The id and at of the batch are not known yet: budget their longest form.
    const envelope = ENVELOPE_BYTES + byteLength(this.#reporterId) + 1 + 16 + 16;
    let bytes = envelope;
    const close = (): void => {
      if (current.length === 0) return;
      // No prototype, so a key named `__proto__` is a key like any other.
      const counts = Object.create(null) as Record<string, number>;
      let at = 0;
      for (const { key, count, lastAccess } of current) {
        counts[key] = count;
        if (lastAccess > at) at = lastAccess;
      }
      const id = `${this.#reporterId}/${String(++this.#sequence).padStart(6, '0')}`;
      batches.push({ report: { v: 1, id, at, counts }, entries: current });
      current = [];
      bytes = envelope;
    };
    for (const entry of entries) {
      // `"key":count,`
      const entryBytes = byteLength(JSON.stringify(entry.key)) + String(entry.count).length + 2;
      if (bytes + entryBytes > this.#maxBatchBytes) close();
      current.push(entry);
      bytes += entryBytes;
    }
    close();
    return batches;
  }
}
