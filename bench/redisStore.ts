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

const value = Buffer.alloc(1024, 'v');

/**
 * `redis-benchmark -P 64 -n 100000 -r 100000000 SET key:__rand_int__ <1 KiB> PX 600000` against the same
 * server: the commands `setMany` sends, to fresh random keys, as a first fill writes them. SETs per second.
 */
const referenceSetsPerSecond = async (port: number): Promise<number> => {
  const { stdout } = await execFileAsync(
    'redis-benchmark',
    [
      ...[
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-P',
        '64',
        '-n',
        String(VALUE_COUNT),
        '-r',
        '100000000',
        '-q',
      ],
      ...['SET', 'key:__rand_int__', value.toString(), 'PX', String(TTL_SECONDS * 1000)],
    ],
    { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
  );
  const match = /([\d.]+)\s*requests per second/.exec(stdout);
  if (!match?.[1]) throw new Error(`cannot read redis-benchmark's output: ${stdout.slice(-500)}`);
  return Number(match[1]);
};

/** CPU microseconds `redis-server` has used so far (user + system), from `INFO cpu`. */
const serverCpuMicros = async (client: Redis): Promise<number> => {
  const info = await client.info('cpu');
  const seconds = (field: string) => Number(new RegExp(`${field}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN);
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6;
};

export const run: Scenario = async () => {
  printScenario(
    `Redis store (setMany of ${VALUE_COUNT.toLocaleString('en-US')} new keys of 1 KiB with a TTL, in batches of ${BATCH_SIZE.toLocaleString('en-US')}, against redis-benchmark -P 64 SET … PX to fresh random keys on the same private redis-server)`,
  );
  const redis = await startRedisServer();
  const store = new RedisStore<Buffer>({ url: redis.url, ttlSeconds: TTL_SECONDS, ttlJitterRatio: 0.1 });
  const raw = new Redis(redis.url);
  try {
    const referenceCpuBefore = await serverCpuMicros(raw);
    const reference = await referenceSetsPerSecond(redis.port);
    const referenceServerMicros = ((await serverCpuMicros(raw)) - referenceCpuBefore) / VALUE_COUNT;
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
    const clientCpuBefore = process.cpuUsage();
    const serverCpuBefore = await serverCpuMicros(raw);
    const ours = await writeAllValues();
    const serverMicros = ((await serverCpuMicros(raw)) - serverCpuBefore) / VALUE_COUNT;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const clientMicros = (clientCpu.user + clientCpu.system) / VALUE_COUNT;
    // The same keys again, as a scheduled refresh writes them: the server allocates no new memory.
    const refresh = await writeAllValues();
    for (const index of [0, 4_242, VALUE_COUNT - 1]) {
      const stored = await raw.getBuffer(`bench:${index}`);
      if (!stored?.equals(value)) throw new Error(`bench:${index} is not the value written`);
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
        label: 'setMany of new keys, 1 KiB with TTL: values/s ÷ redis-benchmark SET PX -P 64 -r',
        value: ours / reference,
        goal: { atLeast: 0.5 },
        detail: `${perSecond(ours)} of ${perSecond(reference)}`,
      },
      {
        label:
          'CPU per new key: redis-benchmark’s server µs ÷ the larger of setMany’s server µs and client µs (what the wall ratio approaches on two idle cores)',
        value: referenceServerMicros / Math.max(serverMicros, clientMicros),
        detail: `server ${serverMicros.toFixed(1)} µs and client ${clientMicros.toFixed(1)} µs per key; redis-benchmark’s server ${referenceServerMicros.toFixed(1)} µs`,
      },
      {
        label: 'setMany again over the same keys (a refresh): ÷ redis-benchmark',
        value: refresh / reference,
        detail: perSecond(refresh),
      },
      {
        label: `naive, one awaited SET per key (${NAIVE_COUNT.toLocaleString('en-US')} keys): ÷ redis-benchmark`,
        value: naive / reference,
        detail: perSecond(naive),
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
