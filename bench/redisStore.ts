import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { RedisStore } from '../functions/adapters/RedisStore';
import { startRedisServer } from '../test/support/redisServer';
import type { Scenario } from './index';
import { type Figure, printFigure, printScenario } from './report';

const execFileAsync = promisify(execFile);
const VALUE_COUNT = 100_000;
const BATCH_SIZE = 1_000;
const NAIVE_COUNT = 5_000;
const TTL_SECONDS = 3_600;

/**
 * `redis-benchmark -t set -d 1024 -P 64 -n 200000` against the same server: SETs per second. Without
 * `-r` it overwrites one key; `newKeys` adds `-r` and writes `VALUE_COUNT` keys the server does not
 * hold yet, as the first fill does.
 */
const referenceSetsPerSecond = async (port: number, { newKeys = false } = {}): Promise<number> => {
  const workload = newKeys ? ['-n', String(VALUE_COUNT), '-r', '1000000000'] : ['-n', '200000'];
  const { stdout } = await execFileAsync(
    'redis-benchmark',
    ['-h', '127.0.0.1', '-p', String(port), '-t', 'set', '-d', '1024', '-P', '64', ...workload, '-q'],
    { timeout: 120_000 },
  );
  const match = /SET:\s*([\d.]+)\s*requests per second/.exec(stdout);
  if (!match?.[1]) throw new Error(`cannot read redis-benchmark's output: ${stdout}`);
  return Number(match[1]);
};

const value = Buffer.alloc(1024, 'v');

export const run: Scenario = async () => {
  printScenario(
    `Redis store (${VALUE_COUNT.toLocaleString('en-US')} values of 1 KiB with a TTL through RedisStore.setMany in batches of ${BATCH_SIZE.toLocaleString('en-US')}, against redis-benchmark -t set -d 1024 -P 64 on the same private redis-server)`,
  );
  const redis = await startRedisServer();
  const store = new RedisStore<Buffer>({ url: redis.url, ttlSeconds: TTL_SECONDS, ttlJitterRatio: 0.1 });
  const raw = new Redis(redis.url);
  try {
    const reference = await referenceSetsPerSecond(redis.port);
    await raw.flushall();
    const referenceNewKeys = await referenceSetsPerSecond(redis.port, { newKeys: true });
    await raw.flushall();

    // One batch first, so the connection, the script cache and the JIT are warm before timing.
    await store.setMany(
      Array.from({ length: BATCH_SIZE }, (_, index) => ({ key: `warm-up:${index}`, value })),
    );
    const writeAllValues = async (): Promise<number> => {
      const startedAt = performance.now();
      for (let offset = 0; offset < VALUE_COUNT; offset += BATCH_SIZE) {
        const entries = Array.from({ length: BATCH_SIZE }, (_, index) => ({
          key: `bench:${offset + index}`,
          value,
        }));
        const results = await store.setMany(entries);
        if (results.some((result) => result.status !== 'written')) throw new Error('a write was not written');
      }
      return (VALUE_COUNT * 1000) / (performance.now() - startedAt);
    };
    const ours = await writeAllValues();
    // The same keys again, as a scheduled refresh writes them: the server allocates no new memory, as
    // for redis-benchmark's single key, so this shows what the first fill pays for the server's growth.
    const refresh = await writeAllValues();
    for (const index of [0, 4_242, VALUE_COUNT - 1]) {
      const stored = await store.get(`bench:${index}`);
      if (!stored?.equals(value)) throw new Error(`bench:${index} is missing after the run`);
      const ttl = await raw.pttl(`bench:${index}`);
      if (ttl <= 0 || ttl > TTL_SECONDS * 1000) throw new Error(`bench:${index} has no TTL`);
    }

    const naiveStartedAt = performance.now();
    for (let index = 0; index < NAIVE_COUNT; index++) {
      await raw.set(`naive:${index}`, value, 'PX', TTL_SECONDS * 1000);
    }
    const naive = (NAIVE_COUNT * 1000) / (performance.now() - naiveStartedAt);

    const perSecond = (rate: number) => `${Math.round(rate).toLocaleString('en-US')} SET/s`;
    const figures: Figure[] = [
      {
        label: 'setMany of 1 KiB values with TTL: values/s ÷ redis-benchmark SET -P 64',
        value: ours / reference,
        goal: { atLeast: 0.3 },
        detail: `${perSecond(ours)} of ${perSecond(reference)}`,
      },
      {
        label: 'redis-benchmark itself, writing 100,000 new keys (-r): ÷ redis-benchmark',
        value: referenceNewKeys / reference,
        detail: `${perSecond(referenceNewKeys)}: what the server takes on a first fill, with no TTL; setMany reaches ${(ours / referenceNewKeys).toFixed(2)} of it`,
      },
      {
        label: `naive, one awaited SET per key (${NAIVE_COUNT.toLocaleString('en-US')} keys): ÷ redis-benchmark`,
        value: naive / reference,
        detail: perSecond(naive),
      },
      {
        label: 'setMany again over the same keys (a refresh): ÷ redis-benchmark',
        value: refresh / reference,
        detail: perSecond(refresh),
      },
    ];
    for (const figure of figures) printFigure(figure);
    return figures;
  } finally {
    raw.disconnect();
    await store.close();
    await redis.stop();
  }
};
