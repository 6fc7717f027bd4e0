import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createKeyProvider,
  createValueLoader,
  KEY_SOURCES_VARIABLE,
  parseKeySources,
  parseValueSource,
  type SourceClients,
  VALUE_SOURCE_VARIABLE,
} from '../../functions/adapters/sourceConfig';
import {
  DynamoValueLoader,
  HttpBatchValueLoader,
  HttpValueLoader,
  LambdaValueLoader,
} from '../../functions/adapters/valueSources';
import { AccessTracker, ConfigurationError, collectWeightedKeys } from '../../functions/core';

const keySources = (value: unknown) => ({
  [KEY_SOURCES_VARIABLE]: typeof value === 'string' ? value : JSON.stringify(value),
});
const valueSource = (value: unknown) => ({
  [VALUE_SOURCE_VARIABLE]: typeof value === 'string' ? value : JSON.stringify(value),
});

afterEach(() => {
  vi.unstubAllEnvs();
});

const configurationError = (run: () => unknown): ConfigurationError => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
};

describe('parseKeySources', () => {
  it('parses every kind of key source', () => {
    const sources = [
      { type: 'static', keys: ['home', 'menu'], weight: 100 },
      { type: 's3', bucket: 'b', key: 'keys.txt' },
      { type: 's3', bucket: 'b', prefix: 'daily/', parallelReads: 16 },
      { type: 'dynamodb', tableName: 'catalog', attribute: 'cacheKey', segments: 64, parallelReads: 8 },
      {
        type: 'dynamodb',
        tableName: 'products',
        attribute: 'cacheKey',
        indexName: 'byTenant',
        query: {
          keyConditionExpression: '#t = :t',
          expressionAttributeValues: { ':t': 'acme' },
          expressionAttributeNames: { '#t': 'tenant' },
        },
        weight: 2.5,
      },
      { type: 'lambda', functionName: 'list-keys' },
      { type: 'adaptive', threshold: 10, limit: 500, recentSeconds: 600, weight: 0 },
    ];

    expect(parseKeySources(keySources(sources))).toEqual(sources);
  });

  it('gives an adaptive source the defaults of AccessTracker.getHotKeys', () => {
    expect(parseKeySources(keySources([{ type: 'adaptive' }]))).toEqual([
      { type: 'adaptive', threshold: 5, limit: 100 },
    ]);
  });

  it('means no sources when the variable is unset or blank', () => {
    expect(parseKeySources({})).toEqual([]);
    expect(parseKeySources(keySources('  '))).toEqual([]);
  });

  it('names the variable when the value is not JSON', () => {
    const error = configurationError(() => parseKeySources(keySources('[{"type": "s3",]')));

    expect(error.setting).toBe(KEY_SOURCES_VARIABLE);
    expect(error.message).toMatch(
      /^CODOMYRMEX_WARMING_KEY_SOURCES: is not valid JSON \(.+\); expected e\.g\. \[/,
    );
  });

  it.each([
    [{ type: 's3' }, 'not an array', 'Invalid input: expected array, received object'],
    [[], 'empty', 'list at least one key source'],
    [
      [{ type: 's3', bucket: 'b' }],
      'neither key nor prefix',
      '0: set exactly one of key (one object) or prefix (every object under it)',
    ],
    [
      [{ type: 's3', bucket: 'b', key: 'k', prefix: 'p/' }],
      'both key and prefix',
      '0: set exactly one of key (one object) or prefix (every object under it)',
    ],
    [
      [{ type: 's3', bucket: 'b', key: 'k', parallelReads: 4 }],
      'parallel reads of one object',
      '0: parallelReads applies to a prefix (several objects), not to one key',
    ],
    [
      [{ type: 's3', bucket: 'b', prefix: 'p/', parallelReads: 101 }],
      'too many parallel reads',
      '0.parallelReads: Too big',
    ],
    [
      [{ type: 'dynamodb', tableName: 't', attribute: 'a', segments: 0 }],
      'no segment',
      '0.segments: Too small',
    ],
    [
      [{ type: 'dynamodb', tableName: 't', attribute: 'a', segments: 1_000_001 }],
      'more segments than DynamoDB allows',
      '0.segments: Too big',
    ],
    [
      [
        {
          type: 'dynamodb',
          tableName: 't',
          attribute: 'a',
          segments: 4,
          query: { keyConditionExpression: 'k = :k', expressionAttributeValues: { ':k': 1 } },
        },
      ],
      'segments with a query',
      '0.segments: segments split a Scan; a query reads one partition and takes none',
    ],
    [[{ type: 's3', bucket: '', key: 'k' }], 'an empty field', '0.bucket: must not be empty'],
    [
      [
        { type: 'static', keys: ['a'] },
        { type: 'dynamodb', tableName: 't', attribute: 'a', query: {} },
      ],
      'a nested missing field',
      '1.query.keyConditionExpression: Invalid input',
    ],
    [
      [{ type: 'static', keys: ['a', 3] }],
      'a key of the wrong type',
      '0.keys.1: Invalid input: expected string',
    ],
    [[{ type: 'lambda', functionName: 'f', weight: -1 }], 'a negative weight', '0.weight: Too small'],
    [[{ type: 'adaptive', limit: 1.5 }], 'a fractional limit', '0.limit: Invalid input: expected int'],
    [
      [{ type: 'redis', url: 'x' }],
      'an unknown type',
      '0.type: type must be one of static, s3, dynamodb, lambda, adaptive',
    ],
  ])('rejects %j (%s), naming the variable and the path', (value, _case, problem) => {
    const error = configurationError(() => parseKeySources(keySources(value)));

    expect(error.setting).toBe(KEY_SOURCES_VARIABLE);
    expect(error.message).toContain(`${KEY_SOURCES_VARIABLE}: ${problem}`);
  });

  it('rejects an unknown field, naming it', () => {
    const error = configurationError(() =>
      parseKeySources(
        keySources([
          { type: 'static', keys: ['a'] },
          { type: 's3', bucket: 'b', key: 'k', buckt: 'c' },
        ]),
      ),
    );

    expect(error.message).toBe(`${KEY_SOURCES_VARIABLE}: 1: Unrecognized key: "buckt"`);
  });
});

describe('parseValueSource', () => {
  it.each([
    { type: 'lambda', functionName: 'load-values' },
    { type: 'http', urlTemplate: 'https://api.example.com/items/{key}' },
    {
      type: 'http',
      batchUrl: 'https://api.example.com/items:batchGet',
      headers: { authorization: 'Bearer t' },
    },
    { type: 'dynamodb', tableName: 'documents', keyAttribute: 'key', valueAttribute: 'data' },
    { type: 'module', path: './loaders/products.mjs' },
    {
      type: 'http',
      urlTemplate: 'https://api.example.com/items/{key}',
      headers: {
        accept: 'application/json',
        authorization: {
          secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:origin/token-AbCdEf',
          jsonField: 'token',
          prefix: 'Bearer ',
        },
      },
      maxBodyBytes: 1_048_576,
    },
  ])('parses %j', (source) => {
    expect(parseValueSource(valueSource(source))).toEqual(source);
  });

  it('requires the variable', () => {
    expect(() => parseValueSource({})).toThrow(
      `${VALUE_SOURCE_VARIABLE}: is not set; expected e.g. { "type": "lambda", "functionName": "load-values" }`,
    );
  });

  it.each([
    ['{"type":"lambda"', 'is not valid JSON'],
    [{ type: 'lambda' }, 'functionName: Invalid input: expected string, received undefined'],
    [{ type: 'lambda', functionName: 'f', timeout: 3 }, 'Unrecognized key: "timeout"'],
    [
      { type: 'http', urlTemplate: 'https://api.example.com/items' },
      'urlTemplate: must contain the {key} placeholder',
    ],
    [{ type: 'http', batchUrl: 'ftp://example.com' }, 'batchUrl: must be an http:// or https:// URL'],
    [{ type: 'http' }, 'set exactly one of urlTemplate (GET per key) or batchUrl (POST per batch)'],
    [
      { type: 'http', urlTemplate: 'https://a/{key}', batchUrl: 'https://a/batch' },
      'set exactly one of urlTemplate',
    ],
    [{ type: 'memcached' }, 'type: type must be one of lambda, http, dynamodb, module'],
    [
      {
        type: 'http',
        urlTemplate: 'https://a/{key}',
        headers: { 'x-api-key': { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:key' } },
      },
      'headers.x-api-key',
    ],
    [{ type: 'http', urlTemplate: 'https://a/{key}', maxBodyBytes: 0 }, 'maxBodyBytes: Too small'],
    ...[
      'data:text/javascript,export const loadValues=()=>({})',
      'https://evil.example/m.mjs',
      'some-package',
    ].map((path): [unknown, string] => [
      { type: 'module', path },
      'path: must be the path of a file (./…, ../… or absolute), not a URL or a package name',
    ]),
    [['lambda'], 'Invalid input: expected object, received array'],
  ])('rejects %j, naming the variable and the path', (value, problem) => {
    const error = configurationError(() => parseValueSource(valueSource(value)));

    expect(error.setting).toBe(VALUE_SOURCE_VARIABLE);
    expect(error.message).toContain(`${VALUE_SOURCE_VARIABLE}: ${problem}`);
  });
});

describe('createKeyProvider', () => {
  const s3 = mockClient(S3Client);
  const dynamo = mockClient(DynamoDBDocumentClient);
  const lambda = mockClient(LambdaClient);
  const clients: SourceClients = {
    s3: new S3Client({}),
    dynamodb: DynamoDBDocumentClient.from(new DynamoDBClient({})),
    lambda: new LambdaClient({}),
  };

  beforeEach(() => {
    s3.reset();
    dynamo.reset();
    lambda.reset();
  });

  it('combines the configured sources, each with its weight', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: Readable.from([Buffer.from('s3:1\nshared\n')]) as unknown as GetObjectCommandOutput['Body'],
    });
    dynamo.on(ScanCommand).resolves({ Items: [{ cacheKey: 'db:1' }] });
    lambda.on(InvokeCommand).resolves({
      Payload: new TextEncoder().encode(
        JSON.stringify({ keys: [{ key: 'fn:1', weight: 4 }] }),
      ) as InvokeCommandOutput['Payload'],
    });
    const sources = parseKeySources(
      keySources([
        { type: 'static', keys: ['home', 'shared'], weight: 10 },
        { type: 's3', bucket: 'b', key: 'keys.txt', weight: 20 },
        { type: 'dynamodb', tableName: 'products', attribute: 'cacheKey' },
        { type: 'lambda', functionName: 'list-keys', weight: 3 },
      ]),
    );

    const provider = createKeyProvider(sources, clients, { adaptive: undefined });

    expect(await collectWeightedKeys(await provider.getKeys())).toEqual([
      // Sources are read heaviest first; a key listed twice keeps its highest weight.
      { key: 's3:1', weight: 20 },
      { key: 'shared', weight: 20 },
      { key: 'fn:1', weight: 12 },
      { key: 'home', weight: 10 },
      { key: 'db:1', weight: 1 },
    ]);
  });

  it('reads a prefix source object by object and a parallel scan segment by segment', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'daily/1.txt' }, { Key: 'daily/2.txt' }] });
    s3.on(GetObjectCommand, { Key: 'daily/1.txt' }).resolves({
      Body: Readable.from([Buffer.from('s3:1\n')]) as unknown as GetObjectCommandOutput['Body'],
    });
    s3.on(GetObjectCommand, { Key: 'daily/2.txt' }).resolves({
      Body: Readable.from([Buffer.from('s3:2\n')]) as unknown as GetObjectCommandOutput['Body'],
    });
    dynamo.on(ScanCommand, { Segment: 0 }).resolves({ Items: [{ cacheKey: 'db:0' }] });
    dynamo.on(ScanCommand, { Segment: 1 }).resolves({ Items: [{ cacheKey: 'db:1' }] });
    const sources = parseKeySources(
      keySources([
        { type: 's3', bucket: 'b', prefix: 'daily/', parallelReads: 2 },
        { type: 'dynamodb', tableName: 'products', attribute: 'cacheKey', segments: 2 },
      ]),
    );

    const provider = createKeyProvider(sources, clients, { adaptive: undefined });

    const keys = (await collectWeightedKeys(await provider.getKeys())).map(({ key }) => key);
    expect(keys.sort()).toEqual(['db:0', 'db:1', 's3:1', 's3:2']);
    expect(dynamo.commandCalls(ScanCommand).map((call) => call.args[0].input.TotalSegments)).toEqual([2, 2]);
  });

  it('creates the S3 and Lambda clients its sources need when none is given, once for all of them', () => {
    const sources = parseKeySources(
      keySources([
        { type: 's3', bucket: 'b', key: 'k' },
        { type: 's3', bucket: 'b', key: 'other' },
        { type: 'lambda', functionName: 'list-keys' },
      ]),
    );
    const given: SourceClients = {};

    createKeyProvider(sources, given, { adaptive: undefined });

    expect(given.s3).toBeInstanceOf(S3Client);
    expect(given.lambda).toBeInstanceOf(LambdaClient);
  });

  it('says to redeploy when a source needs a client its bundle was built without', () => {
    const sources = parseKeySources(keySources([{ type: 's3', bucket: 'b', key: 'k' }]));
    vi.stubEnv('CODOMYRMEX_BUNDLE_S3', 'omitted');

    const error = configurationError(() => createKeyProvider(sources, {}, { adaptive: undefined }));

    expect(error.setting).toBe(KEY_SOURCES_VARIABLE);
    expect(error.message).toMatch(/0 \(s3\) needs the S3 client, which this function was deployed without/);
    expect(error.message).toMatch(
      /configure it in the ServerlessCacheWarmer construct's props and deploy again/,
    );
  });

  it('reads hot keys from the injected tracker, weighted by count times the source weight', async () => {
    const tracker = new AccessTracker<string>();
    tracker.recordAccess('hot', 8);
    tracker.recordAccess('warm', 3);
    tracker.recordAccess('cold', 1);
    const sources = parseKeySources(
      keySources([
        { type: 'static', keys: ['home'], weight: 100 },
        { type: 'adaptive', threshold: 3, weight: 10 },
      ]),
    );

    const provider = createKeyProvider(sources, {}, { adaptive: tracker });

    expect(await collectWeightedKeys(await provider.getKeys())).toEqual([
      { key: 'home', weight: 100 },
      { key: 'hot', weight: 80 },
      { key: 'warm', weight: 30 },
    ]);
  });

  it('needs the tracker for an adaptive source', () => {
    const sources = parseKeySources(keySources([{ type: 'adaptive' }]));

    expect(() => createKeyProvider(sources, clients, { adaptive: undefined })).toThrow(
      'an adaptive source needs the access tracker table, and this deployment has none',
    );
  });
});

describe('createValueLoader', () => {
  const clients: SourceClients = {
    dynamodb: DynamoDBDocumentClient.from(new DynamoDBClient({})),
    lambda: new LambdaClient({}),
  };
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'value-source-'));
    await writeFile(
      join(directory, 'values.mjs'),
      'export const loadValues = async (keys) => ({ [keys[0]]: 1 });\n',
    );
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('builds the loader of each kind of value source', async () => {
    const create = (source: unknown) => createValueLoader(parseValueSource(valueSource(source)), clients);

    expect(await create({ type: 'lambda', functionName: 'f' })).toBeInstanceOf(LambdaValueLoader);
    expect(await create({ type: 'http', urlTemplate: 'https://a/{key}' })).toBeInstanceOf(HttpValueLoader);
    expect(await create({ type: 'http', batchUrl: 'https://a/batch' })).toBeInstanceOf(HttpBatchValueLoader);
    expect(await create({ type: 'dynamodb', tableName: 't', keyAttribute: 'k' })).toBeInstanceOf(
      DynamoValueLoader,
    );
    const module = await create({ type: 'module', path: join(directory, 'values.mjs') });
    expect(module.kind).toBe('batch');
  });

  it('reads the headers of an HTTP source from their secret, before the first request', async () => {
    const secrets = mockClient(SecretsManagerClient);
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:origin-AbCdEf';
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'KEY-1234' });
    const requests: Record<string, string | string[] | undefined>[] = [];
    const origin = createServer((request, response) => {
      requests.push(request.headers);
      response.end('value');
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const { port } = origin.address() as AddressInfo;

    try {
      const loader = await createValueLoader(
        parseValueSource(
          valueSource({
            type: 'http',
            urlTemplate: `http://127.0.0.1:${port}/items/{key}`,
            headers: { 'x-api-key': { secretArn } },
          }),
        ),
        { secretsManager: new SecretsManagerClient({}) },
      );
      expect(secrets.calls()).toHaveLength(0);
      const single = loader as HttpValueLoader;
      await single.loadOne('a', new AbortController().signal);
      await single.loadOne('b', new AbortController().signal);
    } finally {
      origin.closeAllConnections();
      await new Promise((resolve) => origin.close(resolve));
      secrets.restore();
    }

    expect(requests.map((headers) => headers['x-api-key'])).toEqual(['KEY-1234', 'KEY-1234']);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('says to redeploy when the source needs a client its bundle was built without', async () => {
    vi.stubEnv('CODOMYRMEX_BUNDLE_LAMBDA', 'omitted');

    await expect(createValueLoader({ type: 'lambda', functionName: 'f' }, {})).rejects.toThrow(
      /^CODOMYRMEX_WARMING_VALUE_SOURCE: lambda needs the Lambda client, which this function was deployed without/,
    );
  });
});
