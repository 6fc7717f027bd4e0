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
import {
  type MessageProgress,
  type NewRun,
  type PlanState,
  type PlanStep,
  plannedKeysOf,
  type RunRecord,
  type RunStore,
  rejectedKeyCount,
  SKIPPED_SAMPLE_KEYS,
  type SkippedReason,
} from './RunStore';
import {
  addingFigures,
  DEFAULT_PROGRESS_TREE,
  type Figures,
  figuresOf,
  finalShape,
  groupKey,
  type Item,
  type ItemKey,
  isBeyondKnownMessages,
  isGroupFinished,
  isPageFinished,
  isTallyFinished,
  type ProgressTreeShape,
  pageKey,
  placeMessage,
  type RunItem,
  runKey,
  SKIP_SAMPLE,
  setOf,
  stillOpen,
  tallyKey,
} from './runProgressTree';
import { extendSample, mergeSkippedReasons, summarizeSkippedKeys } from './skippedReasons';
import { createTableInput, RUNS_TABLE } from './tables';

const RUNS_INDEX = RUNS_TABLE.globalSecondaryIndexes[0]?.indexName;
/** Every run item carries this in its index partition: runs are few (one per interval), so one partition suffices. */
const RUNS_PARTITION = 'runs';
const RETENTION_SECONDS = 30 * 24 * 3600;
/** Items of a run read at once when a running run is read. */
const READ_CONCURRENCY = 25;
/** Runs whose shape a store keeps in memory (a consumer counts messages of one or two runs at a time). */
const CACHED_RUNS = 64;

/** The runs table as the run store expects it (see `RUNS_TABLE` in tables.ts). */
export const runsTableDefinition = (tableName: string): CreateTableCommandInput =>
  createTableInput(RUNS_TABLE, tableName);

const isConditionFailure = (error: unknown) =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';
const epochSeconds = (ms = Date.now()) => Math.floor(ms / 1000);
const expiresAt = () => epochSeconds() + RETENTION_SECONDS;
const LOCK_KEY: ItemKey = { pk: 'lock', sk: 'lock' };

const assertCounts = (progress: MessageProgress) => {
  for (const field of ['warmed', 'failed', 'skipped', 'requeued'] as const) {
    const count = progress[field] ?? 0;
    if (!Number.isInteger(count) || count < 0) {
      throw new Error(`progress.${field} must be a whole number of keys, not ${count}`);
    }
  }
};

const DEFAULT_RETRY: BackoffOptions = { maxRetries: 5, baseDelayMs: 50, maxDelayMs: 2_000 };

/**
 * Run records in DynamoDB, counted exactly once per message at a constant cost per message, without
 * transactions. A message's counts go to its page item in one UpdateItem that also adds the message's
 * id to the page and is conditional on it not being there, so a redelivered message changes nothing.
 * A finished page is added to its group, and a finished group to the run's tally, the same way
 * (conditional on the child not being there yet); the update that completes the tally finishes the
 * run. Pages and groups are items of their own partition keys, and each takes a bounded number of
 * writes, so no partition key takes a run's whole write load. Reading a running run adds the tally to
 * the groups and pages still counting.
 *
 * A run planned in steps grows its run item's message count with each step (one conditional update
 * of the run item). Until the plan is complete, only full pages and full groups can finish; the
 * complete step writes the last page's message count, the last group's page count and the tally's
 * group count onto those items, and each of these writes, like each count, sees the item as it is
 * after it: whichever of them completes an item rolls it up, so the run finishes exactly once.
 *
 * @example
 * const runs = new DynamoRunStore({ client: DynamoDBDocumentClient.from(new DynamoDBClient({})), tableName });
 * await runs.recordProgress(runId, `${runId}/0`, { warmed: 98, failed: 0, skipped: 2 });
 */
export class DynamoRunStore implements RunStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #retry: BackoffOptions;
  readonly #tree: ProgressTreeShape;
  /**
   * Runs this store counted messages of. Their progress tree never changes once created; a run
   * planned in steps is read again when a message is past the messages known here.
   */
  readonly #runs = new Map<string, Promise<RunItem>>();

  public constructor(options: {
    client: DynamoDBDocumentClient;
    tableName: string;
    retry?: BackoffOptions;
    /** The progress tree of the runs this store creates; default `DEFAULT_PROGRESS_TREE`. */
    progressTree?: ProgressTreeShape;
  }) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#tree = options.progressTree ?? DEFAULT_PROGRESS_TREE;
  }

  public async createRun({ planning = false, ...run }: NewRun) {
    const item: RunItem = {
      ...run,
      ...this.#tree,
      status: 'running',
      startedAt: new Date().toISOString(),
      ...(planning ? { stepped: true, planning: true, segment: 0 } : {}),
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
    const items = await this.#runAndTally(runId);
    const run = items.find((item) => item.sk === 'run') as RunItem | undefined;
    if (!run) return undefined;
    // A run recorded before the progress tree kept its counts in shard items of its own partition.
    if (run.pageMessages === undefined) {
      return this.#toRecord(run, items.filter((item) => item.sk !== 'run').map(figuresOf));
    }
    const tally = items.find((item) => item.sk === 'tally') ?? {};
    // The run item counts the keys its plan steps refused.
    const counted = [run as unknown as Item, tally];
    if (!isTallyFinished(run, tally)) {
      const groups = await this.#getItems(stillOpen(tally.startedGroups, tally.doneGroups), (group) =>
        groupKey(runId, group),
      );
      const pages = await this.#getItems(
        groups.flatMap((group) => stillOpen(group.startedPages, group.donePages)),
        (page) => pageKey(runId, page),
      );
      counted.push(...groups, ...pages);
    }
    return this.#toRecord(run, counted.map(figuresOf));
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
    assertCounts(progress);
    const figures: Figures = {
      warmed: progress.warmed,
      failed: progress.failed,
      skipped: progress.skipped,
      skippedReasons: summarizeSkippedKeys(progress),
    };
    const run = await this.#runOf(runId, messageId);
    if (run.messages === 0 && !run.stepped) return { counted: true, run: await this.#finish(run, {}) };
    const { page, isRunMessage, appliedId } = placeMessage(run, messageId);
    const update = addingFigures(figures, expiresAt());
    const key = pageKey(runId, page);
    let pageItem: Item;
    let counted = true;
    try {
      pageItem = await this.#update({
        Key: key,
        UpdateExpression:
          `ADD applied :applied, messagesCounted :runMessage, keysExpected :expected, ${update.add.join(', ')} ` +
          `SET ${update.set.join(', ')}`,
        ConditionExpression: 'attribute_not_exists(applied) OR NOT contains(applied, :id)',
        ExpressionAttributeNames: update.names,
        ExpressionAttributeValues: {
          ...update.values,
          ':applied': new Set([appliedId]),
          ':id': appliedId,
          ':runMessage': isRunMessage ? 1 : 0,
          // A run message brings its keys to the page; a remainder only accounts for some of them.
          ':expected': isRunMessage
            ? progress.warmed + progress.failed + progress.skipped + (progress.requeued ?? 0)
            : 0,
        },
      });
      pageItem = await this.#topUpSamples(key, pageItem, figures.skippedReasons);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      counted = false;
      // Counted before, maybe by a consumer that stopped before rolling the page up: roll it up again.
      pageItem = (await this.#getItem(key)) ?? {};
    }
    // The page's first message lists it, and so does a redelivery, in case the first stopped before.
    if (pageItem.listed !== true && (!counted || setOf(pageItem.applied).size === 1)) {
      await this.#listPage(runId, Math.floor(page / run.groupPages), page);
    }
    return { counted, run: await this.#rollUpPage(run, page, pageItem) };
  }

  public async recordPlanStep(
    runId: string,
    step: PlanStep,
  ): Promise<{ applied: boolean; run: RunRecord | undefined }> {
    const keysPlanned = plannedKeysOf(step);
    const rejected = addingFigures(
      {
        warmed: 0,
        failed: 0,
        skipped: rejectedKeyCount(step),
        skippedReasons: mergeSkippedReasons(
          (step.rejected ?? []).map(({ reason, keys }) => [
            { reason, count: keys.length, sample: [...keys] },
          ]),
        ),
      },
      expiresAt(),
    );
    const checkpoint = step.checkpoint === undefined ? '' : ', checkpoint = :checkpoint';
    let run: RunItem;
    try {
      run = (await this.#update({
        Key: runKey(runId),
        UpdateExpression:
          `SET messages = messages + :messages, keysPlanned = keysPlanned + :keys, planning = :planning${checkpoint}, ` +
          `${rejected.set.join(', ')} ADD ${rejected.add.join(', ')}`,
        ConditionExpression: 'planning = :true AND messages = :before',
        ExpressionAttributeNames: rejected.names,
        ExpressionAttributeValues: {
          ...rejected.values,
          ':messages': step.messages,
          ':keys': keysPlanned,
          ':planning': !step.complete,
          ':true': true,
          ':before': step.messagesBefore,
          ...(step.checkpoint === undefined ? {} : { ':checkpoint': step.checkpoint }),
        },
      })) as unknown as RunItem;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = (await this.#getItem(runKey(runId))) as RunItem | undefined;
      if (!current) throw new Error(`run ${runId} does not exist in ${this.#tableName}`);
      // A complete step repeated after its first delivery stopped early closes the plan again.
      const closing = step.complete && current.stepped === true && current.planning === false;
      return { applied: false, run: closing ? await this.#closePlan(current) : undefined };
    }
    this.#runs.set(runId, Promise.resolve(run));
    return { applied: true, run: step.complete ? await this.#closePlan(run) : undefined };
  }

  public async getPlan(runId: string): Promise<PlanState | undefined> {
    const run = (await this.#getItem(runKey(runId))) as RunItem | undefined;
    if (!run) return undefined;
    return {
      messages: run.messages,
      keysPlanned: run.keysPlanned,
      ...(run.checkpoint === undefined ? {} : { checkpoint: run.checkpoint }),
      complete: run.planning !== true,
      segment: run.segment ?? 0,
    };
  }

  public async startPlanSegment(runId: string, segment: number): Promise<boolean> {
    try {
      await this.#update({
        Key: runKey(runId),
        UpdateExpression: 'SET #segment = :next',
        ConditionExpression: '#segment = :segment',
        ExpressionAttributeNames: { '#segment': 'segment' },
        ExpressionAttributeValues: { ':segment': segment, ':next': segment + 1 },
      });
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  public async cancelRun(runId: string): Promise<RunRecord | undefined> {
    await this.#endRun(runId, 'cancelled');
    return this.getRun(runId);
  }

  public async isCancelled(runId: string): Promise<boolean> {
    const response = await this.#retrying(() =>
      this.#client.send(
        new GetCommand({
          TableName: this.#tableName,
          Key: runKey(runId),
          ProjectionExpression: '#status',
          ExpressionAttributeNames: { '#status': 'status' },
          ConsistentRead: true,
        }),
      ),
    );
    return response.Item?.status === 'cancelled';
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
      const lock = await this.#getItem(LOCK_KEY);
      return { acquired: false as const, heldBy: String(lock?.runId ?? 'another run') };
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

  /**
   * Adds a finished page to its group, a finished group to the tally, and finishes the run when the
   * tally holds every group. Each step is idempotent, so a redelivered message repeats what its first
   * delivery may not have done. Returns the run when this call finished it.
   */
  async #rollUpPage(run: RunItem, page: number, pageItem: Item): Promise<RunRecord | undefined> {
    const group = Math.floor(page / run.groupPages);
    if (!isPageFinished(run, page, pageItem)) return undefined;
    const groupItem = await this.#addChild(
      groupKey(run.runId, group),
      'donePages',
      page,
      figuresOf(pageItem),
    );
    return this.#rollUpGroup(run, group, groupItem);
  }

  /** Adds a finished group to the tally, and finishes the run when the tally holds every group. */
  async #rollUpGroup(run: RunItem, group: number, groupItem: Item): Promise<RunRecord | undefined> {
    if (!isGroupFinished(run, group, groupItem)) return undefined;
    const tally = await this.#addChild(tallyKey(run.runId), 'doneGroups', group, figuresOf(groupItem));
    return isTallyFinished(run, tally) ? this.#finish(run, tally) : undefined;
  }

  /**
   * Tells the tally, the last group and the last page of a run whose plan is complete how many
   * children they have, top down, and rolls up each one that this write found finished: a count that
   * completed an item before its write could not finish it. Idempotent. Returns the run when this
   * call finished it.
   */
  async #closePlan(run: RunItem): Promise<RunRecord | undefined> {
    const shape = finalShape(run, run.messages);
    const setting = (key: ItemKey, attribute: string, count: number) =>
      this.#update({
        Key: key,
        UpdateExpression: `SET ${attribute} = :count, expiresAt = if_not_exists(expiresAt, :expiresAt)`,
        ExpressionAttributeValues: { ':count': count, ':expiresAt': expiresAt() },
      });
    const tally = await setting(tallyKey(run.runId), 'finalGroups', shape.groups);
    if (shape.groups === 0) return isTallyFinished(run, tally) ? this.#finish(run, tally) : undefined;
    const group = await setting(groupKey(run.runId, shape.lastGroup), 'finalPages', shape.pagesInLastGroup);
    const page = await setting(pageKey(run.runId, shape.lastPage), 'finalMessages', shape.messagesInLastPage);
    return (
      (await this.#rollUpPage(run, shape.lastPage, page)) ??
      (await this.#rollUpGroup(run, shape.lastGroup, group)) ??
      (isTallyFinished(run, tally) ? this.#finish(run, tally) : undefined)
    );
  }

  /** Records that a page (and so its group) counts, so that reading a running run finds it. */
  async #listPage(runId: string, group: number, page: number): Promise<void> {
    const expiry = { ':expiresAt': epochSeconds() + RETENTION_SECONDS };
    const groupItem = await this.#update({
      Key: groupKey(runId, group),
      UpdateExpression: 'ADD startedPages :page SET expiresAt = if_not_exists(expiresAt, :expiresAt)',
      ExpressionAttributeValues: { ':page': new Set([page]), ...expiry },
    });
    if (groupItem.listed !== true) {
      await this.#update({
        Key: tallyKey(runId),
        UpdateExpression: 'ADD startedGroups :group SET expiresAt = if_not_exists(expiresAt, :expiresAt)',
        ExpressionAttributeValues: { ':group': new Set([group]), ...expiry },
      });
      await this.#markListed(groupKey(runId, group));
    }
    await this.#markListed(pageKey(runId, page));
  }

  async #markListed(key: ItemKey): Promise<void> {
    await this.#update({
      Key: key,
      UpdateExpression: 'SET listed = :listed',
      ExpressionAttributeValues: { ':listed': true },
    });
  }

  /** Adds a finished child's figures to `key` once; returns the item as it now is. */
  async #addChild(key: ItemKey, children: string, child: number, figures: Figures): Promise<Item> {
    const update = addingFigures(figures, expiresAt());
    try {
      const item = await this.#update({
        Key: key,
        UpdateExpression: `ADD #children :child, ${update.add.join(', ')} SET ${update.set.join(', ')}`,
        ConditionExpression: 'attribute_not_exists(#children) OR NOT contains(#children, :childId)',
        ExpressionAttributeNames: { ...update.names, '#children': children },
        ExpressionAttributeValues: { ...update.values, ':child': new Set([child]), ':childId': child },
      });
      return await this.#topUpSamples(key, item, figures.skippedReasons);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return (await this.#getItem(key)) ?? {};
    }
  }

  /**
   * Fills an item's samples that have room with keys of `reasons`. The counting update only sets a
   * reason's first sample; topping up is a separate write, needed only until a sample is full.
   * Returns the item as it now is.
   */
  async #topUpSamples(key: ItemKey, item: Item, reasons: SkippedReason[]): Promise<Item> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    for (const { reason, sample } of reasons) {
      const current = item[`${SKIP_SAMPLE}${reason}`];
      const known = Array.isArray(current) ? (current as string[]) : [];
      const extended = extendSample(known, sample);
      if (known.length >= SKIPPED_SAMPLE_KEYS || extended.length === known.length) continue;
      const index = Object.keys(names).length;
      names[`#sample${index}`] = `${SKIP_SAMPLE}${reason}`;
      values[`:sample${index}`] = extended;
    }
    if (Object.keys(names).length === 0) return item;
    return this.#update({
      Key: key,
      UpdateExpression: `SET ${Object.keys(names)
        .map((name) => `${name} = ${name.replace('#', ':')}`)
        .join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

  /** Finishes the run; returns it finished when this call did it. */
  async #finish(run: RunItem, tally: Item): Promise<RunRecord | undefined> {
    const ended = await this.#endRun(run.runId, 'finished');
    // The run item as it ended: its plan and the keys its plan steps refused, which a counting
    // store's copy may predate.
    return ended
      ? this.#toRecord(ended as unknown as RunItem, [figuresOf(ended), figuresOf(tally)])
      : undefined;
  }

  /**
   * Moves a running run to `status` and releases its lock. The condition lets exactly one caller
   * win and returns it the run item as it now is; the others (and a run no longer running) get `undefined`.
   */
  async #endRun(runId: string, status: 'finished' | 'cancelled'): Promise<Item | undefined> {
    const endedAt = new Date().toISOString();
    let ended: Item;
    try {
      ended = await this.#update({
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
      });
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
    await this.releaseRunLock(runId);
    return ended;
  }

  /**
   * The run as a counting store knows it, read again only when `messageId` is past the messages it
   * knows: a step of the plan added it since (the fan-out records a step before sending its messages).
   * @throws Error for an unknown run.
   */
  async #runOf(runId: string, messageId: string): Promise<RunItem> {
    const known = this.#countedRun(runId);
    const run = await known;
    if (!run.stepped || !isBeyondKnownMessages(run, messageId)) return run;
    // Concurrent messages past the known plan share one read of the run.
    if (this.#runs.get(runId) === known) this.#runs.delete(runId);
    return this.#countedRun(runId);
  }

  /**
   * The run as a counting store knows it, read once per store.
   * @throws Error for an unknown run.
   */
  #countedRun(runId: string): Promise<RunItem> {
    const known = this.#runs.get(runId);
    if (known) return known;
    const loading = this.#getItem(runKey(runId)).then((item) => {
      if (!item) throw new Error(`run ${runId} does not exist in ${this.#tableName}`);
      return item as unknown as RunItem;
    });
    // Concurrent messages of one run share one read; a failed read is not kept.
    loading.catch(() => this.#runs.delete(runId));
    if (this.#runs.size >= CACHED_RUNS) this.#runs.delete(this.#runs.keys().next().value as string);
    this.#runs.set(runId, loading);
    return loading;
  }

  /** The run item and its tally: one partition, read to its end. */
  async #runAndTally(runId: string): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const response = await this.#retrying(() =>
        this.#client.send(
          new QueryCommand({
            TableName: this.#tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': runKey(runId).pk },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      items.push(...(response.Items ?? []));
      startKey = response.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  /** The items of `ids` that exist, read a few at a time. */
  async #getItems(ids: number[], keyOf: (id: number) => ItemKey): Promise<Item[]> {
    const items: Item[] = [];
    for (let start = 0; start < ids.length; start += READ_CONCURRENCY) {
      const read = await Promise.all(
        ids.slice(start, start + READ_CONCURRENCY).map((id) => this.#getItem(keyOf(id))),
      );
      items.push(...read.filter((item): item is Item => item !== undefined));
    }
    return items;
  }

  async #getItem(key: ItemKey): Promise<Item | undefined> {
    const response = await this.#retrying(() =>
      this.#client.send(new GetCommand({ TableName: this.#tableName, Key: key, ConsistentRead: true })),
    );
    return response.Item;
  }

  /** One UpdateItem with retries; returns the item as it is after the update. */
  async #update(input: {
    Key: ItemKey;
    UpdateExpression: string;
    ConditionExpression?: string;
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues: Record<string, unknown>;
  }): Promise<Item> {
    const { ExpressionAttributeNames: names, ...rest } = input;
    const response = await this.#retrying(() =>
      this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          ...rest,
          // DynamoDB rejects an empty map of names.
          ...(names && Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return response.Attributes ?? {};
  }

  #toRecord(run: RunItem, counted: Figures[]): RunRecord {
    const sum = (field: 'warmed' | 'failed' | 'skipped') =>
      counted.reduce((total, figures) => total + figures[field], 0);
    return {
      runId: run.runId,
      trigger: run.trigger,
      strategy: run.strategy,
      keysPlanned: run.keysPlanned,
      messages: run.messages,
      keysWarmed: sum('warmed'),
      keysFailed: sum('failed'),
      keysSkipped: sum('skipped'),
      skippedReasons: mergeSkippedReasons(counted.map((figures) => figures.skippedReasons)),
      status: run.status,
      startedAt: run.startedAt,
      ...(run.endedAt ? { endedAt: run.endedAt } : {}),
      planning: run.planning === true,
    };
  }

  /** Retries throttling and server faults with backoff. */
  #retrying<Output>(call: () => Promise<Output>): Promise<Output> {
    return retryWithBackoff(call, { ...this.#retry, shouldRetry: isRetryableAwsError });
  }
}
