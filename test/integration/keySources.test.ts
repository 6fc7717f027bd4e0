import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { buildApp } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoKeyProvider, KeySourceError, S3KeyProvider } from '../../functions/adapters/keySources';
import type { KeyCandidate, KeyProvider, KeyReader, SourcePosition } from '../../functions/core';
import { type LocalDynamo, startLocalDynamo } from '../support/dynalite';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** fauxqs's S3 on loopback (buildApp rather than startFauxqs, which listens on every interface). */
const startLocalS3 = async () => {
  const app = buildApp({ logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const client = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
  });
  return {
    client,
    close: async () => {
      client.destroy();
      await app.close();
    },
  };
};

const readAll = async <K>(provider: KeyProvider<K>): Promise<KeyCandidate<K>[]> => {
  const candidates: KeyCandidate<K>[] = [];
  for await (const candidate of await provider.getKeys()) candidates.push(candidate);
  return candidates;
};

/**
 * A JSON array of `count` keys, as a list written by hand or by a tool might hold them: multi-byte
 * UTF-8, escaped quotes and backslashes, every fifth key a `{ key, weight }` object, and assorted
 * whitespace between elements. Returns its text and the candidates it holds, in order.
 */
const jsonArrayOfKeys = (count: number): { body: string; candidates: KeyCandidate<string>[] } => {
  const candidates: KeyCandidate<string>[] = Array.from({ length: count }, (_, index) => {
    const key = `ключ:${index}:"商品"\\${index % 10}`;
    return index % 5 === 0 ? { key, weight: index / 4 } : key;
  });
  const separators = [',', ', ', ',\n  ', '\r\n,\t'];
  const elements = candidates.map(
    (candidate, index) =>
      `${JSON.stringify(candidate, null, index % 2 === 0 ? 0 : 2)}${separators[index % 4]}`,
  );
  return { body: `\n[\n${elements.join('').replace(/[,\s]+$/, '')}\n]\n`, candidates };
};

describe('S3KeyProvider against fauxqs S3', () => {
  let s3: Awaited<ReturnType<typeof startLocalS3>>;
  let client: S3Client;

  beforeAll(async () => {
    s3 = await startLocalS3();
    client = s3.client;
    await client.send(new CreateBucketCommand({ Bucket: 'keys' }));
  });

  afterAll(async () => {
    await s3?.close();
  });

  it('streams every key of a multi-megabyte object, whatever the chunk boundaries cut', async () => {
    // Multi-byte keys and mixed line endings: over several MB, chunk boundaries fall inside keys,
    // inside CRLF pairs and inside UTF-8 sequences.
    const keys = Array.from({ length: 200_000 }, (_, index) => `ключ:${index}:продукт`);
    const body = keys.map((key, index) => (index % 3 === 0 ? `${key}\r\n` : `${key}\n`)).join('');
    expect(Buffer.byteLength(body)).toBeGreaterThan(5_000_000);
    await client.send(new PutObjectCommand({ Bucket: 'keys', Key: 'big/keys.txt', Body: `\n${body}\n\n` }));

    const read = await readAll(new S3KeyProvider({ client, bucket: 'keys', key: 'big/keys.txt' }));

    expect(read).toHaveLength(keys.length);
    expect(read).toEqual(keys);
  });

  it('streams every key of a multi-megabyte JSON array in order, each with its weight', async () => {
    const { body, candidates } = jsonArrayOfKeys(150_000);
    expect(Buffer.byteLength(body)).toBeGreaterThan(5_000_000);
    expect(JSON.parse(body)).toEqual(candidates);
    await client.send(new PutObjectCommand({ Bucket: 'keys', Key: 'big/keys.json', Body: body }));

    const read = await readAll(new S3KeyProvider({ client, bucket: 'keys', key: 'big/keys.json' }));

    expect(read).toHaveLength(candidates.length);
    expect(read).toEqual(candidates);
  });

  it('reads the last line of an object that does not end with a newline', async () => {
    await client.send(new PutObjectCommand({ Bucket: 'keys', Key: 'small.txt', Body: 'a\r\nb\r\nc' }));

    expect(await readAll(new S3KeyProvider({ client, bucket: 'keys', key: 'small.txt' }))).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it('says clearly that the object does not exist', async () => {
    const provider = new S3KeyProvider({ client, bucket: 'keys', key: 'missing.txt' });

    await expect(readAll(provider)).rejects.toThrow(
      new KeySourceError('s3://keys/missing.txt: the object does not exist'),
    );
  });
});

describe('DynamoKeyProvider against dynalite', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBDocumentClient;
  const requests: string[] = [];
  const padding = 'x'.repeat(10_000);
  const itemCount = 250;

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    dynamo.client.middlewareStack.add(
      (next, context) => async (args) => {
        requests.push(context.commandName ?? '');
        return next(args);
      },
      { step: 'initialize' },
    );
    client = dynamo.documentClient;
    await dynamo.createTable({
      TableName: 'products',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'id', AttributeType: 'S' },
        { AttributeName: 'tenant', AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byTenant',
          KeySchema: [
            { AttributeName: 'tenant', KeyType: 'HASH' },
            { AttributeName: 'id', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
    // `name` is a DynamoDB reserved word: the provider must read it through a placeholder.
    const items = Array.from({ length: itemCount }, (_, index) => ({
      id: `id:${index}`,
      tenant: index % 2 === 0 ? 'even' : 'odd',
      name: `product:${index}`,
      padding,
    }));
    items.push({ id: 'no-name', tenant: 'even', padding } as (typeof items)[number]);
    for (let start = 0; start < items.length; start += 25) {
      await client.send(
        new BatchWriteCommand({
          RequestItems: {
            products: items.slice(start, start + 25).map((item) => ({ PutRequest: { Item: item } })),
          },
        }),
      );
    }
  });

  afterAll(async () => {
    await dynamo?.close();
  });

  const expectedNames = (filter: (index: number) => boolean = () => true) =>
    Array.from({ length: itemCount }, (_, index) => index)
      .filter(filter)
      .map((index) => `product:${index}`)
      .sort();

  it('scans more than 1 MB of items across pages, skipping the item without the attribute', async () => {
    requests.length = 0;
    const skipped: unknown[] = [];
    const provider = new DynamoKeyProvider({
      client,
      tableName: 'products',
      attribute: 'name',
      onSkippedItems: (report) => skipped.push(report),
    });

    const keys = (await readAll(provider)) as string[];

    expect(keys.sort()).toEqual(expectedNames());
    expect(requests.filter((name) => name === 'ScanCommand').length).toBeGreaterThan(1);
    expect(skipped).toEqual([{ source: 'DynamoDB table products', missing: 1, notString: 0 }]);
  });

  it('resumes a scan in the middle of a page: that page again, its items already read skipped', async () => {
    const provider = new DynamoKeyProvider({
      client,
      tableName: 'products',
      attribute: 'name',
      pageSize: 40,
    });
    const first = provider.readKeys();
    const head = await readSome(first, 50);
    expect(first.position()).toMatchObject({ item: 10 });

    const rest = await readRest(provider.readKeys(JSON.parse(JSON.stringify(first.position()))));

    expect(rest).toHaveLength(itemCount - 50);
    expect([...head, ...rest].sort()).toEqual(expectedNames());
  });

  it('queries an index page by page with Limit', async () => {
    requests.length = 0;
    const provider = new DynamoKeyProvider({
      client,
      tableName: 'products',
      indexName: 'byTenant',
      attribute: 'name',
      pageSize: 20,
      query: {
        keyConditionExpression: '#tenant = :tenant AND begins_with(#id, :prefix)',
        expressionAttributeNames: { '#tenant': 'tenant', '#id': 'id' },
        expressionAttributeValues: { ':tenant': 'odd', ':prefix': 'id:' },
      },
    });

    const keys = (await readAll(provider)) as string[];

    expect(keys.sort()).toEqual(expectedNames((index) => index % 2 === 1));
    expect(requests.filter((name) => name === 'QueryCommand').length).toBeGreaterThanOrEqual(7);
  });

  it('reports a bad key condition with DynamoDB validation message and the table', async () => {
    const provider = new DynamoKeyProvider({
      client,
      tableName: 'products',
      attribute: 'name',
      query: { keyConditionExpression: 'name = :n', expressionAttributeValues: { ':n': 'x' } },
    });

    await expect(readAll(provider)).rejects.toThrow(
      /^DynamoDB table products: Query failed: ValidationException: .*reserved keyword/,
    );
  });
});

/** Reads `count` keys of `reader`, then stops: the reader's position is then just after them. */
const readSome = async <K>(reader: KeyReader<K>, count: number): Promise<KeyCandidate<K>[]> => {
  const read: KeyCandidate<K>[] = [];
  if (count === 0) return read;
  for await (const candidate of reader) {
    read.push(candidate);
    if (read.length === count) break;
  }
  return read;
};

const readRest = async <K>(reader: KeyReader<K>): Promise<KeyCandidate<K>[]> => {
  const read: KeyCandidate<K>[] = [];
  for await (const candidate of reader) read.push(candidate);
  return read;
};

describe('key sources resumed from a position, against their local services', () => {
  it('S3: resumes at the byte after the last key read, with a ranged GetObject', async () => {
    const { client, close } = await startLocalS3();
    try {
      await client.send(new CreateBucketCommand({ Bucket: 'resume' }));
      await client.send(
        new PutObjectCommand({ Bucket: 'resume', Key: 'keys.txt', Body: 'a\r\n\nключ:1\nc\nd' }),
      );
      const provider = new S3KeyProvider({ client, bucket: 'resume', key: 'keys.txt' });
      const first = provider.readKeys();
      expect(await readSome(first, 2)).toEqual(['a', 'ключ:1']);
      expect(first.position()).toBe(Buffer.byteLength('a\r\n\nключ:1\n'));

      const rest = provider.readKeys(first.position());
      expect(await readRest(rest)).toEqual(['c', 'd']);
      expect(await readRest(provider.readKeys(rest.position()))).toEqual([]);
    } finally {
      await close();
    }
  });
});

/**
 * Reads `reader`'s keys in continuations of `step` keys, each from the position the last one left
 * (as a checkpoint stores it), until one reads to the end: every key read, in the order read.
 */
const readInContinuations = async (
  read: (position: SourcePosition | undefined) => KeyReader<string>,
  step: number,
): Promise<{ keys: KeyCandidate<string>[]; continuations: number }> => {
  const keys: KeyCandidate<string>[] = [];
  let position: SourcePosition | undefined;
  for (let continuations = 1; ; continuations++) {
    const reader = read(position);
    const some = await readSome(reader, step);
    keys.push(...some);
    position = JSON.parse(JSON.stringify(reader.position()));
    if (some.length < step) return { keys, continuations };
  }
};

describe('key sources read in parallel, resumed in continuations, against their local services', () => {
  it('S3 prefix: reads every object under it, several at once, every key exactly once across continuations', async () => {
    const { client, close } = await startLocalS3();
    try {
      await client.send(new CreateBucketCommand({ Bucket: 'daily' }));
      const objects = Array.from({ length: 7 }, (_, object) =>
        Array.from({ length: 40 + object * 13 }, (_, index) => `object${object}:key${index}`),
      );
      for (const [object, keys] of objects.entries()) {
        await client.send(
          new PutObjectCommand({ Bucket: 'daily', Key: `keys/${object}.txt`, Body: `${keys.join('\n')}\n` }),
        );
      }
      await client.send(new PutObjectCommand({ Bucket: 'daily', Key: 'other/never.txt', Body: 'never\n' }));
      const reads = { inFlight: 0, most: 0 };
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName !== 'GetObjectCommand') return next(args);
          reads.most = Math.max(reads.most, ++reads.inFlight);
          try {
            return await next(args);
          } finally {
            reads.inFlight--;
          }
        },
        { step: 'initialize' },
      );
      const provider = new S3KeyProvider({ client, bucket: 'daily', prefix: 'keys/', parallelReads: 3 });

      const { keys, continuations } = await readInContinuations(
        (position) => provider.readKeys(position),
        37,
      );

      expect(continuations).toBeGreaterThan(10);
      expect([...keys].sort()).toEqual(objects.flat().sort());
      expect(reads.most).toBe(3);
    } finally {
      await close();
    }
  });

  it('S3 JSON array: every key exactly once across continuations, each resumed one telling the format from the head', async () => {
    const { client, close } = await startLocalS3();
    try {
      await client.send(new CreateBucketCommand({ Bucket: 'json' }));
      const { body, candidates } = jsonArrayOfKeys(40_000);
      await client.send(new PutObjectCommand({ Bucket: 'json', Key: 'keys.json', Body: body }));
      const ranges: (string | undefined)[] = [];
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'GetObjectCommand')
            ranges.push((args.input as { Range?: string }).Range);
          return next(args);
        },
        { step: 'initialize' },
      );
      const provider = new S3KeyProvider({ client, bucket: 'json', key: 'keys.json' });

      const { keys, continuations } = await readInContinuations(
        (position) => provider.readKeys(position),
        3_001,
      );

      expect(continuations).toBeGreaterThan(10);
      expect(keys).toEqual(candidates);
      expect(ranges.filter((range) => range === 'bytes=0-1023')).toHaveLength(continuations - 1);
    } finally {
      await close();
    }
  });

  it('S3 prefix holding a list of lines and a JSON array: each read in its format, across continuations', async () => {
    const { client, close } = await startLocalS3();
    try {
      await client.send(new CreateBucketCommand({ Bucket: 'mixed' }));
      const lines = Array.from({ length: 500 }, (_, index) => `line:${index}`);
      const { body, candidates } = jsonArrayOfKeys(500);
      await client.send(
        new PutObjectCommand({ Bucket: 'mixed', Key: 'keys/a.txt', Body: `${lines.join('\n')}\n` }),
      );
      await client.send(new PutObjectCommand({ Bucket: 'mixed', Key: 'keys/b.json', Body: body }));
      const provider = new S3KeyProvider({ client, bucket: 'mixed', prefix: 'keys/', parallelReads: 2 });
      const keyOf = (candidate: KeyCandidate<string>) =>
        typeof candidate === 'string' ? candidate : candidate.key;

      const { keys, continuations } = await readInContinuations(
        (position) => provider.readKeys(position),
        97,
      );

      expect(continuations).toBeGreaterThan(10);
      expect(keys.map(keyOf).sort()).toEqual([...lines, ...candidates.map(keyOf)].sort());
      expect(keys.filter((candidate) => typeof candidate !== 'string')).toEqual(
        candidates.filter((candidate) => typeof candidate !== 'string'),
      );
    } finally {
      await close();
    }
  });

  it('DynamoDB parallel scan: every segment read, every key exactly once across continuations', async () => {
    const dynamo = await startLocalDynamo();
    try {
      await dynamo.createTable({
        TableName: 'catalog',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      });
      const names = Array.from({ length: 300 }, (_, index) => `product:${index}`);
      for (let start = 0; start < names.length; start += 25) {
        await dynamo.documentClient.send(
          new BatchWriteCommand({
            RequestItems: {
              catalog: names
                .slice(start, start + 25)
                .map((name, index) => ({ PutRequest: { Item: { id: `id:${start + index}`, name } } })),
            },
          }),
        );
      }
      const scans: { Segment?: number; TotalSegments?: number }[] = [];
      dynamo.client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'ScanCommand') scans.push(args.input as (typeof scans)[number]);
          return next(args);
        },
        { step: 'initialize' },
      );
      const provider = new DynamoKeyProvider({
        client: dynamo.documentClient,
        tableName: 'catalog',
        attribute: 'name',
        pageSize: 7,
        segments: 5,
        parallelReads: 3,
      });

      const { keys, continuations } = await readInContinuations(
        (position) => provider.readKeys(position),
        23,
      );

      expect(continuations).toBeGreaterThan(10);
      expect([...keys].sort()).toEqual([...names].sort());
      expect(new Set(scans.map((scan) => scan.Segment))).toEqual(new Set([0, 1, 2, 3, 4]));
      expect(scans.every((scan) => scan.TotalSegments === 5)).toBe(true);
    } finally {
      await dynamo.close();
    }
  });
});
