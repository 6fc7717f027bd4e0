import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/** One key attribute of a table or index. DynamoDB key attributes are strings (`S`) or numbers (`N`). */
export interface KeyAttribute {
  name: string;
  type: 'S' | 'N';
}

/** A global secondary index: its keys and which attributes it copies. */
export interface IndexDesign {
  indexName: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  /** `KEYS_ONLY` keeps index writes rare; `ALL` answers a query without a second read. */
  projection: 'ALL' | 'KEYS_ONLY';
}

/**
 * A DynamoDB table as the adapters use it. The CDK construct and the tests (CreateTable against
 * dynalite) both build their table from these designs, so the two cannot drift apart.
 */
export interface TableDesign {
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  globalSecondaryIndexes: IndexDesign[];
  /** Epoch-seconds attribute DynamoDB's TTL deletes by (lazily: readers filter expired items). */
  timeToLiveAttribute: string;
}

/** The attribute DynamoDB TTL expires items by, in both tables. */
export const TTL_ATTRIBUTE = 'expiresAt';

/**
 * The run table (`DynamoRunStore`), keyed by `pk` + `sk`:
 * - `run#<runId>` / `run`: the run record;
 * - `run#<runId>` / `tally`: the run's figures from its finished groups;
 * - `run#<runId>#group#<n>` / `group`: the figures of a group's finished pages;
 * - `run#<runId>#page#<n>` / `page`: the counts and ids of up to 100 messages (and their remainders);
 * - `lock` / `lock`: the "a run is in flight" lock.
 *
 * Pages and groups have partition keys of their own, so a run's writes spread over many partitions.
 *
 * `listRuns` reads the sparse `byStartedAt` index, whose one partition (`listPartition = "runs"`)
 * holds only run items sorted by `startedAt`. One partition is enough: a run starts every few minutes
 * at most and TTL bounds the table. The index projects keys only, so progress never writes to it.
 */
export const RUNS_TABLE: TableDesign = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: 'byStartedAt',
      partitionKey: { name: 'listPartition', type: 'S' },
      sortKey: { name: 'startedAt', type: 'S' },
      projection: 'KEYS_ONLY',
    },
  ],
  timeToLiveAttribute: TTL_ATTRIBUTE,
};

/**
 * Shards of the tracker's indexes. DynamoDB serves about 1,000 writes/s per partition, and every
 * count update rewrites the key's index entries, so one `hot` partition would throttle the whole
 * table; 16 shards take 16,000 updates/s, and a reader merges 16 small queries.
 */
export const TRACKER_INDEX_SHARDS = 16;

/** Width of a `recentByTime` bucket: a window of w seconds queries ⌈w ÷ 3,600⌉ + 1 buckets per shard. */
export const RECENT_BUCKET_SECONDS = 3_600;

/**
 * The access tracker table, keyed by `pk`:
 * - `key#<key>`: a tracked key with its `count`, `lastAccess` (epoch ms) and TTL;
 * - `batch#<id>`: the marker of an applied access-queue message, so a redelivery is not counted again.
 *
 * Two sparse, write-sharded indexes hold only key items: `hotByCount` (partition `hotShard` =
 * `hot#<shard>`, sorted by `count`) answers "the most read keys" with one descending query per shard;
 * `recentByTime` (partition `recentBucket` = `recent#<hour>#<shard>`, sorted by `lastAccess`) answers
 * "keys read in the last n seconds" with one query per bucket and shard. A key lives in the bucket of
 * its latest access only, because each update moves it.
 */
export const TRACKER_TABLE: TableDesign = {
  partitionKey: { name: 'pk', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: 'hotByCount',
      partitionKey: { name: 'hotShard', type: 'S' },
      sortKey: { name: 'count', type: 'N' },
      projection: 'ALL',
    },
    {
      indexName: 'recentByTime',
      partitionKey: { name: 'recentBucket', type: 'S' },
      sortKey: { name: 'lastAccess', type: 'N' },
      projection: 'ALL',
    },
  ],
  timeToLiveAttribute: TTL_ATTRIBUTE,
};

/**
 * The shard of `value` among `shards`: FNV-1a over its UTF-16 code units, so a key always lands in
 * the same shard in every process.
 *
 * @example
 * shardOf('product:42', TRACKER_INDEX_SHARDS); // an integer in [0, 16)
 */
export const shardOf = (value: string, shards: number): number => {
  let hash = 0x811c9dc5;
  for (let index = 0; index < value.length; index++) {
    hash ^= value.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
};

/**
 * The CreateTable request for `design` (on-demand billing). Tests create their dynalite tables with
 * it; TTL is switched on separately (UpdateTimeToLive), which dynalite does not implement.
 *
 * @example
 * await client.send(new CreateTableCommand(createTableInput(RUNS_TABLE, 'runs')));
 */
export const createTableInput = (design: TableDesign, tableName: string): CreateTableCommandInput => {
  const attributes = new Map<string, KeyAttribute['type']>([
    [design.partitionKey.name, design.partitionKey.type],
  ]);
  if (design.sortKey) attributes.set(design.sortKey.name, design.sortKey.type);
  for (const index of design.globalSecondaryIndexes) {
    attributes.set(index.partitionKey.name, index.partitionKey.type);
    if (index.sortKey) attributes.set(index.sortKey.name, index.sortKey.type);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    KeySchema: [
      { AttributeName: design.partitionKey.name, KeyType: 'HASH' },
      ...(design.sortKey ? [{ AttributeName: design.sortKey.name, KeyType: 'RANGE' as const }] : []),
    ],
    GlobalSecondaryIndexes: design.globalSecondaryIndexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
        ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' as const }] : []),
      ],
      Projection: { ProjectionType: index.projection },
    })),
  };
};
