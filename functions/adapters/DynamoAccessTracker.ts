import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  CacheWarmersError,
  ConfigurationError,
  describeError,
  type HotKeySource,
  type KeyAccess,
  type RetryOptions,
  retryWithBackoff,
} from '../core';
import type { AccessEventBatch } from './accessEvents';
import { isRetryableAwsError } from './awsErrors';
import {
  createTableInput,
  RECENT_BUCKET_SECONDS,
  shardOf,
  TRACKER_INDEX_SHARDS,
  TRACKER_TABLE,
  TTL_ATTRIBUTE,
} from './tables';

/** The attribute DynamoDB TTL expires tracker items by (epoch seconds); enable TTL on it. */
export const TRACKER_TTL_ATTRIBUTE = TTL_ATTRIBUTE;

const HOT_INDEX = 'hotByCount';
const RECENT_INDEX = 'recentByTime';
const DAY_SECONDS = 86_400;
/**
 * A message marker outlives SQS's longest retention (14 days), so no redelivery can outlive the
 * marker that recognises it.
 */
const MARKER_TTL_SECONDS = 14 * DAY_SECONDS;
/**
 * How far ahead of this function's clock a reporter's `at` may be. Later stamps are clamped to it:
 * recency only moves forward, so one stamp days ahead would otherwise hide the key from recent-key
 * queries until that day.
 */
export const MAX_REPORTER_CLOCK_SKEW_MS = 60_000;
const WRITE_RETRIES: Omit<RetryOptions, 'shouldRetry'> = {
  maxRetries: 6,
  baseDelayMs: 50,
  maxDelayMs: 3_000,
};

/**
 * The CreateTable request of the access tracker table (on-demand billing, the `hotByCount` and
 * `recentByTime` indexes). Switch TTL on for {@link TRACKER_TTL_ATTRIBUTE} separately.
 *
 * @example
 * await client.send(new CreateTableCommand(trackerTableDefinition('access-tracker')));
 */
export const trackerTableDefinition = (tableName: string): CreateTableCommandInput =>
  createTableInput(TRACKER_TABLE, tableName);

export interface DynamoAccessTrackerOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Shards of the indexes; writers and readers of one table must agree. Default 16 (`TRACKER_INDEX_SHARDS`). */
  shards?: number;
  /** Seconds a key stays after its last recorded access. Default 7 days. */
  ttlSeconds?: number;
  /** UpdateItem requests in flight at most. Default 16. */
  maxConcurrentWrites?: number;
  /** The clock, epoch milliseconds; tests move it. Default `Date.now`. */
  now?: () => number;
}

/** What one `recordBatches` call did. */
export interface RecordBatchesResult {
  /** Batches whose counts were applied. */
  applied: number;
  /** Batches skipped because their message id was applied before. */
  skippedDuplicates: number;
  /** Key updates written (one per distinct key of the applied batches). */
  writes: number;
}

/** A DynamoDB request of the tracker failed for a reason a retry does not fix (or retries ran out). */
export class AccessTrackingError extends CacheWarmersError {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AccessTrackingError';
  }
}

interface TrackedItem {
  key: string;
  count: number;
  lastAccess: number;
}

interface KeyTotal {
  count: number;
  at: number;
}

const isConditionalCheckFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** A failed condition is an answer, not a fault: retrying it can only fail the same way. */
const shouldRetry = (error: unknown): boolean =>
  !isConditionalCheckFailure(error) && isRetryableAwsError(error);

const requirePositiveInteger = (setting: string, value: number): number => {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigurationError(setting, `expected a whole number ≥ 1, got ${JSON.stringify(value)}`);
  }
  return value;
};

/**
 * The access tracker table: the track Lambda records access-queue batches into it, and the adaptive
 * key provider reads hot and recent keys from it, each read a few small index queries rather than a
 * Scan. See `TRACKER_TABLE` for the item and index design.
 *
 * @example
 * const tracker = new DynamoAccessTracker({ client: documentClient, tableName: 'access-tracker' });
 * await tracker.recordBatches([{ v: 1, id: 'web-1/000001', at: Date.now(), counts: { 'product:1': 3 } }]);
 * await tracker.getHotKeys(1, 100); // ['product:1']
 * await tracker.getHotKeyStats(1, 100); // [{ key: 'product:1', count: 3, lastAccess }]
 */
export class DynamoAccessTracker implements HotKeySource<string> {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #shards: number;
  readonly #ttlSeconds: number;
  readonly #maxConcurrentWrites: number;
  readonly #now: () => number;

  public constructor(options: DynamoAccessTrackerOptions) {
    if (typeof options.tableName !== 'string' || options.tableName.length === 0) {
      throw new ConfigurationError('tableName', 'expected the name of the access tracker table');
    }
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#shards = requirePositiveInteger('shards', options.shards ?? TRACKER_INDEX_SHARDS);
    this.#ttlSeconds = requirePositiveInteger('ttlSeconds', options.ttlSeconds ?? 7 * DAY_SECONDS);
    this.#maxConcurrentWrites = requirePositiveInteger(
      'maxConcurrentWrites',
      options.maxConcurrentWrites ?? 16,
    );
    this.#now = options.now ?? Date.now;
  }

  /**
   * Adds the counts of `batches` to the table: counts are summed per key across the batches and each
   * distinct key is written once. A batch whose id was applied before (a redelivery) is skipped.
   * A batch stamped more than {@link MAX_REPORTER_CLOCK_SKEW_MS} ahead of this clock counts as read now.
   *
   * Idempotency comes from a marker item per message id, put conditionally before the counts are
   * added, because UpdateItem ADD is not idempotent. A crash between the marker and the updates loses
   * that batch's counts instead of counting them twice on redelivery: for a hot-key heuristic a
   * missed window is harmless, inflated counts are not.
   *
   * @throws AccessTrackingError naming the key or message that could not be written.
   */
  public async recordBatches(batches: AccessEventBatch[]): Promise<RecordBatchesResult> {
    const unique = new Map<string, AccessEventBatch>();
    for (const batch of batches) if (!unique.has(batch.id)) unique.set(batch.id, batch);
    const claimed = await this.#runBounded([...unique.values()], (batch) => this.#claim(batch));
    const fresh = [...unique.values()].filter((_, index) => claimed[index]);

    const totals = new Map<string, KeyTotal>();
    const latest = this.#now() + MAX_REPORTER_CLOCK_SKEW_MS;
    for (const batch of fresh) {
      const at = Math.min(batch.at, latest);
      for (const [key, count] of Object.entries(batch.counts)) {
        const total = totals.get(key);
        if (total === undefined) totals.set(key, { count, at });
        else {
          total.count += count;
          if (at > total.at) total.at = at;
        }
      }
    }
    await this.#runBounded([...totals], ([key, total]) => this.#addCount(key, total));
    return { applied: fresh.length, skippedDuplicates: batches.length - fresh.length, writes: totals.size };
  }

  /** Keys counted at least `threshold` times, most counted first (as `AccessTracker.getHotKeys`). */
  public async getHotKeys(threshold = 5, limit = 100): Promise<string[]> {
    return (await this.getHotKeyStats(threshold, limit)).map(({ key }) => key);
  }

  /** `getHotKeys` with each key's count and last access: one query per index shard. */
  public async getHotKeyStats(threshold = 5, limit = 100): Promise<KeyAccess<string>[]> {
    requirePositiveInteger('limit', limit);
    // DynamoDB numbers stop at 1e126: a larger threshold would fail the query instead of matching nothing.
    if (!(threshold >= 0 && threshold <= Number.MAX_SAFE_INTEGER)) {
      throw new ConfigurationError(
        'threshold',
        `expected a read count from 0 to 2^53 − 1, got ${JSON.stringify(threshold)}`,
      );
    }
    const perShard = await Promise.all(
      this.#shardNumbers().map((shard) =>
        this.#query(
          {
            IndexName: HOT_INDEX,
            KeyConditionExpression: '#hotShard = :shard AND #count >= :threshold',
            ExpressionAttributeNames: { '#hotShard': 'hotShard', '#count': 'count' },
            ExpressionAttributeValues: { ':shard': `hot#${shard}`, ':threshold': threshold },
            ScanIndexForward: false,
          },
          limit,
        ),
      ),
    );
    return perShard
      .flat()
      .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1))
      .slice(0, limit);
  }

  /** Keys accessed within the last `seconds`, most recent first (as `AccessTracker.getRecentKeys`). */
  public async getRecentKeys(seconds = 300, limit = 100): Promise<string[]> {
    return (await this.getRecentKeyStats(seconds, limit)).map(({ key }) => key);
  }

  /**
   * `getRecentKeys` with each key's count and last access: the time buckets covering the window are
   * queried newest first, all shards of a bucket in parallel, until `limit` keys are found.
   */
  public async getRecentKeyStats(seconds = 300, limit = 100): Promise<KeyAccess<string>[]> {
    requirePositiveInteger('limit', limit);
    if (!(Number.isFinite(seconds) && seconds > 0)) {
      throw new ConfigurationError('seconds', `expected a number > 0, got ${JSON.stringify(seconds)}`);
    }
    const now = this.#now();
    const since = now - seconds * 1000;
    const found: TrackedItem[] = [];
    for (let bucket = bucketOf(now); bucket >= bucketOf(since) && found.length < limit; bucket--) {
      const perShard = await Promise.all(
        this.#shardNumbers().map((shard) =>
          this.#query(
            {
              IndexName: RECENT_INDEX,
              KeyConditionExpression: '#recentBucket = :bucket AND #lastAccess >= :since',
              ExpressionAttributeNames: { '#recentBucket': 'recentBucket', '#lastAccess': 'lastAccess' },
              ExpressionAttributeValues: { ':bucket': recentBucketName(bucket, shard), ':since': since },
              ScanIndexForward: false,
            },
            limit,
          ),
        ),
      );
      found.push(...perShard.flat());
    }
    return found.sort((a, b) => b.lastAccess - a.lastAccess).slice(0, limit);
  }

  #shardNumbers(): number[] {
    return Array.from({ length: this.#shards }, (_, shard) => shard);
  }

  /** Puts the batch's marker; false when the marker exists, i.e. the batch was applied before. */
  async #claim(batch: AccessEventBatch): Promise<boolean> {
    try {
      await this.#write(`message ${batch.id}`, () =>
        this.#client.send(
          new PutCommand({
            TableName: this.#tableName,
            Item: { pk: `batch#${batch.id}`, [TTL_ATTRIBUTE]: this.#epochSeconds() + MARKER_TTL_SECONDS },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof AccessTrackingError && isConditionalCheckFailure(error.cause)) return false;
      throw error;
    }
  }

  /**
   * Adds `total` to the key's count. lastAccess, and the recent bucket with it, only move forward: a
   * late batch carrying older accesses adds its count without rewinding the key's recency.
   */
  async #addCount(key: string, total: KeyTotal): Promise<void> {
    const shard = shardOf(key, this.#shards);
    const names = { '#count': 'count', '#key': 'key', '#hotShard': 'hotShard', '#expiresAt': TTL_ATTRIBUTE };
    const values = {
      ':n': total.count,
      ':key': key,
      ':hotShard': `hot#${shard}`,
      ':ttl': this.#epochSeconds() + this.#ttlSeconds,
    };
    const common = {
      TableName: this.#tableName,
      Key: { pk: `key#${key}` },
    };
    try {
      await this.#write(`key ${JSON.stringify(key)}`, () =>
        this.#client.send(
          new UpdateCommand({
            ...common,
            UpdateExpression:
              'ADD #count :n SET #key = :key, #hotShard = :hotShard, #expiresAt = :ttl, #lastAccess = :at, #recentBucket = :recentBucket',
            ConditionExpression: 'attribute_not_exists(#lastAccess) OR #lastAccess <= :at',
            ExpressionAttributeNames: {
              ...names,
              '#lastAccess': 'lastAccess',
              '#recentBucket': 'recentBucket',
            },
            ExpressionAttributeValues: {
              ...values,
              ':at': total.at,
              ':recentBucket': recentBucketName(bucketOf(total.at), shard),
            },
          }),
        ),
      );
    } catch (error) {
      if (!(error instanceof AccessTrackingError && isConditionalCheckFailure(error.cause))) throw error;
      await this.#write(`key ${JSON.stringify(key)}`, () =>
        this.#client.send(
          new UpdateCommand({
            ...common,
            UpdateExpression: 'ADD #count :n SET #key = :key, #hotShard = :hotShard, #expiresAt = :ttl',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        ),
      );
    }
  }

  /** One write with retries on throttling and server faults; any failure names what was written. */
  async #write(what: string, send: () => Promise<unknown>): Promise<void> {
    try {
      await retryWithBackoff(send, { ...WRITE_RETRIES, shouldRetry });
    } catch (error) {
      throw new AccessTrackingError(
        `could not record access counts of ${what} in table ${this.#tableName}: ${describeError(error)}`,
        { cause: error },
      );
    }
  }

  /** Reads up to `limit` unexpired items of one index partition, following pages as the filter thins them. */
  async #query(input: Omit<QueryCommandInput, 'TableName'>, limit: number): Promise<TrackedItem[]> {
    const items: TrackedItem[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await retryWithBackoff(
        () =>
          this.#client.send(
            new QueryCommand({
              ...input,
              TableName: this.#tableName,
              // DynamoDB TTL deletes lazily, up to days late: an expired item is gone to readers.
              FilterExpression: '#expiresAt > :nowSeconds',
              ExpressionAttributeNames: { ...input.ExpressionAttributeNames, '#expiresAt': TTL_ATTRIBUTE },
              ExpressionAttributeValues: {
                ...input.ExpressionAttributeValues,
                ':nowSeconds': this.#epochSeconds(),
              },
              Limit: limit - items.length,
              ExclusiveStartKey: startKey,
            }),
          ),
        { ...WRITE_RETRIES, shouldRetry: isRetryableAwsError },
      ).catch((error: unknown) => {
        throw new AccessTrackingError(
          `could not read index ${input.IndexName} of table ${this.#tableName}: ${describeError(error)}`,
          { cause: error },
        );
      });
      for (const item of page.Items ?? []) {
        items.push({ key: String(item.key), count: Number(item.count), lastAccess: Number(item.lastAccess) });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined && items.length < limit);
    return items;
  }

  async #runBounded<T, R>(items: T[], work: (item: T) => Promise<R>): Promise<R[]> {
    const results: R[] = new Array(items.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#maxConcurrentWrites, items.length) }, worker));
    return results;
  }

  #epochSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }
}

const bucketOf = (epochMs: number): number => Math.floor(epochMs / (RECENT_BUCKET_SECONDS * 1000));

const recentBucketName = (bucket: number, shard: number): string => `recent#${bucket}#${shard}`;
