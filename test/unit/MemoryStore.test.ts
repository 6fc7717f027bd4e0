import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore } from '../../functions/core';
import { useFakeClock } from '../support/fakeClock';

afterEach(() => {
  vi.useRealTimers();
});

describe('MemoryStore', () => {
  it('writes many entries and reads them back, one result per entry in order', async () => {
    const store = new MemoryStore<string, number>();

    const results = await store.setMany([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
    ]);

    expect(results).toEqual([
      { key: 'a', status: 'written' },
      { key: 'b', status: 'written' },
    ]);
    expect(await store.get('b')).toBe(2);
    expect(store.size).toBe(2);
  });

  it('keeps raw values in the map it is given', async () => {
    const values = new Map<string, string>();
    const store = new MemoryStore({ values, ttlSeconds: 60 });

    await store.set('k', 'v');

    expect(values.get('k')).toBe('v');
  });

  it('expires entries after their TTL and reports the time they have left', async () => {
    useFakeClock();
    const store = new MemoryStore<string, string>({ ttlSeconds: 30 });
    await store.set('default', 'v');
    await store.set('own', 'v', { ttlSeconds: 5 });
    await store.setMany([{ key: 'forever', value: 'v', ttlSeconds: 0 }]);

    await vi.advanceTimersByTimeAsync(4_000);
    expect(await store.remainingTtl(['default', 'own', 'forever', 'missing'])).toEqual(
      new Map([
        ['default', 26_000],
        ['own', 1_000],
        ['forever', Number.POSITIVE_INFINITY],
        ['missing', undefined],
      ]),
    );
    await vi.advanceTimersByTimeAsync(1_000);

    expect(await store.get('own')).toBeUndefined();
    expect(await store.get('default')).toBe('v');
  });

  it('ifAbsent writes only missing keys, and treats an expired key as missing', async () => {
    useFakeClock();
    const store = new MemoryStore<string, string>();
    await store.set('present', 'old');
    await store.set('expiring', 'old', { ttlSeconds: 1 });
    await vi.advanceTimersByTimeAsync(1_000);

    const results = await store.setMany(
      [
        { key: 'present', value: 'new' },
        { key: 'expiring', value: 'new' },
        { key: 'absent', value: 'new' },
      ],
      { mode: 'ifAbsent' },
    );

    expect(results.map((result) => result.status)).toEqual(['skipped', 'written', 'written']);
    expect(await store.get('present')).toBe('old');
  });

  it('ifNewer never replaces a newer or equal version, whichever order writers arrive in', async () => {
    for (const order of [
      [5, 6],
      [6, 5],
    ]) {
      const store = new MemoryStore<string, string>();
      for (const version of order) await store.set('k', `v${version}`, { mode: 'ifNewer', version });
      expect(await store.get('k')).toBe('v6');
    }
    const store = new MemoryStore<string, string>();
    await store.set('k', 'v3', { version: 3 });
    expect(await store.set('k', 'v3 again', { mode: 'ifNewer', version: 3 })).toEqual({
      key: 'k',
      status: 'skipped',
      reason: 'cached version 3 is not older than 3',
    });
    expect((await store.set('k', 'unversioned', { mode: 'ifNewer' })).status).toBe('skipped');
  });

  it('delete removes a key and says whether it was there', async () => {
    const store = new MemoryStore<string, string>();
    await store.set('k', 'v');

    expect(await store.delete('k')).toBe(true);
    expect(await store.delete('k')).toBe(false);
    expect(await store.get('k')).toBeUndefined();
  });
});

describe('MemoryStore leases', () => {
  it('leases a key to one owner at a time until it is released or expires', async () => {
    useFakeClock();
    const store = new MemoryStore<string, string>();

    expect(await store.acquireLeases(['a', 'b'], 'consumer-1', 1_000)).toEqual(new Set(['a', 'b']));
    expect(await store.acquireLeases(['b', 'c'], 'consumer-2', 1_000)).toEqual(new Set(['c']));

    await store.releaseLeases(['b', 'c'], 'consumer-1');
    expect(await store.acquireLeases(['b'], 'consumer-2', 1_000)).toEqual(new Set(['b']));

    await vi.advanceTimersByTimeAsync(1_000);
    expect(await store.acquireLeases(['a'], 'consumer-3', 1_000)).toEqual(new Set(['a']));
  });
});
