import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CacheStore } from '../../functions/core';
import {
  BatchValueLoader,
  CacheWarmer,
  CallableValueLoader,
  MemoryStore,
  StaticKeyProvider,
} from '../../functions/core';

/** How a key behaves at the source: fails this many attempts first, or never has a value. */
type KeyBehaviour = { failures: number } | { missing: true };

const behaviour = fc.oneof(
  { weight: 4, arbitrary: fc.record({ failures: fc.constant(0) }) },
  { weight: 2, arbitrary: fc.record({ failures: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ missing: fc.constant(true as const) }) },
);

const scenario = fc.record({
  keys: fc.array(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 60 }),
  behaviours: fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), behaviour),
  maxWorkers: fc.integer({ min: 1, max: 8 }),
  maxRetries: fc.integer({ min: 0, max: 3 }),
  batchSize: fc.integer({ min: 1, max: 10 }),
  batched: fc.boolean(),
});

const valueFor = (key: string) => ({ key, loaded: `value of ${key}` });

describe('CacheWarmer properties', () => {
  it('accounts for every distinct key once, writes exactly the loaded values, and respects maxWorkers', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ keys, behaviours, maxWorkers, maxRetries, batchSize, batched }) => {
        const failuresLeft = new Map(
          Object.entries(behaviours).map(([key, kind]) => [key, 'failures' in kind ? kind.failures : 0]),
        );
        const isMissing = (key: string) => {
          const kind: KeyBehaviour | undefined = behaviours[key];
          return kind !== undefined && 'missing' in kind;
        };
        let inFlight = 0;
        let peak = 0;
        const track = async <T>(load: () => T): Promise<T> => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await new Promise((resolve) => setImmediate(resolve));
          inFlight--;
          return load();
        };
        const attempt = (key: string) => {
          const left = failuresLeft.get(key) ?? 0;
          if (left > 0) {
            failuresLeft.set(key, left - 1);
            throw new Error(`${key} failed`);
          }
          return isMissing(key) ? undefined : valueFor(key);
        };
        const loader = batched
          ? new BatchValueLoader((batch: readonly string[]) =>
              track(() => {
                const values = new Map<string, ReturnType<typeof valueFor>>();
                for (const key of batch) {
                  const value = attempt(key);
                  if (value) values.set(key, value);
                }
                return values;
              }),
            )
          : new CallableValueLoader((key: string) => track(() => attempt(key)));
        const cache = new Map<string, ReturnType<typeof valueFor>>();
        const warmer = new CacheWarmer(cache, new StaticKeyProvider(keys), loader, {
          maxWorkers,
          maxRetries,
          batchSize,
          retryBaseDelayMs: 0,
          retryMaxDelayMs: 0,
        });

        const stats = await warmer.warm();

        const distinct = new Set(keys);
        expect(stats.keysWarmed + stats.keysFailed + stats.keysSkipped).toBe(distinct.size);
        expect(cache.size).toBe(stats.keysWarmed);
        for (const [key, value] of cache) expect(value).toEqual(valueFor(key));
        for (const key of distinct) {
          const outcomes = [cache.has(key), stats.failures.has(key), stats.skipped.has(key)];
          expect(outcomes.filter(Boolean)).toHaveLength(1);
        }
        expect(peak).toBeLessThanOrEqual(maxWorkers);
        if (!batched) {
          for (const key of distinct) {
            const kind: KeyBehaviour = behaviours[key] ?? { failures: 0 };
            if ('missing' in kind && kind.missing) expect(stats.skipped.has(key)).toBe(true);
            else if ('failures' in kind && kind.failures > maxRetries)
              expect(stats.failures.has(key)).toBe(true);
            else expect(cache.has(key)).toBe(true);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('when the store goes down mid-run, starts no more loads and fails every key it did not write', async () => {
    const outage = fc.record({
      keys: fc.array(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 60 }),
      missing: fc.array(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 10 }),
      writesBeforeOutage: fc.integer({ min: 0, max: 6 }),
      maxWorkers: fc.integer({ min: 1, max: 8 }),
      batchSize: fc.integer({ min: 1, max: 10 }),
      batched: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        outage,
        async ({ keys, missing, writesBeforeOutage, maxWorkers, batchSize, batched }) => {
          const noValue = new Set(missing);
          let writes = 0;
          let loadsAfterOutage = 0;
          const load = (key: string) => (noValue.has(key) ? undefined : valueFor(key));
          const startLoad = () => {
            if (writes > writesBeforeOutage) loadsAfterOutage++;
            return new Promise((resolve) => setImmediate(resolve));
          };
          const loader = batched
            ? new BatchValueLoader(async (batch: readonly string[]) => {
                await startLoad();
                const values = new Map<string, ReturnType<typeof valueFor>>();
                for (const key of batch) {
                  const value = load(key);
                  if (value) values.set(key, value);
                }
                return values;
              })
            : new CallableValueLoader(async (key: string) => {
                await startLoad();
                return load(key);
              });
          const memory = new MemoryStore<string, ReturnType<typeof valueFor>>();
          const store: CacheStore<string, ReturnType<typeof valueFor>> = {
            get: (key) => memory.get(key),
            set: (key, value, options) => memory.set(key, value, options),
            delete: (key) => memory.delete(key),
            setMany: async (entries, options) => {
              if (++writes > writesBeforeOutage) throw new Error('connection refused');
              return memory.setMany(entries, options);
            },
          };
          const warmer = new CacheWarmer(store, new StaticKeyProvider(keys), loader, {
            maxWorkers,
            batchSize,
            // No retries: the first write the store fails is its failure.
            maxRetries: 0,
            retryBaseDelayMs: 0,
            retryMaxDelayMs: 0,
          });

          const stats = await warmer.warm();

          const distinct = new Set(keys);
          expect(stats.keysWarmed + stats.keysFailed + stats.keysSkipped).toBe(distinct.size);
          expect(memory.size).toBe(stats.keysWarmed);
          // A worker starts its next load while its write is pending: at most one per worker follows the failed write.
          expect(loadsAfterOutage).toBeLessThanOrEqual(maxWorkers);
          for (const key of distinct) {
            const outcomes = [
              stats.failures.has(key),
              stats.skipped.has(key),
              (await memory.get(key)) !== undefined,
            ];
            expect(outcomes.filter(Boolean)).toHaveLength(1);
            if (stats.skipped.has(key)) expect(noValue.has(key)).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
