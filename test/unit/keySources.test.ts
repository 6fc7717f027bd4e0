import { Readable } from 'node:stream';
import {
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  CombinedKeyProvider,
  DynamoKeyProvider,
  KeySourceError,
  LambdaKeyProvider,
  S3KeyProvider,
  type S3KeyProviderOptions,
  type SkippedItemsReport,
} from '../../functions/adapters/keySources';
import { MAX_KEY_BYTES } from '../../functions/adapters/warmMessage';
import {
  CallableKeyProvider,
  collectWeightedKeys,
  type KeyCandidate,
  type KeyProvider,
  type SourcePosition,
  StaticKeyProvider,
} from '../../functions/core';

const s3 = mockClient(S3Client);
const dynamo = mockClient(DynamoDBDocumentClient);
const lambda = mockClient(LambdaClient);

beforeEach(() => {
  s3.reset();
  dynamo.reset();
  lambda.reset();
});

const noWait = { maxRetries: 3, baseDelayMs: 0, maxDelayMs: 0 };

const readAll = async <K>(provider: KeyProvider<K>): Promise<KeyCandidate<K>[]> => {
  const candidates: KeyCandidate<K>[] = [];
  for await (const candidate of await provider.getKeys()) candidates.push(candidate);
  return candidates;
};

const bodyOf = (chunks: (string | Buffer)[]) =>
  Readable.from(chunks.map((chunk) => Buffer.from(chunk))) as unknown as GetObjectCommandOutput['Body'];

const metadata = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

describe('S3KeyProvider', () => {
  const provider = () =>
    new S3KeyProvider({
      client: new S3Client({}),
      bucket: 'keys-bucket',
      key: 'warm/keys.txt',
      retry: noWait,
    });

  it('streams one key per line: CRLF, blank lines, padding, keys split across chunks, no final newline', async () => {
    const euro = Buffer.from('€');
    s3.on(GetObjectCommand).resolves({
      Body: bodyOf([
        'user:1\r\nus',
        'er:2\n\n   \r\n  user:3  \npri',
        Buffer.concat([Buffer.from('ce:'), euro.subarray(0, 1)]),
        Buffer.concat([euro.subarray(1), Buffer.from('\r')]),
        '\nlast',
      ]),
    });

    expect(await readAll(provider())).toEqual(['user:1', 'user:2', 'user:3', 'price:€', 'last']);
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'keys-bucket',
      Key: 'warm/keys.txt',
    });
  });

  it('reads nothing until the keys are iterated', async () => {
    s3.on(GetObjectCommand).resolves({ Body: bodyOf(['a\n']) });
    await provider().getKeys();
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('says the object does not exist on NoSuchKey', async () => {
    s3.on(GetObjectCommand).rejects(
      new NoSuchKey({ message: 'The specified key does not exist.', ...metadata(404) }),
    );

    await expect(readAll(provider())).rejects.toThrow(
      new KeySourceError('s3://keys-bucket/warm/keys.txt: the object does not exist'),
    );
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
  });

  it('retries a throttled GetObject, but not access denied', async () => {
    const slowDown = new S3ServiceException({ name: 'SlowDown', $fault: 'server', ...metadata(503) });
    s3.on(GetObjectCommand)
      .rejectsOnce(slowDown)
      .resolves({ Body: bodyOf(['a\nb\n']) });
    expect(await readAll(provider())).toEqual(['a', 'b']);

    s3.reset();
    const denied = new S3ServiceException({
      name: 'AccessDenied',
      $fault: 'client',
      message: 'Access Denied',
      ...metadata(403),
    });
    s3.on(GetObjectCommand).rejects(denied);
    await expect(readAll(provider())).rejects.toThrow(
      's3://keys-bucket/warm/keys.txt: AccessDenied: Access Denied',
    );
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
  });

  it('stops at a line too long to be a key, naming the line, without reading the rest', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: bodyOf(['a\nb\n', 'x'.repeat(MAX_KEY_BYTES), 'x'.repeat(MAX_KEY_BYTES), 'never read\n']),
    });

    await expect(readAll(provider())).rejects.toThrow(/line 3 is longer than 1024 bytes/);
  });
});

describe('S3KeyProvider reading a JSON array', () => {
  const provider = () =>
    new S3KeyProvider({
      client: new S3Client({}),
      bucket: 'keys-bucket',
      key: 'warm/keys.json',
      retry: noWait,
    });

  /** `text` a byte at a time: every chunk boundary, inside strings, escapes and UTF-8 sequences. */
  const byteByByte = (text: string) => bodyOf([...Buffer.from(text)].map((byte) => Buffer.from([byte])));

  it('streams strings and { key, weight } objects, split across chunks anywhere', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: byteByByte(
        '\uFEFF\n [\n  "user:1", "price:€",\t{ "key": "q\\"uote\\\\", "weight": 5 },\r\n"[,]"\n]\n',
      ),
    });

    expect(await readAll(provider())).toEqual(['user:1', 'price:€', { key: 'q"uote\\', weight: 5 }, '[,]']);
  });

  it('resumed past an element, reads the head to tell the format, then the rest from there', async () => {
    const json = '["a", {"key": "b", "weight": 2}, "c"]';
    const afterB = json.indexOf('}') + 1;
    s3.on(GetObjectCommand, { Range: undefined }).resolves({ Body: bodyOf([json]) });
    s3.on(GetObjectCommand, { Range: 'bytes=0-1023' }).resolves({ Body: bodyOf([json]) });
    s3.on(GetObjectCommand, { Range: `bytes=${afterB}-` }).resolves({ Body: bodyOf([json.slice(afterB)]) });

    const first = provider().readKeys();
    const read: KeyCandidate<string>[] = [];
    for await (const candidate of first) {
      read.push(candidate);
      if (read.length === 2) break;
    }
    expect(first.position()).toBe(afterB);

    for await (const candidate of provider().readKeys(afterB)) read.push(candidate);
    expect(read).toEqual(['a', { key: 'b', weight: 2 }, 'c']);
    expect(s3.commandCalls(GetObjectCommand).map((call) => call.args[0].input.Range)).toEqual([
      undefined,
      'bytes=0-1023',
      `bytes=${afterB}-`,
    ]);
  });

  it.each([
    [
      '["a", 42]',
      'element 1 (at byte 6), 42, is not a key: expected a key (a string) or { "key": "…", "weight": n }',
    ],
    [
      '["a", {"key": "b"}]',
      'element 1 (at byte 6), {"key":"b"}, is not a key: expected a key (a string) or { "key": "…", "weight": n }',
    ],
    ['["a", ""]', 'element 1 (at byte 6), "", is not a key: a key must not be empty'],
    ['["a" "b"]', 'not valid JSON at byte 5: expected "," or "]", found """'],
    ['["a", {"key": b}]', 'element 1 (at byte 6) is not valid JSON: '],
    ['["a"]\n"b"', 'content after the closing "]" at byte 6: """'],
    ['["a", "b"\n', 'the JSON array has no closing "]" (the text ends at byte 10)'],
    [
      '{"keys": ["a"]}',
      'the top-level JSON value is not an array (it starts with "{" at byte 0): ' +
        'expected ["key", { "key": "other", "weight": 5 }, …]',
    ],
    [
      `["${'k'.repeat(MAX_KEY_BYTES + 1)}"]`,
      'element 0 (at byte 1) holds a key longer than 1024 bytes, the longest key accepted',
    ],
  ])('refuses %s, naming the object and the element', async (json, message) => {
    s3.on(GetObjectCommand).resolves({ Body: bodyOf([json]) });

    const failure = readAll(provider());
    await expect(failure).rejects.toThrow(KeySourceError);
    await expect(failure).rejects.toThrow(`s3://keys-bucket/warm/keys.json: ${message}`);
  });

  it('stops at an element too long to hold a key, without reading the rest', async () => {
    const chunks = ['["a", "', 'x'.repeat(3 * MAX_KEY_BYTES), 'x'.repeat(3 * MAX_KEY_BYTES), 'never read"]'];
    let pulled = 0;
    async function* body() {
      for (const chunk of chunks) {
        pulled++;
        yield Buffer.from(chunk);
      }
    }
    s3.on(GetObjectCommand).resolves({ Body: body() as unknown as GetObjectCommandOutput['Body'] });

    const read: KeyCandidate<string>[] = [];
    const failure = (async () => {
      for await (const candidate of await provider().getKeys()) read.push(candidate);
    })();

    await expect(failure).rejects.toThrow(
      's3://keys-bucket/warm/keys.json: element 1 (at byte 6) is longer than 4096 bytes, the longest element accepted',
    );
    expect(read).toEqual(['a']);
    expect(pulled).toBe(3);
  });
});

describe('S3KeyProvider under a prefix', () => {
  const provider = (options: Partial<S3KeyProviderOptions> = {}) =>
    new S3KeyProvider({
      client: new S3Client({}),
      bucket: 'keys-bucket',
      prefix: 'daily/',
      retry: noWait,
      ...options,
    });

  it('lists every page of objects and reads each of them', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [{ Key: 'daily/1.txt' }],
        IsTruncated: true,
        NextContinuationToken: 'page-2',
      })
      .resolvesOnce({ Contents: [{ Key: 'daily/2.txt' }], IsTruncated: false });
    s3.on(GetObjectCommand, { Key: 'daily/1.txt' }).resolves({ Body: bodyOf(['a\nb\n']) });
    s3.on(GetObjectCommand, { Key: 'daily/2.txt' }).resolves({ Body: bodyOf(['c\n']) });

    expect(((await readAll(provider())) as string[]).sort()).toEqual(['a', 'b', 'c']);
    expect(s3.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input)).toEqual([
      { Bucket: 'keys-bucket', Prefix: 'daily/' },
      { Bucket: 'keys-bucket', Prefix: 'daily/', ContinuationToken: 'page-2' },
    ]);
  });

  it('says so when no object has the prefix, and when the bucket does not exist', async () => {
    s3.on(ListObjectsV2Command).resolves({ IsTruncated: false });
    await expect(readAll(provider())).rejects.toThrow(
      new KeySourceError('s3://keys-bucket/daily/ (prefix): no object has this prefix'),
    );

    s3.reset();
    s3.on(ListObjectsV2Command).rejects(
      new S3ServiceException({
        name: 'NoSuchBucket',
        $fault: 'client',
        message: 'no bucket',
        ...metadata(404),
      }),
    );
    await expect(readAll(provider())).rejects.toThrow(
      's3://keys-bucket/daily/ (prefix): listing failed: the bucket does not exist',
    );
  });

  it('names the object whose read failed', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'daily/1.txt' }, { Key: 'daily/2.txt' }] });
    s3.on(GetObjectCommand, { Key: 'daily/1.txt' }).resolves({ Body: bodyOf(['a\n']) });
    s3.on(GetObjectCommand, { Key: 'daily/2.txt' }).rejects(
      new NoSuchKey({ message: 'The specified key does not exist.', ...metadata(404) }),
    );

    await expect(readAll(provider())).rejects.toThrow(
      's3://keys-bucket/daily/2.txt: the object does not exist',
    );
  });

  it.each([
    [
      { key: 'keys.txt' },
      's3://keys-bucket: give exactly one of key (one object) or prefix (every object under it)',
    ],
    [
      { prefix: undefined },
      's3://keys-bucket: give exactly one of key (one object) or prefix (every object under it)',
    ],
    [{ parallelReads: 0 }, 's3://keys-bucket/daily/: parallelReads 0 must be a whole number from 1 to 100'],
  ])('rejects %j', (options, message) => {
    expect(() => provider(options)).toThrow(new KeySourceError(message));
  });

  it('refuses a position naming an object outside its prefix', () => {
    expect(() => provider().readKeys({ after: 'other/1.txt', reading: {} })).toThrow(
      's3://keys-bucket/daily/ (prefix): cannot resume at {"after":"other/1.txt","reading":{}}',
    );
  });
});

describe('DynamoKeyProvider', () => {
  const create = (options: Partial<ConstructorParameters<typeof DynamoKeyProvider>[0]> = {}) =>
    new DynamoKeyProvider({
      client: DynamoDBDocumentClient.from(new DynamoDBClient({})),
      tableName: 'products',
      attribute: 'name',
      retry: noWait,
      ...options,
    });

  it('scans page by page, following LastEvaluatedKey, projecting the attribute through a placeholder', async () => {
    dynamo
      .on(ScanCommand)
      .resolvesOnce({ Items: [{ name: 'p:1' }, { name: 'p:2' }], LastEvaluatedKey: { id: '2' } })
      .resolvesOnce({ Items: [{ name: 'p:3' }] });

    expect(await readAll(create({ pageSize: 2 }))).toEqual(['p:1', 'p:2', 'p:3']);
    const inputs = dynamo.commandCalls(ScanCommand).map((call) => call.args[0].input);
    expect(inputs).toEqual([
      {
        TableName: 'products',
        Limit: 2,
        ProjectionExpression: '#cacheWarmerKey',
        ExpressionAttributeNames: { '#cacheWarmerKey': 'name' },
      },
      {
        TableName: 'products',
        Limit: 2,
        ExclusiveStartKey: { id: '2' },
        ProjectionExpression: '#cacheWarmerKey',
        ExpressionAttributeNames: { '#cacheWarmerKey': 'name' },
      },
    ]);
  });

  it('queries an index with the user expression, merging attribute names', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [{ name: 'p:9' }] });

    const provider = create({
      indexName: 'byTenant',
      query: {
        keyConditionExpression: '#t = :t',
        expressionAttributeValues: { ':t': 'acme' },
        expressionAttributeNames: { '#t': 'tenant' },
      },
    });

    expect(await readAll(provider)).toEqual(['p:9']);
    expect(dynamo.commandCalls(QueryCommand)[0]?.args[0].input).toEqual({
      TableName: 'products',
      IndexName: 'byTenant',
      KeyConditionExpression: '#t = :t',
      ExpressionAttributeValues: { ':t': 'acme' },
      ExpressionAttributeNames: { '#t': 'tenant', '#cacheWarmerKey': 'name' },
      ProjectionExpression: '#cacheWarmerKey',
    });
    expect(dynamo.commandCalls(ScanCommand)).toHaveLength(0);
  });

  it('retries a throttled Scan page and goes on from where it was', async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', ...metadata(400) });
    dynamo
      .on(ScanCommand)
      .resolvesOnce({ Items: [{ name: 'p:1' }], LastEvaluatedKey: { id: '1' } })
      .rejectsOnce(throttled)
      .rejectsOnce(throttled)
      .resolvesOnce({ Items: [{ name: 'p:2' }] });

    expect(await readAll(create())).toEqual(['p:1', 'p:2']);
    const startKeys = dynamo.commandCalls(ScanCommand).map((call) => call.args[0].input.ExclusiveStartKey);
    expect(startKeys).toEqual([undefined, { id: '1' }, { id: '1' }, { id: '1' }]);
  });

  it('gives up on throttling after the retries, naming the table', async () => {
    dynamo
      .on(ScanCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', ...metadata(400) }));

    await expect(readAll(create())).rejects.toThrow(
      'DynamoDB table products: Scan failed: ProvisionedThroughputExceededException: slow down',
    );
    expect(dynamo.commandCalls(ScanCommand)).toHaveLength(noWait.maxRetries + 1);
  });

  it('does not retry a missing table', async () => {
    dynamo
      .on(ScanCommand)
      .rejects(new ResourceNotFoundException({ message: 'Requested resource not found', ...metadata(400) }));

    await expect(readAll(create({ indexName: 'byTenant' }))).rejects.toThrow(
      'DynamoDB table products (index byTenant): Scan failed: ResourceNotFoundException: Requested resource not found',
    );
    expect(dynamo.commandCalls(ScanCommand)).toHaveLength(1);
  });

  it('scans its segments in parallel, each page by page, all of them reported as one read', async () => {
    for (const segment of [0, 1, 2]) {
      dynamo
        .on(ScanCommand, { Segment: segment })
        .resolvesOnce({ Items: [{ name: `s${segment}:1` }, {}], LastEvaluatedKey: { id: `${segment}` } })
        .resolvesOnce({ Items: [{ name: `s${segment}:2` }] });
    }
    const reports: SkippedItemsReport[] = [];

    const keys = await readAll(create({ segments: 3, onSkippedItems: (report) => reports.push(report) }));

    expect((keys as string[]).sort()).toEqual(['s0:1', 's0:2', 's1:1', 's1:2', 's2:1', 's2:2']);
    const inputs = dynamo.commandCalls(ScanCommand).map((call) => call.args[0].input);
    expect(inputs).toHaveLength(6);
    expect(inputs.every((input) => input.TotalSegments === 3)).toBe(true);
    expect(inputs.filter((input) => input.Segment === 1).map((input) => input.ExclusiveStartKey)).toEqual([
      undefined,
      { id: '1' },
    ]);
    expect(reports).toEqual([{ source: 'DynamoDB table products', missing: 3, notString: 0 }]);
  });

  it('names the segment whose Scan failed', async () => {
    dynamo.on(ScanCommand).resolves({ Items: [{ name: 'p:1' }] });
    dynamo
      .on(ScanCommand, { Segment: 1 })
      .rejects(new ResourceNotFoundException({ message: 'Requested resource not found', ...metadata(400) }));

    await expect(readAll(create({ segments: 2 }))).rejects.toThrow(
      'DynamoDB table products: Scan of segment 1 failed: ResourceNotFoundException: Requested resource not found',
    );
  });

  it.each([
    [{ segments: 0 }, 'DynamoDB table products: segments 0 must be a whole number from 1 to 1,000,000'],
    [
      { segments: 1_000_001 },
      'DynamoDB table products: segments 1000001 must be a whole number from 1 to 1,000,000',
    ],
    [{ segments: 2.5 }, 'DynamoDB table products: segments 2.5 must be a whole number from 1 to 1,000,000'],
    [
      { segments: 4, parallelReads: 101 },
      'DynamoDB table products: parallelReads 101 must be a whole number from 1 to 100',
    ],
    [
      {
        segments: 2,
        query: { keyConditionExpression: 'tenant = :t', expressionAttributeValues: { ':t': 'a' } },
      },
      'DynamoDB table products: segments split a Scan; a query reads one partition and takes none',
    ],
  ])('rejects %j', (options, message) => {
    expect(() => create(options)).toThrow(new KeySourceError(message));
  });

  it('refuses a parallel scan position naming a segment it does not have', () => {
    expect(() => create({ segments: 2 }).readKeys({ after: 1, reading: { '2': null } })).toThrow(
      'DynamoDB table products (parallel scan): cannot resume at {"after":1,"reading":{"2":null}}',
    );
  });

  it('skips and reports items without a string attribute', async () => {
    dynamo.on(ScanCommand).resolves({ Items: [{ name: 'p:1' }, {}, { name: 42 }, {}, { name: 'p:2' }] });
    const reports: SkippedItemsReport[] = [];

    expect(await readAll(create({ onSkippedItems: (report) => reports.push(report) }))).toEqual([
      'p:1',
      'p:2',
    ]);
    expect(reports).toEqual([{ source: 'DynamoDB table products', missing: 2, notString: 1 }]);
  });

  it('fails when no item has the attribute: the name is most likely wrong', async () => {
    dynamo.on(ScanCommand).resolves({ Items: [{}, {}, { name: 7 }] });

    await expect(readAll(create())).rejects.toThrow(
      'DynamoDB table products: none of the 3 items read has a string attribute "name" (2 without it, 1 not a string): is the attribute name right?',
    );
  });

  it('rejects a query that uses its reserved placeholder', () => {
    expect(() =>
      create({
        query: {
          keyConditionExpression: 'pk = :p',
          expressionAttributeValues: { ':p': 'x' },
          expressionAttributeNames: { '#cacheWarmerKey': 'pk' },
        },
      }),
    ).toThrow(KeySourceError);
  });
});

/** A Lambda response payload; the SDK's own type adds helpers the code under test does not use. */
const payload = (value: unknown) =>
  new TextEncoder().encode(
    typeof value === 'string' ? value : JSON.stringify(value),
  ) as InvokeCommandOutput['Payload'];
const invokedWith = () =>
  lambda.commandCalls(InvokeCommand).map((call) => {
    const { FunctionName, Payload } = call.args[0].input;
    return { FunctionName, payload: JSON.parse(new TextDecoder().decode(Payload as Uint8Array)) };
  });

describe('LambdaKeyProvider', () => {
  const create = (maxPages?: number) =>
    new LambdaKeyProvider({
      client: new LambdaClient({}),
      functionName: 'list-keys',
      maxPages,
      retry: noWait,
    });

  it('reads page after page with the cursor until there is no nextCursor', async () => {
    lambda
      .on(InvokeCommand)
      .resolvesOnce({
        StatusCode: 200,
        Payload: payload({ keys: ['a', { key: 'b', weight: 5 }], nextCursor: 't1' }),
      })
      .resolvesOnce({ StatusCode: 200, Payload: payload({ keys: ['c'], nextCursor: null }) });

    expect(await readAll(create())).toEqual(['a', { key: 'b', weight: 5 }, 'c']);
    expect(invokedWith()).toEqual([
      { FunctionName: 'list-keys', payload: {} },
      { FunctionName: 'list-keys', payload: { cursor: 't1' } },
    ]);
  });

  it('resumes inside a page: the same cursor again, the keys already read skipped', async () => {
    lambda
      .on(InvokeCommand)
      .resolvesOnce({ StatusCode: 200, Payload: payload({ keys: ['a', 'b'], nextCursor: 't1' }) })
      .resolvesOnce({ StatusCode: 200, Payload: payload({ keys: ['c', 'd'], nextCursor: 't2' }) })
      .resolvesOnce({ StatusCode: 200, Payload: payload({ keys: ['c', 'd'], nextCursor: 't2' }) })
      .resolvesOnce({ StatusCode: 200, Payload: payload({ keys: ['e'] }) });
    const first = create().readKeys();
    const head: KeyCandidate<string>[] = [];
    for await (const candidate of first) if (head.push(candidate) === 3) break;

    const rest: KeyCandidate<string>[] = [];
    for await (const candidate of create().readKeys(first.position())) rest.push(candidate);

    expect([...head, ...rest]).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(invokedWith().map(({ payload }) => payload)).toEqual([
      {},
      { cursor: 't1' },
      { cursor: 't1' },
      { cursor: 't2' },
    ]);
  });

  it("reports a function error with the function's own message", async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: payload({ errorType: 'TypeError', errorMessage: 'db is undefined', trace: [] }),
    });

    await expect(readAll(create())).rejects.toThrow(
      new KeySourceError('key source Lambda list-keys (page 1) failed: TypeError: db is undefined'),
    );
  });

  it('reports an error payload the function returned instead of throwing', async () => {
    lambda
      .on(InvokeCommand)
      .resolvesOnce({ StatusCode: 200, Payload: payload({ keys: ['a'], nextCursor: 't1' }) })
      .resolvesOnce({ StatusCode: 200, Payload: payload({ errorMessage: 'token expired' }) });

    await expect(readAll(create())).rejects.toThrow(
      'key source Lambda list-keys (page 2) failed: token expired',
    );
  });

  it.each([
    [{ items: ['a'] }, 'keys: Invalid input: expected array, received undefined'],
    [{ keys: ['a', 7] }, 'keys.1: expected a key (a string) or { "key": "…", "weight": n }'],
    [
      { keys: [{ key: 'a', weight: 'high' }] },
      'keys.0: expected a key (a string) or { "key": "…", "weight": n }',
    ],
    [{ keys: ['a'], nextCursor: 5 }, 'nextCursor: Invalid input'],
    ['not json', 'returned a payload that is not JSON: not json'],
    [[], 'expected object, received array'],
  ])('rejects a malformed response %j', async (response, problem) => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(response) });

    const error = await readAll(create()).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(KeySourceError);
    expect((error as Error).message).toContain('key source Lambda list-keys (page 1)');
    expect((error as Error).message).toContain(problem);
  });

  it('stops a function that hands back the cursor it was given', async () => {
    lambda
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, Payload: payload({ keys: ['a'], nextCursor: 'same' }) });

    await expect(readAll(create())).rejects.toThrow(
      'key source Lambda list-keys (page 2) returned the cursor it was given ("same") as nextCursor, which would never end',
    );
  });

  it('stops after maxPages pages', async () => {
    let page = 0;
    lambda.on(InvokeCommand).callsFake(() => ({
      StatusCode: 200,
      Payload: payload({ keys: [`k${page}`], nextCursor: `t${++page}` }),
    }));

    await expect(readAll(create(3))).rejects.toThrow('still returned a nextCursor after 3 pages');
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(3);
  });

  it('retries a throttled invoke', async () => {
    lambda
      .on(InvokeCommand)
      .rejectsOnce(new TooManyRequestsException({ message: 'Rate exceeded', ...metadata(429) }))
      .resolves({ StatusCode: 200, Payload: payload({ keys: ['a'] }) });

    expect(await readAll(create())).toEqual(['a']);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(2);
  });
});

describe('CombinedKeyProvider', () => {
  it("weights each key by its provider's weight, times its own", async () => {
    const combined = new CombinedKeyProvider([
      { provider: new StaticKeyProvider(['home', 'menu']), weight: 100 },
      { provider: new StaticKeyProvider([{ key: 'p:1', weight: 3 }, 'p:2']), weight: 2 },
      {
        provider: new CallableKeyProvider(async function* () {
          yield 'menu';
          yield 'p:3';
        }),
      },
    ]);

    expect(await readAll(combined)).toEqual([
      { key: 'home', weight: 100 },
      { key: 'menu', weight: 100 },
      { key: 'p:1', weight: 6 },
      { key: 'p:2', weight: 2 },
      { key: 'menu', weight: 1 },
      { key: 'p:3', weight: 1 },
    ]);
    expect(await collectWeightedKeys(await combined.getKeys())).toEqual([
      { key: 'home', weight: 100 },
      { key: 'menu', weight: 100 },
      { key: 'p:1', weight: 6 },
      { key: 'p:2', weight: 2 },
      { key: 'p:3', weight: 1 },
    ]);
  });

  it('reads the provider of highest weight first, and resumes inside a provider', async () => {
    const combined = new CombinedKeyProvider([
      { provider: new StaticKeyProvider(['low:1']), weight: 1 },
      { provider: new StaticKeyProvider(['high:1', 'high:2', 'high:3']), weight: 50 },
      { provider: new StaticKeyProvider(['mid:1']), weight: 5 },
    ]);
    const first = combined.readKeys();
    const head: KeyCandidate<string>[] = [];
    for await (const candidate of first) if (head.push(candidate) === 2) break;

    const rest: KeyCandidate<string>[] = [];
    for await (const candidate of combined.readKeys(first.position())) rest.push(candidate);

    expect([...head, ...rest].map((candidate) => (candidate as { key: string }).key)).toEqual([
      'high:1',
      'high:2',
      'high:3',
      'mid:1',
      'low:1',
    ]);
    expect(first.position()).toEqual({ after: 0, reading: { '0': 2 } });
  });

  /** A provider whose keys arrive `ticks` microtask turns apart: slower or faster than its neighbours. */
  const paced = (keys: string[], ticks: number) =>
    new CallableKeyProvider(async function* () {
      for (const key of keys) {
        for (let tick = 0; tick < ticks; tick++) await Promise.resolve();
        yield key;
      }
    });
  const keysOf = (candidates: KeyCandidate<string>[]) =>
    candidates.map((candidate) => (candidate as { key: string }).key);

  it('reads providers of equal weight at once, and a lighter one only after all of them', async () => {
    const combined = new CombinedKeyProvider([
      { provider: paced(['light:1'], 0), weight: 1 },
      { provider: paced(['slow:1', 'slow:2'], 30), weight: 5 },
      { provider: paced(['fast:1', 'fast:2'], 1), weight: 5 },
    ]);

    expect(keysOf(await readAll(combined))).toEqual(['fast:1', 'fast:2', 'slow:1', 'slow:2', 'light:1']);
  });

  it('resumes providers of equal weight each where it stood, every key once', async () => {
    const combined = new CombinedKeyProvider([
      { provider: new StaticKeyProvider(['a:1', 'a:2', 'a:3']) },
      { provider: new StaticKeyProvider(['b:1', 'b:2', 'b:3']) },
      { provider: new StaticKeyProvider(['c:1']), weight: 0.5 },
    ]);
    const first = combined.readKeys();
    const head: KeyCandidate<string>[] = [];
    for await (const candidate of first) if (head.push(candidate) === 3) break;
    const position = JSON.parse(JSON.stringify(first.position()));
    expect(position).toMatchObject({ after: 1 });

    const rest: KeyCandidate<string>[] = [];
    for await (const candidate of combined.readKeys(position)) rest.push(candidate);

    expect(keysOf([...head, ...rest]).sort()).toEqual(['a:1', 'a:2', 'a:3', 'b:1', 'b:2', 'b:3', 'c:1']);
    expect(keysOf(rest).at(-1)).toBe('c:1');
  });

  it('still resumes at a position of the earlier { provider, at } format', async () => {
    const combined = new CombinedKeyProvider([
      { provider: new StaticKeyProvider(['high:1', 'high:2']), weight: 2 },
      { provider: new StaticKeyProvider(['low:1', 'low:2']) },
    ]);
    const readFrom = async (position: SourcePosition) => {
      const keys: KeyCandidate<string>[] = [];
      for await (const candidate of combined.readKeys(position)) keys.push(candidate);
      return keysOf(keys);
    };

    expect(await readFrom({ provider: 0, at: 1 })).toEqual(['high:2', 'low:1', 'low:2']);
    expect(await readFrom({ provider: 1, at: null })).toEqual(['low:1', 'low:2']);
    expect(await readFrom({ provider: 2, at: null })).toEqual([]);
    expect(() => combined.readKeys({ provider: 3, at: null })).toThrow(
      'combined key source: cannot resume at {"provider":3,"at":null}: expected { "provider": n, "at": … }',
    );
  });

  it('rejects a weight that is negative or not finite', () => {
    expect(() => new CombinedKeyProvider([{ provider: new StaticKeyProvider(['a']), weight: -1 }])).toThrow(
      'key source 0: weight -1 must be a finite number ≥ 0',
    );
  });
});
