import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { buildApp } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoKeyProvider, KeySourceError, S3KeyProvider } from '../../functions/adapters/keySources';
import type { KeyCandidate, KeyProvider, KeyReader } from '../../functions/core';
import { type LocalDynamo, startLocalDynamo } from '../support/dynalite';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

const readAll = async <K>(provider: KeyProvider<K>): Promise<KeyCandidate<K>[]> => {
  const candidates: KeyCandidate<K>[] = [];
  for await (const candidate of await provider.getKeys()) candidates.push(candidate);
  return candidates;
};

describe('S3KeyProvider against fauxqs S3', () => {
  let app: ReturnType<typeof buildApp>;
  let client: S3Client;

  beforeAll(async () => {
    // buildApp rather than startFauxqs, which listens on every interface: a test emulator stays on loopback.
    app = buildApp({ logger: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    client = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials,
    });
    await client.send(new CreateBucketCommand({ Bucket: 'keys' }));
  });

  afterAll(async () => {
    client?.destroy();
    await app?.close();
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
    const app = buildApp({ logger: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const client = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials,
    });
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
      client.destroy();
      await app.close();
    }
  });
});
