import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchWriteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
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

  it('returns the item as plain JSON data: sets as arrays, binary as base64', async () => {
    await client.send(
      new PutCommand({
        TableName: 'documents',
        Item: {
          key: 'typed',
          tags: new Set(['red']),
          sizes: new Set([42]),
          nested: { blob: Uint8Array.of(1, 2, 3), list: [new Set(['x'])] },
        },
      }),
    );
    const loader = new DynamoValueLoader({ client, tableName: 'documents', keyAttribute: 'key' });

    const value = (await loader.loadMany(['typed'], signal)).get('typed');

    expect(value).toEqual({
      key: 'typed',
      tags: ['red'],
      sizes: [42],
      nested: { blob: 'AQID', list: [['x']] },
    });
    expect(JSON.parse(JSON.stringify(value))).toEqual(value);
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
  /** The raw request targets the origin received, as sent on the wire. */
  const targets: string[] = [];
  /** Another origin on the loopback address: no request of the loaders may ever reach it. */
  let elsewhere: Server;
  let elsewhereOrigin: string;
  const elsewhereRequests: IncomingMessage['headers'][] = [];
  /** Bytes the streaming endpoint wrote before the client hung up, and whether it hung up. */
  const stream = { written: 0, closed: false };

  /** Exactly as a cache-aside application's origin serves it: spacing, key order and number forms kept. */
  const documentOf = (key: string) => `{ "key": ${JSON.stringify(key)},  "price": 1.50, "a": [ ] }\n`;

  const respond = (response: ServerResponse, status: number, body: string, contentType: string): void => {
    response.writeHead(status, { 'content-type': contentType });
    response.end(body);
  };

  const readBody = async (request: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  const streamForever = (request: IncomingMessage, response: ServerResponse): void => {
    const chunk = Buffer.alloc(65_536, 0x61);
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    request.socket.once('close', () => {
      stream.closed = true;
    });
    const write = (): void => {
      // 100 MB at most, so a loader that never stops still ends the test.
      while (!stream.closed && stream.written < 100 * 1_048_576) {
        stream.written += chunk.length;
        if (!response.write(chunk)) {
          response.once('drain', write);
          return;
        }
      }
      response.end();
    };
    write();
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    targets.push(request.url ?? '');
    // The raw path, as a router that decodes each segment sees it (URL would resolve `%2E%2E`).
    const url = { pathname: (request.url ?? '/').split('?')[0] ?? '/' };
    if (url.pathname === '/redirect/same') {
      response.writeHead(302, { location: '/items/moved' }).end();
      return;
    }
    if (url.pathname === '/redirect/loop') {
      response.writeHead(307, { location: '/redirect/loop' }).end();
      return;
    }
    if (url.pathname === '/redirect/elsewhere') {
      response.writeHead(302, { location: `${elsewhereOrigin}/steal?token=SECRET-IN-LOCATION` }).end();
      return;
    }
    if (url.pathname === '/huge/declared') {
      response.writeHead(200, { 'content-length': String(100 * 1_048_576) });
      response.write(Buffer.alloc(1_024));
      return;
    }
    if (url.pathname === '/huge/streamed') return streamForever(request, response);
    if (request.method === 'GET' && url.pathname.startsWith('/items/')) {
      const key = decodeURIComponent(url.pathname.slice('/items/'.length));
      if (key === 'missing') return respond(response, 404, 'not found', 'text/plain');
      if (key === 'broken') return respond(response, 500, 'database unavailable', 'text/plain');
      if (key === 'echo') {
        return respond(
          response,
          500,
          `bad request ${request.url} with key ${String(request.headers['x-api-key'])}`,
          'text/plain',
        );
      }
      if (key === 'plain') return respond(response, 200, 'just text', 'text/plain; charset=utf-8');
      if (key === 'slow') {
        request.socket.on('close', () => abortedRequests++);
        return;
      }
      return respond(response, 200, documentOf(key), 'application/json; charset=utf-8');
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
    elsewhere = createServer((request, response) => {
      elsewhereRequests.push(request.headers);
      response.writeHead(200).end('stolen');
    });
    elsewhereOrigin = await listen(elsewhere);
  });

  afterAll(async () => {
    server?.closeAllConnections();
    elsewhere?.closeAllConnections();
    await Promise.all([close(server), close(elsewhere)]);
  });

  describe('HttpValueLoader', () => {
    const headers = { authorization: 'Bearer t', 'x-api-key': 'KEY-1234' };
    const loader = (path = '/items/{key}', options: { maxBodyBytes?: number } = {}) =>
      new HttpValueLoader({ urlTemplate: `${origin}${path}`, headers, ...options });

    it('returns the body byte for byte, as a Buffer, with the key URL-encoded into the template', async () => {
      const value = await loader().loadOne('user 1/ä?x=y', signal);

      expect(value).toBeInstanceOf(Buffer);
      expect(value?.toString('utf8')).toBe(documentOf('user 1/ä?x=y'));
      expect(targets.at(-1)).toBe('/items/user%201%2F%C3%A4%3Fx%3Dy');
    });

    it('returns a body that is not JSON as its bytes too', async () => {
      expect(await loader().loadOne('plain', signal)).toEqual(Buffer.from('just text'));
    });

    it.each([
      ['.', '/items/%2E'],
      ['..', '/items/%2E%2E'],
    ])('sends the key %j as one encoded segment, never a dot-segment', async (key, target) => {
      const value = await loader().loadOne(key, signal);

      expect(targets.at(-1)).toBe(target);
      expect(value?.toString('utf8')).toBe(documentOf(key));
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

    it('follows a redirect within the origin', async () => {
      const value = await loader('/redirect/{key}').loadOne('same', signal);

      expect(value?.toString('utf8')).toBe(documentOf('moved'));
    });

    it('never follows a redirect to another origin, nor sends it the headers', async () => {
      const error = await loader('/redirect/{key}')
        .loadOne('elsewhere', signal)
        .catch((thrown: unknown) => thrown);

      expect(error).toBeInstanceOf(ValueSourceError);
      expect((error as Error).message).toBe(
        `GET ${origin}/redirect/elsewhere was redirected (302) to another origin, ${elsewhereOrigin}/steal?…; redirects are followed within ${origin} only`,
      );
      expect(elsewhereRequests).toEqual([]);
    });

    it('gives up after 5 redirects', async () => {
      await expect(loader('/redirect/{key}').loadOne('loop', signal)).rejects.toThrow(
        `GET ${origin}/redirect/loop was redirected more than 5 times`,
      );
    });

    it('fails the key on a declared body over maxBodyBytes without reading it', async () => {
      await expect(
        loader('/huge/{key}', { maxBodyBytes: 1_048_576 }).loadOne('declared', signal),
      ).rejects.toThrow(
        `GET ${origin}/huge/declared answered a body over 1048576 bytes (maxBodyBytes); it was not read further`,
      );
    });

    it('stops reading a streamed body at maxBodyBytes and fails the key', async () => {
      await expect(
        loader('/huge/{key}', { maxBodyBytes: 1_048_576 }).loadOne('streamed', signal),
      ).rejects.toThrow(
        `GET ${origin}/huge/streamed answered a body over 1048576 bytes (maxBodyBytes); it was not read further`,
      );
      await expect.poll(() => stream.closed).toBe(true);
      expect(stream.written).toBeLessThan(100 * 1_048_576);
    });

    it('keeps the query string, credentials and header secrets out of every reason', async () => {
      const secretQuery = new HttpValueLoader({
        urlTemplate: `${origin}/items/{key}?api_key=SECRET-QUERY`,
        headers,
      });
      const echoed = await secretQuery.loadOne('echo', signal).catch((thrown: unknown) => thrown);
      const closed = createServer();
      const closedOrigin = await listen(closed);
      await close(closed);
      const unreachable = await new HttpValueLoader({
        urlTemplate: `${closedOrigin}/items/{key}?api_key=SECRET-QUERY`,
      })
        .loadOne('a', signal)
        .catch((thrown: unknown) => thrown);

      expect((echoed as Error).message).toBe(
        `GET ${origin}/items/echo?… answered 500 Internal Server Error: bad request /items/echo?api_key=… with key …`,
      );
      expect((unreachable as Error).message).toMatch(
        new RegExp(`^GET ${closedOrigin}/items/a\\?… failed: .*ECONNREFUSED`),
      );
      expect(() => new HttpValueLoader({ urlTemplate: 'https://user:SECRET@api.example.com/{key}' })).toThrow(
        'urlTemplate: https://api.example.com/%7Bkey%7D carries credentials; send them in a header, its value read from a secret',
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

    it('posts the keys and returns the parsed values of the keys the origin knows', async () => {
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
