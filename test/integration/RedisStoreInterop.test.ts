import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { decode as decodeMessagePack } from '@msgpack/msgpack';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { createClient, RESP_TYPES } from 'redis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisStore, type RedisStoreOptions } from '../../functions/adapters/RedisStore';
import { CacheWarmer, CallableValueLoader, StaticKeyProvider } from '../../functions/core';
import { type LocalRedis, startRedisServer } from '../support/redisServer';

const execFileAsync = promisify(execFile);

/** What origins serve: whitespace, number forms and key order an application's parser sees as is. */
const ORIGIN_BODIES: Record<string, Buffer> = {
  'product:1': Buffer.from('{"id":1,"price":1.50,"name":"Café ☕"}'),
  'product:2': Buffer.from('{\n  "z": 1e3,\n  "a": [1, 2.0, {"nested": null}]\n}\n'),
  'product:3': Buffer.from('plain text, not JSON'),
  'image:1': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe]),
};

/** What a DynamoDB source hands the store: plain unmarshalled items. */
const ITEMS: Record<string, Record<string, unknown>> = {
  'item:{1}': { id: 1, name: 'Ada', tags: ['a', 'b'], price: 9.5, active: true, parent: null },
  'item: 2 ✓': { id: 2, name: 'Grace', nested: { deep: { n: [1, 2, 3] } } },
};

let redis: LocalRedis;
let origin: Server;
let originUrl: string;
let ioredis: Redis;
let nodeRedis: Awaited<ReturnType<typeof connectNodeRedis>>;
const stores: RedisStore[] = [];

const connectNodeRedis = (url: string) => createClient({ url }).connect();

const openStore = (options: Partial<RedisStoreOptions<unknown>> = {}): RedisStore => {
  const store = new RedisStore({ url: redis.url, ttlSeconds: 600, ...options });
  stores.push(store);
  return store;
};

/** `redis-cli <args>` as an operator runs it: raw output (stdout is no terminal), one reply per line. */
const redisCli = async (...args: string[]): Promise<Buffer> => {
  const { stdout } = await execFileAsync('redis-cli', ['-p', String(redis.port), ...args], {
    encoding: 'buffer',
  });
  return stdout.subarray(0, stdout.length - 1);
};

/** Warms `values` through a CacheWarmer into `store`, as a run does. */
const warm = async (store: RedisStore, values: Record<string, unknown>): Promise<void> => {
  const warmer = new CacheWarmer(
    store,
    new StaticKeyProvider(Object.keys(values)),
    new CallableValueLoader(async (key: string) => values[key]),
  );
  const stats = await warmer.warm();
  expect(stats.failures).toEqual(new Map());
  expect(stats.keysWarmed).toBe(Object.keys(values).length);
};

/** Each origin body as the HTTP value source loads it: the response body's bytes. */
const loadFromOrigin = async (): Promise<Record<string, Buffer>> => {
  const loaded: Record<string, Buffer> = {};
  for (const key of Object.keys(ORIGIN_BODIES)) {
    const response = await fetch(`${originUrl}/${encodeURIComponent(key)}`);
    loaded[key] = Buffer.from(await response.arrayBuffer());
  }
  return loaded;
};

beforeAll(async () => {
  redis = await startRedisServer();
  ioredis = new Redis(redis.url);
  nodeRedis = await connectNodeRedis(redis.url);
  origin = createServer((request, response) => {
    const body = ORIGIN_BODIES[decodeURIComponent(request.url?.slice(1) ?? '')];
    if (body) response.writeHead(200).end(body);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  ioredis?.disconnect();
  await nodeRedis?.close();
  origin?.close();
  await redis?.stop();
});

beforeEach(async () => {
  await ioredis.flushall();
});

describe('what an application reads back', () => {
  it('json: the HTTP origin’s bytes, byte for byte, with every client', async () => {
    await warm(openStore(), await loadFromOrigin());
    const binary = nodeRedis.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    for (const [key, body] of Object.entries(ORIGIN_BODIES)) {
      expect(await ioredis.getBuffer(key)).toEqual(body);
      expect(await binary.get(key)).toEqual(body);
      expect(await redisCli('GET', key)).toEqual(body);
    }
    expect(await ioredis.get('product:1')).toBe(ORIGIN_BODIES['product:1']?.toString());
    expect(await nodeRedis.get('product:2')).toBe(ORIGIN_BODIES['product:2']?.toString());
  });

  it('json: a DynamoDB item as plain JSON, which JSON.parse gives back deep-equal', async () => {
    await warm(openStore(), ITEMS);
    for (const [key, item] of Object.entries(ITEMS)) {
      expect(JSON.parse((await ioredis.get(key)) ?? '')).toEqual(item);
      expect(JSON.parse((await nodeRedis.get(key)) ?? '')).toEqual(item);
      expect(JSON.parse((await redisCli('GET', key)).toString())).toEqual(item);
      expect(await ioredis.get(key)).toBe(JSON.stringify(item));
    }
  });

  it('msgpack: what a MessagePack decoder reads is the item', async () => {
    const store = openStore({ encoding: 'msgpack' });
    await warm(store, { ...ITEMS, 'image:1': ORIGIN_BODIES['image:1'] });
    for (const [key, item] of Object.entries(ITEMS)) {
      expect(decodeMessagePack((await ioredis.getBuffer(key)) as Buffer)).toEqual(item);
      expect(await store.get(key)).toEqual(item);
    }
    const image = decodeMessagePack((await ioredis.getBuffer('image:1')) as Buffer) as Uint8Array;
    expect(Buffer.from(image)).toEqual(ORIGIN_BODIES['image:1']);
  });

  it.each([
    ['gzip', gunzipSync],
    ['brotli', brotliDecompressSync],
  ] as const)('%s: decompressed, the origin’s bytes and the item’s JSON', async (compression, decompress) => {
    const store = openStore({ compression });
    const bodies = await loadFromOrigin();
    await warm(store, { ...bodies, ...ITEMS });
    for (const [key, body] of Object.entries(ORIGIN_BODIES)) {
      expect(decompress((await ioredis.getBuffer(key)) as Buffer)).toEqual(body);
      expect(decompress(await redisCli('GET', key))).toEqual(body);
    }
    for (const [key, item] of Object.entries(ITEMS)) {
      expect(decompress((await ioredis.getBuffer(key)) as Buffer).toString()).toBe(JSON.stringify(item));
      expect(await store.get(key)).toEqual(item);
    }
  });

  it('hash: HGETALL and HGET give each field, nested values as JSON text, with the TTL', async () => {
    const store = openStore({ valueType: 'hash' });
    await warm(store, ITEMS);
    const ada = ITEMS['item:{1}'] as Record<string, unknown>;
    expect(await ioredis.hgetall('item:{1}')).toEqual({
      id: '1',
      name: 'Ada',
      tags: '["a","b"]',
      price: '9.5',
      active: 'true',
      parent: 'null',
    });
    expect(await nodeRedis.hGet('item:{1}', 'name')).toBe('Ada');
    expect((await redisCli('HGETALL', 'item: 2 ✓')).toString().split('\n')).toEqual([
      'id',
      '2',
      'name',
      'Grace',
      'nested',
      '{"deep":{"n":[1,2,3]}}',
    ]);
    expect(await ioredis.pttl('item:{1}')).toBeGreaterThan(500_000);
    expect(await store.get('item:{1}')).toEqual(ada);

    await store.set('item:{1}', { id: 1, name: 'Ada L.' });
    expect(await ioredis.hgetall('item:{1}')).toEqual({ id: '1', name: 'Ada L.' });
  });

  it('hash: a value that is no object fails its key with the reason, never its neighbours', async () => {
    const results = await openStore({ valueType: 'hash' }).setMany([
      { key: 'a', value: 'text' },
      { key: 'b', value: {} },
      { key: 'c', value: { ok: true } },
    ]);
    expect(results[0]).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/hash needs an object/),
    });
    expect(results[1]).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/at least one field/),
    });
    expect(results[2]).toEqual({ key: 'c', status: 'written' });
  });

  it('an encoder of one’s own: what its encode returns, decode reading it back', async () => {
    const store = openStore({
      encoding: {
        encode: (key, value) => `${key}|${JSON.stringify(value)}`,
        decode: (key, bytes) => JSON.parse(bytes.toString().slice(key.length + 1)),
      },
    });
    await warm(store, ITEMS);
    const [key, item] = Object.entries(ITEMS)[0] as [string, unknown];
    expect(await ioredis.get(key)).toBe(`${key}|${JSON.stringify(item)}`);
    expect(await store.get(key)).toEqual(item);
  });

  it('a value the encoding cannot express fails its key with the reason, never the batch', async () => {
    const results = await openStore().setMany([
      { key: 'big', value: 10n },
      { key: 'fine', value: { n: 1 } },
      { key: 'nothing', value: undefined },
    ]);
    expect(results[0]).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/cannot encode the value/),
    });
    expect(results[1]).toEqual({ key: 'fine', status: 'written' });
    expect(results[2]).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/cannot be encoded as JSON/),
    });
  });

  it('names the setting of an encoding, compression or value type it does not know', () => {
    expect(() => openStore({ encoding: 'protobuf' as 'json' })).toThrow(/^encoding: /);
    expect(() => openStore({ compression: 'lz4' as 'gzip' })).toThrow(/^compression: /);
    expect(() => openStore({ valueType: 'list' as 'hash' })).toThrow(/^valueType: /);
    expect(() => openStore({ valueType: 'hash', encoding: 'msgpack' })).toThrow(/^valueType: /);
  });
});

describe('property: any value under any key reads back as the application wrote it', () => {
  /** Keys an application may use: braces (hash tags), spaces, colons and text beyond ASCII. */
  const keys = fc.string({
    unit: fc.constantFrom('{', '}', ' ', ':', 'a', 'Z', '0', 'é', '✓', '日', '😀'),
    minLength: 1,
  });

  it('json values and binary values, under a template with a prefix', async () => {
    const store = openStore({ keyTemplate: 'app:v3:{key}' });
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(keys, fc.oneof(fc.jsonValue(), fc.uint8Array())), {
          selector: ([key]) => key,
          minLength: 1,
          maxLength: 8,
        }),
        async (entries) => {
          const results = await store.setMany(entries.map(([key, value]) => ({ key, value })));
          expect(results.every((result) => result.status === 'written')).toBe(true);
          for (const [key, value] of entries) {
            const stored = (await ioredis.getBuffer(`app:v3:${key}`)) as Buffer;
            if (value instanceof Uint8Array) {
              expect(stored).toEqual(Buffer.from(value));
            } else if (typeof value === 'string') {
              expect(stored.toString('utf8')).toBe(value);
            } else {
              expect(stored.toString('utf8')).toBe(JSON.stringify(value));
              expect(JSON.parse(stored.toString('utf8'))).toEqual(JSON.parse(JSON.stringify(value)));
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
