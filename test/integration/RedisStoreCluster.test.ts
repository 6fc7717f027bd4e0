import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../functions/adapters/RedisStore';
import { calculateSlot, HASH_SLOTS } from '../../functions/adapters/redisSlots';
import { type LocalRedisCluster, startRedisCluster } from '../support/redisServer';

let cluster: LocalRedisCluster;
let store: RedisStore<string>;

beforeAll(async () => {
  cluster = await startRedisCluster();
  const [seed] = cluster.nodes;
  // 10,000 script calls in flight at once: a loaded machine can take longer than the default 2 s for the last.
  store = new RedisStore<string>({
    host: seed?.host,
    port: seed?.port,
    cluster: true,
    ttlSeconds: 300,
    commandTimeoutMs: 15_000,
  });
});

afterAll(async () => {
  await store?.close();
  await cluster?.stop();
});

describe('RedisStore in cluster mode', () => {
  const keys = Array.from({ length: 10_000 }, (_, index) => `item:${index}`);

  it('writes 10,000 keys spread over the slots of every node without CROSSSLOT', async () => {
    expect(new Set(keys.map((key) => calculateSlot(key))).size).toBeGreaterThan(HASH_SLOTS / 3);
    for (const mode of ['overwrite', 'ifAbsent', 'ifNewer'] as const) {
      const results = await store.setMany(
        keys.map((key) => ({ key, value: `${mode}:${key}`, version: 1 })),
        { mode },
      );
      const expected = mode === 'ifAbsent' ? 'skipped' : mode === 'ifNewer' ? 'skipped' : 'written';
      expect(results.filter((result) => result.status !== expected)).toEqual([]);
    }
    const values = await Promise.all(keys.map((key) => store.get(key)));
    expect(values).toEqual(keys.map((key) => `overwrite:${key}`));
    const ttls = await store.remainingTtl(keys);
    expect([...ttls.values()].every((ttl) => ttl !== undefined && ttl > 0 && ttl <= 300_000)).toBe(true);
  });

  it('spreads the keys over all three nodes', async () => {
    const nodes = cluster.nodes.map((node) => new Redis(node));
    try {
      // Each node's warmed keys; the versions written beside them are in the store's own key space.
      const sizes = await Promise.all(nodes.map(async (node) => (await node.keys('item:*')).length));
      expect(sizes.every((size) => size > 2_000)).toBe(true);
      expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(keys.length);
    } finally {
      for (const node of nodes) node.disconnect();
    }
  });

  it('updates versions and leases across slots', async () => {
    const results = await store.setMany(
      keys.slice(0, 1_000).map((key) => ({ key, value: `v2:${key}`, version: 2 })),
      { mode: 'ifNewer' },
    );
    expect(results.every((result) => result.status === 'written')).toBe(true);
    expect(await store.get('item:7')).toBe('v2:item:7');
    const leased = await store.acquireLeases(keys.slice(0, 500), 'owner-a', 10_000);
    expect(leased.size).toBe(500);
    expect((await store.acquireLeases(keys.slice(0, 500), 'owner-b', 10_000)).size).toBe(0);
    await store.releaseLeases(keys.slice(0, 500), 'owner-a');
    expect((await store.acquireLeases(keys.slice(0, 500), 'owner-b', 10_000)).size).toBe(500);
  });

  it('keeps each version beside its value, in its slot, and a hash-tagged template in one slot', async () => {
    const tagged = new RedisStore<string>({
      host: cluster.nodes[0]?.host,
      port: cluster.nodes[0]?.port,
      cluster: true,
      keyTemplate: 'app:{tenant-1}:{key}',
      ttlSeconds: 300,
    });
    try {
      const tenantKeys = keys.slice(0, 300);
      for (const version of [6, 5]) {
        const results = await tagged.setMany(
          tenantKeys.map((key) => ({ key, value: `v${version}`, version })),
          { mode: 'ifNewer' },
        );
        const expected = version === 6 ? 'written' : 'skipped';
        expect(results.filter((result) => result.status !== expected)).toEqual([]);
      }
      expect(await tagged.get('item:1')).toBe('v6');
      const slot = calculateSlot('app:{tenant-1}:item:1');
      const owner = cluster.nodes.map((node) => new Redis(node));
      try {
        const found = (
          await Promise.all(owner.map((node) => node.keys('__cache-warmers:version:*app:{tenant-1}:item:1')))
        ).flat();
        expect(found).toHaveLength(1);
        expect(calculateSlot(found[0] as string)).toBe(slot);
      } finally {
        for (const node of owner) node.disconnect();
      }
      expect((await tagged.acquireLeases(tenantKeys, 'owner-a', 10_000)).size).toBe(300);
    } finally {
      await tagged.close();
    }
  });

  it('connects again after every node was down for longer than the client retries', async () => {
    await cluster.restart(2_000);

    const results = await store.setMany(keys.slice(0, 100).map((key) => ({ key, value: 'after restart' })));

    expect(results.filter((result) => result.status !== 'written')).toEqual([]);
    expect(await store.get('item:0')).toBe('after restart');
  }, 60_000);
});
