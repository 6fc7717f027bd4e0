import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoValueLoader,
  HttpBatchValueLoader,
  HttpValueLoader,
  ValueSourceError,
} from '../../functions/adapters/valueSources';
import { TimeoutError, withTimeout } from '../../functions/core';
import { type LocalDynamo, startLocalDynamo } from '../support/dynalite';

const signal = new AbortController().signal;

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

const close = (server: Server | undefined): Promise<unknown> =>
  new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));

describe('DynamoValueLoader against dynalite', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBDocumentClient;
  let batchGets = 0;
  const itemCount = 230;

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    dynamo.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'BatchGetItemCommand') batchGets++;
        return next(args);
      },
      { step: 'initialize' },
    );
    client = dynamo.documentClient;
    await dynamo.createTable({
      TableName: 'documents',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
    });
    // `key` and `data` are reserved words: the loader must name them through placeholders.
    const items = Array.from({ length: itemCount }, (_, index) => ({
      key: `doc:${index}`,
      data: { title: `Document ${index}`, tags: ['a', 'b'] },
      ...(index === 7 ? {} : { summary: `summary ${index}` }),
    }));
    for (let start = 0; start < items.length; start += 25) {
      await client.send(
        new BatchWriteCommand({
          RequestItems: {
            documents: items.slice(start, start + 25).map((item) => ({ PutRequest: { Item: item } })),
          },
        }),
      );
    }
  });

  afterAll(async () => {
    await dynamo?.close();
  });

  const allKeys = Array.from({ length: itemCount }, (_, index) => `doc:${index}`);

  it('loads more than 100 keys, 100 a call, the whole item as the value; missing keys have none', async () => {
    batchGets = 0;
    const loader = new DynamoValueLoader({ client, tableName: 'documents', keyAttribute: 'key' });

    const values = await loader.loadMany([...allKeys, 'doc:missing', 'doc:0'], signal);

    expect(batchGets).toBe(3);
    expect(values.size).toBe(itemCount);
    expect(values.has('doc:missing')).toBe(false);
    expect(values.get('doc:12')).toEqual({
      key: 'doc:12',
      data: { title: 'Document 12', tags: ['a', 'b'] },
      summary: 'summary 12',
    });
  });

  it('loads one attribute (a reserved word) as the value; items without it have none', async () => {
    const data = new DynamoValueLoader({
      client,
      tableName: 'documents',
      keyAttribute: 'key',
      valueAttribute: 'data',
    });
    const summary = new DynamoValueLoader({
      client,
      tableName: 'documents',
      keyAttribute: 'key',
      valueAttribute: 'summary',
    });

    expect((await data.loadMany(allKeys, signal)).get('doc:3')).toEqual({
      title: 'Document 3',
      tags: ['a', 'b'],
    });
    const summaries = await summary.loadMany(['doc:6', 'doc:7'], signal);
    expect(summaries).toEqual(new Map([['doc:6', 'summary 6']]));
  });

  it('names the table when it does not exist', async () => {
    const loader = new DynamoValueLoader({ client, tableName: 'nope', keyAttribute: 'key' });

    await expect(loader.loadMany(['a'], signal)).rejects.toThrow(
      /^DynamoDB table nope: BatchGetItem failed: .*not found/i,
    );
  });
});

describe('HTTP value loaders against a node:http origin', () => {
  let server: Server;
  let origin: string;
  let abortedRequests = 0;

  const respond = (response: ServerResponse, status: number, body: string, contentType: string): void => {
    response.writeHead(status, { 'content-type': contentType });
    response.end(body);
  };

  const readBody = async (request: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://origin');
    if (request.method === 'GET' && url.pathname.startsWith('/items/')) {
      const key = decodeURIComponent(url.pathname.slice('/items/'.length));
      if (key === 'missing') return respond(response, 404, 'not found', 'text/plain');
      if (key === 'broken') return respond(response, 500, 'database unavailable', 'text/plain');
      if (key === 'plain') return respond(response, 200, 'just text', 'text/plain; charset=utf-8');
      if (key === 'bad-json') return respond(response, 200, '{"truncated": ', 'application/problem+json');
      if (key === 'slow') {
        request.socket.on('close', () => abortedRequests++);
        return;
      }
      return respond(
        response,
        200,
        JSON.stringify({ key, auth: request.headers.authorization }),
        'application/json; charset=utf-8',
      );
    }
    if (request.method === 'POST' && url.pathname === '/batch') {
      const { keys } = JSON.parse(await readBody(request)) as { keys: string[] };
      if (keys.includes('broken')) return respond(response, 503, 'try later', 'text/plain');
      if (keys.includes('html')) return respond(response, 200, '<html></html>', 'text/html');
      const values = Object.fromEntries(
        keys.filter((key) => key !== 'missing').map((key) => [key, { upper: key.toUpperCase() }]),
      );
      return respond(response, 200, JSON.stringify(values), 'application/json');
    }
    respond(response, 400, 'unexpected request', 'text/plain');
  };

  beforeAll(async () => {
    server = createServer((request, response) => {
      void handle(request, response);
    });
    origin = await listen(server);
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await close(server);
  });

  describe('HttpValueLoader', () => {
    const loader = () =>
      new HttpValueLoader({ urlTemplate: `${origin}/items/{key}`, headers: { authorization: 'Bearer t' } });

    it('parses a JSON body, with the key URL-encoded into the template', async () => {
      expect(await loader().loadOne('user 1/ä?x=y', signal)).toEqual({
        key: 'user 1/ä?x=y',
        auth: 'Bearer t',
      });
    });

    it('keeps a body that is not JSON as text', async () => {
      expect(await loader().loadOne('plain', signal)).toBe('just text');
    });

    it('fails on a JSON content type whose body is not JSON', async () => {
      await expect(loader().loadOne('bad-json', signal)).rejects.toThrow(
        `GET ${origin}/items/bad-json answered a body that is not JSON: {"truncated": `,
      );
    });

    it('treats 404 as no value', async () => {
      expect(await loader().loadOne('missing', signal)).toBeUndefined();
    });

    it('fails on another status, naming it', async () => {
      await expect(loader().loadOne('broken', signal)).rejects.toThrow(
        new ValueSourceError(
          `GET ${origin}/items/broken answered 500 Internal Server Error: database unavailable`,
        ),
      );
    });

    it('names the request when the origin cannot be reached', async () => {
      const closed = createServer();
      const closedOrigin = await listen(closed);
      await close(closed);
      const unreachable = new HttpValueLoader({ urlTemplate: `${closedOrigin}/items/{key}` });

      await expect(unreachable.loadOne('a', signal)).rejects.toThrow(
        new RegExp(`^GET ${closedOrigin}/items/a failed: .*ECONNREFUSED`),
      );
    });

    it('aborts the request when the attempt times out', async () => {
      await expect(
        withTimeout((attempt) => loader().loadOne('slow', attempt), 200, 'load slow'),
      ).rejects.toThrow(TimeoutError);
      await expect.poll(() => abortedRequests).toBe(1);
    });
  });

  describe('HttpBatchValueLoader', () => {
    const loader = () => new HttpBatchValueLoader({ url: `${origin}/batch` });

    it('posts the keys and returns the values of the keys the origin knows', async () => {
      expect(await loader().loadMany(['a', 'missing', 'b'], signal)).toEqual(
        new Map([
          ['a', { upper: 'A' }],
          ['b', { upper: 'B' }],
        ]),
      );
    });

    it('fails the batch on a status outside 2xx', async () => {
      await expect(loader().loadMany(['a', 'broken'], signal)).rejects.toThrow(
        `POST ${origin}/batch answered 503 Service Unavailable: try later`,
      );
    });

    it('fails the batch on a body that is not JSON', async () => {
      await expect(loader().loadMany(['html'], signal)).rejects.toThrow(
        `POST ${origin}/batch answered a body that is not JSON: <html></html>`,
      );
    });
  });
});
