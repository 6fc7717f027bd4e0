import { createHash } from 'node:crypto';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type BackoffOptions, retryWithBackoff } from '../core';
import { isRetryableAwsError } from './awsErrors';
import type { MessageProgress, RunRecord, RunStore } from './RunStore';
import { createTableInput, RUNS_TABLE } from './tables';

const RUNS_INDEX = RUNS_TABLE.globalSecondaryIndexes[0]?.indexName;
/** Every run item carries this in its index partition: runs are few (one per interval), so one partition suffices. */
const RUNS_PARTITION = 'runs';
/**
 * Messages counted per progress shard. DynamoDB bills an update by the item's size, so shard items
 * stay around 10 KB; a run gets as many shards as that needs.
 */
const MESSAGES_PER_SHARD = 1_000;
const RETENTION_SECONDS = 30 * 24 * 3600;

/** The runs table as the run store expects it (see `RUNS_TABLE` in tables.ts). */
export const runsTableDefinition = (tableName: string): CreateTableCommandInput =>
  createTableInput(RUNS_TABLE, tableName);

const runKey = (runId: string) => ({ pk: `run#${runId}`, sk: 'run' });
const LOCK_KEY = { pk: 'lock', sk: 'lock' };
const isConditionFailure = (error: unknown) =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';
const epochSeconds = (ms = Date.now()) => Math.floor(ms / 1000);

interface RunItem {
  runId: string;
  trigger: RunRecord['trigger'];
  strategy: string;
  keysPlanned: number;
  messages: number;
  status: RunRecord['status'];
  startedAt: string;
  endedAt?: string;
  shards: number;
}

interface ShardItem {
  keysWarmed?: number;
  keysFailed?: number;
  keysSkipped?: number;
}

const DEFAULT_RETRY: BackoffOptions = { maxRetries: 5, baseDelayMs: 50, maxDelayMs: 2_000 };

/**
 * Run records in DynamoDB. Progress is exactly-once without transactions: a message's counts go to
 * one of the run's shard items in a single UpdateItem that also records the message id in that item
 * and is conditional on it not being there yet, so a redelivered message changes nothing. A run's
 * figures are the run item plus its shards, read in one Query.
 *
 * @example
 * const runs = new DynamoRunStore({ client: DynamoDBDocumentClient.from(new DynamoDBClient({})), tableName });
 * await runs.recordProgress(runId, messageId, { warmed: 98, failed: 0, skipped: 2 });
 */
export class DynamoRunStore implements RunStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #retry: BackoffOptions;

  public constructor(options: { client: DynamoDBDocumentClient; tableName: string; retry?: BackoffOptions }) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#retry = options.retry ?? DEFAULT_RETRY;
  }

  public async createRun(
    run: Pick<RunRecord, 'runId' | 'trigger' | 'strategy' | 'keysPlanned' | 'messages'>,
  ) {
    const item: RunItem = {
      ...run,
      status: 'running',
      startedAt: new Date().toISOString(),
      shards: Math.max(1, Math.ceil(run.messages / MESSAGES_PER_SHARD)),
    };
    await this.#retrying(() =>
      this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: { ...runKey(run.runId), ...item, listPartition: RUNS_PARTITION },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    return this.#toRecord(item, []);
  }

  public async getRun(runId: string): Promise<RunRecord | undefined> {
    const response = await this.#retrying(() =>
      this.#client.send(
        new QueryCommand({
          TableName: this.#tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `run#${runId}` },
          ProjectionExpression:
            'sk, runId, #trigger, strategy, keysPlanned, messages, #status, startedAt, endedAt, shards, keysWarmed, keysFailed, keysSkipped',
          ExpressionAttributeNames: { '#trigger': 'trigger', '#status': 'status' },
          ConsistentRead: true,
        }),
      ),
    );
    const items = response.Items ?? [];
    const run = items.find((item) => item.sk === 'run') as RunItem | undefined;
    return run && this.#toRecord(run, items.filter((item) => item.sk !== 'run') as ShardItem[]);
  }

  public async listRuns(limit: number): Promise<RunRecord[]> {
    const response = await this.#retrying(() =>
      this.#client.send(
        new QueryCommand({
          TableName: this.#tableName,
          IndexName: RUNS_INDEX,
          KeyConditionExpression: 'listPartition = :runs',
          ExpressionAttributeValues: { ':runs': RUNS_PARTITION },
          ScanIndexForward: false,
          Limit: limit,
        }),
      ),
    );
    const runs = await Promise.all(
      (response.Items ?? []).map((item) => this.getRun(String(item.pk).slice('run#'.length))),
    );
    return runs.filter((run): run is RunRecord => run !== undefined);
  }

  public async recordProgress(
    runId: string,
    messageId: string,
    progress: MessageProgress,
  ): Promise<{ counted: boolean; run: RunRecord | undefined }> {
    const run = await this.#runItem(runId);
    if (!run) throw new Error(`run ${runId} does not exist in ${this.#tableName}`);
    const shard = createHash('sha1').update(messageId).digest().readUInt32BE(0) % run.shards;
    // Within its run's item a message is known by what follows `<runId>/`, which keeps shard items small.
    const appliedId = messageId.startsWith(`${runId}/`) ? messageId.slice(runId.length + 1) : messageId;
    try {
      await this.#retrying(() =>
        this.#client.send(
          new UpdateCommand({
            TableName: this.#tableName,
            Key: { pk: `run#${runId}`, sk: `shard#${shard}` },
            UpdateExpression:
              'SET applied.#message = :true, expiresAt = if_not_exists(expiresAt, :expiresAt) ' +
              'ADD keysWarmed :warmed, keysFailed :failed, keysSkipped :skipped',
            ConditionExpression: 'attribute_not_exists(applied.#message)',
            ExpressionAttributeNames: { '#message': appliedId },
            ExpressionAttributeValues: {
              ':true': true,
              ':expiresAt': epochSeconds() + RETENTION_SECONDS,
              ':warmed': progress.warmed,
              ':failed': progress.failed,
              ':skipped': progress.skipped,
            },
          }),
        ),
      );
    } catch (error) {
      if (!isMissingMap(error) && !isConditionFailure(error)) throw error;
      if (isConditionFailure(error)) return { counted: false, run: await this.getRun(runId) };
      // The shard item does not exist yet: create it with its map, then count (once) again.
      await this.#retrying(() =>
        this.#client.send(
          new UpdateCommand({
            TableName: this.#tableName,
            Key: { pk: `run#${runId}`, sk: `shard#${shard}` },
            UpdateExpression: 'SET applied = if_not_exists(applied, :empty)',
            ExpressionAttributeValues: { ':empty': {} },
          }),
        ),
      );
      return this.recordProgress(runId, messageId, progress);
    }
    return { counted: true, run: await this.#finishIfDone(runId) };
  }

  public async cancelRun(runId: string): Promise<RunRecord | undefined> {
    await this.#endRun(runId, 'cancelled');
    return this.getRun(runId);
  }

  public async isCancelled(runId: string): Promise<boolean> {
    return (await this.#runItem(runId))?.status === 'cancelled';
  }

  public async acquireRunLock(runId: string, ttlSeconds: number) {
    const now = epochSeconds();
    try {
      await this.#retrying(() =>
        this.#client.send(
          new PutCommand({
            TableName: this.#tableName,
            Item: { ...LOCK_KEY, runId, expiresAt: now + ttlSeconds },
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR runId = :runId',
            ExpressionAttributeValues: { ':now': now, ':runId': runId },
          }),
        ),
      );
      return { acquired: true as const };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const lock = await this.#retrying(() =>
        this.#client.send(
          new GetCommand({ TableName: this.#tableName, Key: LOCK_KEY, ConsistentRead: true }),
        ),
      );
      return { acquired: false as const, heldBy: String(lock.Item?.runId ?? 'another run') };
    }
  }

  public async releaseRunLock(runId: string): Promise<void> {
    try {
      await this.#retrying(() =>
        this.#client.send(
          new DeleteCommand({
            TableName: this.#tableName,
            Key: LOCK_KEY,
            ConditionExpression: 'runId = :runId',
            ExpressionAttributeValues: { ':runId': runId },
          }),
        ),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Marks the run finished once every planned key is accounted for. */
  async #finishIfDone(runId: string): Promise<RunRecord | undefined> {
    const run = await this.getRun(runId);
    if (run?.status !== 'running' || run.keysWarmed + run.keysFailed + run.keysSkipped < run.keysPlanned) {
      return run;
    }
    const endedAt = await this.#endRun(runId, 'finished');
    return endedAt ? { ...run, status: 'finished', endedAt } : this.getRun(runId);
  }

  /**
   * Moves a running run to `status` and releases its lock. The condition lets exactly one caller
   * win; the others (and a run no longer running) get `undefined`.
   */
  async #endRun(runId: string, status: 'finished' | 'cancelled'): Promise<string | undefined> {
    const endedAt = new Date().toISOString();
    try {
      await this.#retrying(() =>
        this.#client.send(
          new UpdateCommand({
            TableName: this.#tableName,
            Key: runKey(runId),
            UpdateExpression: 'SET #status = :ended, endedAt = :endedAt, expiresAt = :expiresAt',
            ConditionExpression: '#status = :running',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':ended': status,
              ':running': 'running',
              ':endedAt': endedAt,
              ':expiresAt': epochSeconds() + RETENTION_SECONDS,
            },
          }),
        ),
      );
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
    await this.releaseRunLock(runId);
    return endedAt;
  }

  async #runItem(runId: string): Promise<RunItem | undefined> {
    const response = await this.#retrying(() =>
      this.#client.send(
        new GetCommand({ TableName: this.#tableName, Key: runKey(runId), ConsistentRead: true }),
      ),
    );
    return response.Item as RunItem | undefined;
  }

  #toRecord(run: RunItem, shards: ShardItem[]): RunRecord {
    const sum = (field: keyof ShardItem) => shards.reduce((total, shard) => total + (shard[field] ?? 0), 0);
    return {
      runId: run.runId,
      trigger: run.trigger,
      strategy: run.strategy,
      keysPlanned: run.keysPlanned,
      messages: run.messages,
      keysWarmed: sum('keysWarmed'),
      keysFailed: sum('keysFailed'),
      keysSkipped: sum('keysSkipped'),
      status: run.status,
      startedAt: run.startedAt,
      ...(run.endedAt ? { endedAt: run.endedAt } : {}),
    };
  }

  /** Retries throttling and server faults with backoff. */
  #retrying<Output>(call: () => Promise<Output>): Promise<Output> {
    return retryWithBackoff(call, { ...this.#retry, shouldRetry: isRetryableAwsError });
  }
}

/** SET on a path inside a map that does not exist yet fails validation: the shard item is new. */
const isMissingMap = (error: unknown) =>
  error instanceof Error &&
  error.name === 'ValidationException' &&
  /document path provided in the update expression is invalid/i.test(error.message);
