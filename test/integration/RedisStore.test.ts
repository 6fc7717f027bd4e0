import { createServer, type Server } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../functions/adapters/RedisStore';
import { RedisUnavailableError } from '../../functions/adapters/RedisUnavailableError';
import { ConfigurationError } from '../../functions/core';
import { freePort, type LocalRedis, startRedisServer } from '../support/redisServer';

let redis: LocalRedis;
let raw: Redis;
let store: RedisStore;

beforeAll(async () => {
  redis = await startRedisServer();
  raw = new Redis(redis.url);
  store = new RedisStore({ url: redis.url, keyPrefix: 'test:' });
});

afterAll(async () => {
  await store?.close();
  raw?.disconnect();
  await redis?.stop();
});

describe('RedisStore', () => {
  it('stores each value as cache-aside code would and reads it back', async () => {
    const values: Record<string, unknown> = {
      object: { name: 'Ada', tags: ['a', 'b'], nested: { n: 1 } },
      array: [1, 'two', { three: 3 }],
      string: 'héllo wörld',
      emptyString: '',
      buffer: Buffer.from([0, 1, 2, 255]),
      number: 42.5,
      zero: 0,
      boolean: false,
      null: null,
    };
    const results = await store.setMany(Object.entries(values).map(([key, value]) => ({ key, value })));
    expect(results.map((result) => result.status)).toEqual(Object.keys(values).map(() => 'written'));
    for (const [key, value] of Object.entries(values)) {
      expect(await store.get(key)).toEqual(value);
    }
    expect(Buffer.isBuffer(await store.get('buffer'))).toBe(true);
    expect(await raw.get('test:string')).toBe('héllo wörld');
    expect(await raw.get('test:object')).toBe(JSON.stringify(values.object));
    expect(await raw.getBuffer('test:buffer')).toEqual(values.buffer);
    expect(await raw.get('test:null')).toBe('null');
    expect(await store.get('missing')).toBeUndefined();
  });

  it('sets the TTL of each key, spread within the jitter band', async () => {
    const jittered = new RedisStore({
      url: redis.url,
      keyPrefix: 'ttl:',
      ttlSeconds: 100,
      ttlJitterRatio: 0.2,
    });
    try {
      const keys = Array.from({ length: 200 }, (_, index) => `k${index}`);
      await jittered.setMany(keys.map((key) => ({ key, value: key })));
      const ttls = [...(await jittered.remainingTtl(keys)).values()] as number[];
      for (const ttl of ttls) {
        expect(ttl).toBeGreaterThan(79_000);
        expect(ttl).toBeLessThanOrEqual(100_000);
      }
      expect(Math.max(...ttls) - Math.min(...ttls)).toBeGreaterThan(10_000);
      await jittered.setMany([{ key: 'own', value: 1, ttlSeconds: 5 }]);
      expect((await jittered.remainingTtl(['own'])).get('own')).toBeLessThanOrEqual(5_000);
      await jittered.setMany([{ key: 'options', value: 1 }], { ttlSeconds: 7 });
      const options = (await jittered.remainingTtl(['options'])).get('options') as number;
      expect(options).toBeGreaterThan(5_000);
      expect(options).toBeLessThanOrEqual(7_000);
    } finally {
      await jittered.close();
    }
  });

  it('reports remaining TTLs: undefined when missing, Infinity without expiry', async () => {
    await store.set('forever', 'x');
    await store.set('brief', 'x', { ttlSeconds: 30 });
    const ttls = await store.remainingTtl(['forever', 'brief', 'absent']);
    expect(ttls.get('forever')).toBe(Number.POSITIVE_INFINITY);
    expect(ttls.get('brief')).toBeGreaterThan(25_000);
    expect(ttls.get('absent')).toBeUndefined();
    expect(ttls.has('absent')).toBe(true);
  });

  it('overwrites a large batch with each key’s own TTL, or none', async () => {
    const keys = Array.from({ length: 100 }, (_, index) => `bulk:${index}`);
    await store.setMany(keys.map((key) => ({ key, value: 'old', ttlSeconds: 30 })));
    const results = await store.setMany(
      keys.map((key, index) => ({ key, value: { index }, ttlSeconds: index % 2 === 0 ? 60 : 0, version: 3 })),
    );
    expect(results.every((result) => result.status === 'written')).toBe(true);
    expect(await store.get('bulk:41')).toEqual({ index: 41 });
    const ttls = await store.remainingTtl(keys);
    keys.forEach((key, index) => {
      const ttl = ttls.get(key) as number;
      if (index % 2 === 0) expect(ttl).toBeGreaterThan(30_000);
      else expect(ttl).toBe(Number.POSITIVE_INFINITY);
    });
    const older = await store.set('bulk:2', 'older', { mode: 'ifNewer', version: 2 });
    expect(older.status).toBe('skipped');
  });

  it('rejects every key of a batch the server refuses, saying why', async () => {
    await raw.config('SET', 'maxmemory', '1');
    try {
      const keys = Array.from({ length: 100 }, (_, index) => `refused:${index}`);
      const results = await store.setMany(keys.map((key) => ({ key, value: key, ttlSeconds: 60 })));
      for (const result of results) {
        expect(result).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/OOM/) });
      }
    } finally {
      await raw.config('SET', 'maxmemory', '0');
    }
    expect(await store.get('refused:0')).toBeUndefined();
  });

  it('writes only missing keys with ifAbsent', async () => {
    await store.set('present', 'old');
    const results = await store.setMany(
      [
        { key: 'present', value: 'new' },
        { key: 'absent-1', value: 'new' },
      ],
      { mode: 'ifAbsent', ttlSeconds: 60 },
    );
    expect(results).toEqual([
      { key: 'present', status: 'skipped', reason: 'already cached' },
      { key: 'absent-1', status: 'written' },
    ]);
    expect(await store.get('present')).toBe('old');
    expect(await store.get('absent-1')).toBe('new');
  });

  it('never replaces a newer version with ifNewer, whatever the order', async () => {
    for (const order of [
      [5, 6],
      [6, 5],
    ]) {
      const key = `versioned-${order.join('-')}`;
      for (const version of order) {
        await store.set(key, { version }, { mode: 'ifNewer', version });
      }
      expect(await store.get(key)).toEqual({ version: 6 });
    }
    const skipped = await store.set('versioned-5-6', { version: 6 }, { mode: 'ifNewer', version: 6 });
    expect(skipped).toMatchObject({ status: 'skipped', reason: 'cached version 6 is not older than 6' });
    const unversioned = await store.set('versioned-5-6', 'plain', { mode: 'ifNewer' });
    expect(unversioned.status).toBe('skipped');
    await store.set('plain', 'unversioned');
    expect((await store.set('plain', 'v1', { mode: 'ifNewer', version: 1 })).status).toBe('written');
    expect(await store.get('plain')).toBe('v1');
  });

  it('keeps the version beside the value, expiring with it, where the application never reads', async () => {
    await store.set('beside', { id: 1, name: 'v4' }, { mode: 'ifNewer', version: 4, ttlSeconds: 60 });
    expect(await raw.get('test:beside')).toBe('{"id":1,"name":"v4"}');
    const [versionKey] = await raw.keys('__cache-warmers:version:*test:beside');
    expect(await raw.get(versionKey as string)).toBe('4');
    const [valueTtl, versionTtl] = await Promise.all([
      raw.pttl('test:beside'),
      raw.pttl(versionKey as string),
    ]);
    expect(versionTtl).toBeGreaterThan(50_000);
    expect(Math.abs(valueTtl - versionTtl)).toBeLessThan(1_000);
    await raw.del('test:beside');
    expect((await store.set('beside', 'v3', { mode: 'ifNewer', version: 3 })).status).toBe('written');
    expect(await store.delete('beside')).toBe(true);
    expect(await raw.exists(versionKey as string)).toBe(0);
  });

  it('keeps the highest version under concurrent ifNewer writers', async () => {
    const writers = [store, new RedisStore({ url: redis.url, keyPrefix: 'test:' })];
    try {
      for (let round = 0; round < 20; round++) {
        const key = `race-${round}`;
        const versions = round % 2 === 0 ? [5, 6] : [6, 5];
        await Promise.all(
          versions.map((version, index) =>
            (writers[index] as RedisStore).setMany(
              [
                { key, value: version, version },
                { key: `${key}-neighbour`, value: version, version },
              ],
              { mode: 'ifNewer', ttlSeconds: 60 },
            ),
          ),
        );
        expect(await store.get(key)).toBe(6);
        expect(await store.get(`${key}-neighbour`)).toBe(6);
      }
    } finally {
      await writers[1]?.close();
    }
  });

  it('rejects an oversize or unserializable value alone and writes its neighbours', async () => {
    const small = new RedisStore({ url: redis.url, keyPrefix: 'small:', maxValueBytes: 100 });
    try {
      const results = await small.setMany([
        { key: 'a', value: 'fits' },
        { key: 'big', value: 'x'.repeat(200) },
        { key: 'fn', value: () => 1 },
        { key: 'b', value: { fits: true } },
      ]);
      expect(results[0]).toEqual({ key: 'a', status: 'written' });
      expect(results[1]).toMatchObject({ key: 'big', status: 'rejected' });
      expect((results[1] as { reason: string }).reason).toMatch(/over maxValueBytes \(100\)/);
      expect(results[2]).toMatchObject({ key: 'fn', status: 'rejected' });
      expect(results[3]).toEqual({ key: 'b', status: 'written' });
      expect(await small.get('big')).toBeUndefined();
      expect(await small.get('b')).toEqual({ fits: true });
    } finally {
      await small.close();
    }
  });

  it('deletes keys', async () => {
    await store.set('doomed', 1);
    expect(await store.delete('doomed')).toBe(true);
    expect(await store.delete('doomed')).toBe(false);
    expect(await store.get('doomed')).toBeUndefined();
  });

  it('leases keys to one owner at a time', async () => {
    const first = await store.acquireLeases(['l1', 'l2'], 'alice', 10_000);
    expect(first).toEqual(new Set(['l1', 'l2']));
    expect(await store.acquireLeases(['l1', 'l2', 'l3'], 'bob', 10_000)).toEqual(new Set(['l3']));
    expect(await store.acquireLeases(['l1'], 'alice', 10_000)).toEqual(new Set(['l1']));
    await store.releaseLeases(['l1', 'l2', 'l3'], 'alice');
    expect(await store.acquireLeases(['l1', 'l3'], 'carol', 10_000)).toEqual(new Set(['l1']));
    const [leaseKey] = await raw.keys('__cache-warmers:lease:*test:l3');
    expect(await raw.pttl(leaseKey as string)).toBeGreaterThan(0);
  });

  it('fails within the connect timeout when nothing answers', async () => {
    const port = await freePort();
    const dead = new RedisStore({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 500 });
    const startedAt = Date.now();
    await expect(dead.setMany([{ key: 'k', value: 1 }])).rejects.toBeInstanceOf(RedisUnavailableError);
    expect(Date.now() - startedAt).toBeLessThan(500 + 1_000);
    await dead.close();
  });

  it('fails within the connect timeout when the endpoint accepts but never answers', async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const dead = new RedisStore({ host: '127.0.0.1', port, connectTimeoutMs: 500, commandTimeoutMs: 500 });
    const startedAt = Date.now();
    await expect(dead.get('k')).rejects.toBeInstanceOf(RedisUnavailableError);
    expect(Date.now() - startedAt).toBeLessThan(500 + 1_000);
    await dead.close();
    silent.close();
  });

  it('names the option that is wrong', () => {
    expect(() => new RedisStore({ url: 'http://x' })).toThrow(ConfigurationError);
    expect(() => new RedisStore({})).toThrow(/url/);
    expect(() => new RedisStore({ url: redis.url, ttlJitterRatio: 2 })).toThrow(/ttlJitterRatio/);
    expect(() => new RedisStore({ url: redis.url, ttlSeconds: -1 })).toThrow(/ttlSeconds/);
    expect(() => new RedisStore({ url: redis.url, maxValueBytes: 0 })).toThrow(/maxValueBytes/);
  });
});
