import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DynamoValueLoader,
  HttpValueLoader,
  LambdaValueLoader,
  loadModuleValueLoader,
  UnprocessedKeysError,
  ValueSourceError,
} from '../../functions/adapters/valueSources';
import { ConfigurationError } from '../../functions/core';

const dynamo = mockClient(DynamoDBDocumentClient);
const lambda = mockClient(LambdaClient);

beforeEach(() => {
  dynamo.reset();
  lambda.reset();
});

const signal = new AbortController().signal;
/** A Lambda response payload; the SDK's own type adds helpers the code under test does not use. */
const payload = (value: unknown) =>
  new TextEncoder().encode(
    typeof value === 'string' ? value : JSON.stringify(value),
  ) as InvokeCommandOutput['Payload'];

describe('LambdaValueLoader', () => {
  const loader = new LambdaValueLoader({ client: new LambdaClient({}), functionName: 'load-values' });

  it('invokes the function with the keys and keeps the values of the keys asked for', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: payload({ a: { price: 1 }, b: 'text', c: null, unasked: 1 }),
    });

    const values = await loader.loadMany(['a', 'b', 'c', 'd'], signal);

    expect(values).toEqual(
      new Map<string, unknown>([
        ['a', { price: 1 }],
        ['b', 'text'],
      ]),
    );
    const [call] = lambda.commandCalls(InvokeCommand);
    expect(call?.args[0].input.FunctionName).toBe('load-values');
    expect(JSON.parse(new TextDecoder().decode(call?.args[0].input.Payload as Uint8Array))).toEqual({
      keys: ['a', 'b', 'c', 'd'],
    });
    const [, options] = (call?.args ?? []) as unknown[];
    expect(options).toEqual({ abortSignal: signal });
  });

  it("fails the batch on a function error, with the function's message", async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: payload({ errorType: 'Error', errorMessage: 'origin down' }),
    });

    await expect(loader.loadMany(['a'], signal)).rejects.toThrow(
      new ValueSourceError('value source Lambda load-values failed: Error: origin down'),
    );
  });

  it('fails the batch on an error payload returned without FunctionError', async () => {
    lambda
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, Payload: payload({ errorMessage: 'no such table' }) });

    await expect(loader.loadMany(['a'], signal)).rejects.toThrow(
      'value source Lambda load-values failed: no such table',
    );
  });

  it.each([
    [['a'], 'returned an array, expected an object of key → value'],
    ['"a"', 'returned string, expected an object of key → value'],
    ['', 'returned null, expected an object of key → value'],
    ['{oops', 'returned a payload that is not JSON: {oops'],
  ])('rejects a malformed response %j', async (response, problem) => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(response) });

    await expect(loader.loadMany(['a'], signal)).rejects.toThrow(
      `value source Lambda load-values ${problem}`,
    );
  });

  it('names the function when the invoke itself fails', async () => {
    lambda.on(InvokeCommand).rejects(new Error('Function not found: load-values'));

    await expect(loader.loadMany(['a'], signal)).rejects.toThrow(
      'value source Lambda load-values: invoke failed: Function not found: load-values',
    );
  });
});

describe('DynamoValueLoader', () => {
  const noWait = { maxRetries: 2, baseDelayMs: 0, maxDelayMs: 0 };
  const create = (valueAttribute?: string) =>
    new DynamoValueLoader({
      client: DynamoDBDocumentClient.from(new DynamoDBClient({})),
      tableName: 'products',
      keyAttribute: 'id',
      valueAttribute,
      retry: noWait,
    });
  const requestedKeys = () =>
    dynamo
      .commandCalls(BatchGetCommand)
      .map((call) => (call.args[0].input.RequestItems?.products?.Keys ?? []).map((key) => key.id));

  it('asks for 100 distinct keys a call and returns whole items', async () => {
    dynamo
      .on(BatchGetCommand)
      .callsFake((input: { RequestItems: { products: { Keys: { id: string }[] } } }) => ({
        Responses: {
          products: input.RequestItems.products.Keys.map(({ id }) => ({ id, name: `name of ${id}` })),
        },
      }));
    const keys = Array.from({ length: 250 }, (_, index) => `p:${index}`);

    const values = await create().loadMany([...keys, 'p:0', 'p:1'], signal);

    expect(requestedKeys().map((chunk) => chunk.length)).toEqual([100, 100, 50]);
    expect(values.size).toBe(250);
    expect(values.get('p:42')).toEqual({ id: 'p:42', name: 'name of p:42' });
  });

  it('projects one attribute through placeholders and leaves out items without it', async () => {
    dynamo.on(BatchGetCommand).resolves({
      Responses: { products: [{ id: 'a', data: { v: 1 } }, { id: 'b' }] },
    });

    const values = await create('data').loadMany(['a', 'b', 'c'], signal);

    expect(values).toEqual(new Map([['a', { v: 1 }]]));
    expect(dynamo.commandCalls(BatchGetCommand)[0]?.args[0].input.RequestItems?.products).toEqual({
      Keys: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
      ProjectionExpression: '#key, #value',
      ExpressionAttributeNames: { '#key': 'id', '#value': 'data' },
    });
  });

  it('retries UnprocessedKeys until DynamoDB has processed them all', async () => {
    dynamo
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { products: [{ id: 'a' }] },
        UnprocessedKeys: { products: { Keys: [{ id: 'b' }, { id: 'c' }] } },
      })
      .resolvesOnce({
        Responses: { products: [{ id: 'b' }] },
        UnprocessedKeys: { products: { Keys: [{ id: 'c' }] } },
      })
      .resolvesOnce({ Responses: { products: [{ id: 'c' }] } });

    const values = await create().loadMany(['a', 'b', 'c'], signal);

    expect([...values.keys()]).toEqual(['a', 'b', 'c']);
    expect(requestedKeys()).toEqual([['a', 'b', 'c'], ['b', 'c'], ['c']]);
  });

  it('fails the batch, saying how many keys, when UnprocessedKeys never clear', async () => {
    dynamo.on(BatchGetCommand).callsFake((input: { RequestItems: { products: { Keys: unknown[] } } }) => ({
      Responses: { products: [] },
      UnprocessedKeys: { products: { Keys: input.RequestItems.products.Keys } },
    }));

    const error = await create()
      .loadMany(['a', 'b', 'c'], signal)
      .catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(UnprocessedKeysError);
    expect((error as Error).message).toBe(
      'DynamoDB table products left 3 of 3 keys unprocessed after 2 retries',
    );
    expect(dynamo.commandCalls(BatchGetCommand)).toHaveLength(noWait.maxRetries + 1);
  });

  it('names the table when BatchGetItem fails', async () => {
    dynamo.on(BatchGetCommand).rejects(
      new ResourceNotFoundException({
        message: 'Requested resource not found',
        $metadata: { httpStatusCode: 400 },
      }),
    );

    await expect(create().loadMany(['a'], signal)).rejects.toThrow(
      'DynamoDB table products: BatchGetItem failed: Requested resource not found',
    );
    expect(dynamo.commandCalls(BatchGetCommand)).toHaveLength(1);
  });
});

describe('HttpValueLoader', () => {
  it('needs a {key} placeholder in its template', () => {
    expect(() => new HttpValueLoader({ urlTemplate: 'https://api.example.com/items' })).toThrow(
      ConfigurationError,
    );
  });
});

describe('loadModuleValueLoader', () => {
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'value-module-'));
    await writeFile(
      join(directory, 'object.mjs'),
      'export const loadValues = async (keys) => Object.fromEntries(keys.filter((k) => k !== "none").map((k) => [k, k.toUpperCase()]));\n',
    );
    await writeFile(
      join(directory, 'map.mjs'),
      'export async function loadValues(keys) { return new Map(keys.map((k) => [k, { key: k }])); }\n',
    );
    await writeFile(
      join(directory, 'wrong.mjs'),
      'export const load = () => ({});\nexport const other = 1;\n',
    );
    await writeFile(join(directory, 'array.mjs'), 'export const loadValues = async (keys) => keys;\n');
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('wraps a module whose loadValues returns an object', async () => {
    const loader = await loadModuleValueLoader(join(directory, 'object.mjs'));

    expect(loader.kind).toBe('batch');
    expect(await loader.loadMany(['a', 'none'], signal)).toEqual(new Map([['a', 'A']]));
  });

  it('wraps a module whose loadValues returns a Map', async () => {
    const loader = await loadModuleValueLoader(join(directory, 'map.mjs'));

    expect(await loader.loadMany(['a'], signal)).toEqual(new Map([['a', { key: 'a' }]]));
  });

  it('rejects a module without loadValues, listing what it exports', async () => {
    const path = join(directory, 'wrong.mjs');

    await expect(loadModuleValueLoader(path)).rejects.toThrow(
      new ConfigurationError(
        `value module ${path}`,
        'does not export a loadValues(keys) function (it exports load, other)',
      ),
    );
  });

  it.each([
    'data:text/javascript,export const loadValues = async () => ({ a: "injected" });',
    'file:///etc/passwd',
    'node:fs',
    'some-package',
  ])('imports no URL or package, only a file path: %s', async (path) => {
    await expect(loadModuleValueLoader(path)).rejects.toThrow(
      'must be the path of a file (./…, ../… or absolute), not a URL or a package name',
    );
  });

  it('rejects a module that cannot be imported', async () => {
    const error = await loadModuleValueLoader(join(directory, 'missing.mjs')).catch(
      (thrown: unknown) => thrown,
    );

    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('missing.mjs: cannot be imported');
  });

  it('fails a batch whose loadValues returns something else than values', async () => {
    const loader = await loadModuleValueLoader(join(directory, 'array.mjs'));

    await expect(loader.loadMany(['a'], signal)).rejects.toThrow(
      /loadValues of .*array\.mjs returned an array, expected an object of key → value/,
    );
  });
});
