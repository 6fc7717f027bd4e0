import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { RedisStore } from '../functions/adapters/RedisStore';
import { startRedisServer } from '../test/support/redisServer';
import type { Scenario } from './index';
import { type Figure, median, printFigure, printScenario } from './report';

const execFileAsync = promisify(execFile);
const VALUE_COUNT = 100_000;
const BATCH_SIZE = 1_000;
const NAIVE_COUNT = 5_000;
const TTL_SECONDS = 600;
/**
 * Rounds of reference then store, each figure the median of their ratios: on a shared machine one
 * round's ratio swings with whatever else runs during one side of it.
 */
const ROUNDS = 3;

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
    const rounds: {
      reference: number;
      referenceServerMicros: number;
      ours: number;
      serverMicros: number;
      clientMicros: number;
      refresh: number;
    }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await raw.flushall();
      const referenceCpuBefore = await serverCpuMicros(raw);
      const reference = await referenceSetsPerSecond(redis.port);
      const referenceServerMicros = ((await serverCpuMicros(raw)) - referenceCpuBefore) / VALUE_COUNT;
      await raw.flushall();
      const clientCpuBefore = process.cpuUsage();
      const serverCpuBefore = await serverCpuMicros(raw);
      const ours = await writeAllValues();
      const serverMicros = ((await serverCpuMicros(raw)) - serverCpuBefore) / VALUE_COUNT;
      const clientCpu = process.cpuUsage(clientCpuBefore);
      const clientMicros = (clientCpu.user + clientCpu.system) / VALUE_COUNT;
      // The same keys again, as a scheduled refresh writes them: the server allocates no new memory.
      const refresh = await writeAllValues();
      rounds.push({ reference, referenceServerMicros, ours, serverMicros, clientMicros, refresh });
    }
    for (const index of [0, 4_242, VALUE_COUNT - 1]) {
      const stored = await raw.getBuffer(`bench:${index}`);
      if (!stored?.equals(value)) throw new Error(`bench:${index} is not the value written`);
      const ttl = await raw.pttl(`bench:${index}`);
      if (ttl <= 0 || ttl > TTL_SECONDS * 1000) throw new Error(`bench:${index} has no TTL`);
    }
    const medianOf = (measure: (round: (typeof rounds)[number]) => number) => median(rounds.map(measure));
    const ratios = (measure: (round: (typeof rounds)[number]) => number) =>
      `rounds ${rounds.map((round) => measure(round).toFixed(3)).join(', ')}`;
    const firstFill = (round: (typeof rounds)[number]) => round.ours / round.reference;
    const refreshRatio = (round: (typeof rounds)[number]) => round.refresh / round.reference;
    const cpuRatio = (round: (typeof rounds)[number]) =>
      round.referenceServerMicros / Math.max(round.serverMicros, round.clientMicros);
    const reference = medianOf((round) => round.reference);

    const naiveStartedAt = performance.now();
    for (let index = 0; index < NAIVE_COUNT; index++) {
      await raw.set(`naive:${index}`, value, 'PX', TTL_SECONDS * 1000);
    }
    const naive = (NAIVE_COUNT * 1000) / (performance.now() - naiveStartedAt);

    const perSecond = (rate: number) => `${Math.round(rate).toLocaleString('en-US')} SET/s`;
    const micros = (measure: (round: (typeof rounds)[number]) => number) => medianOf(measure).toFixed(1);
    const figures: Figure[] = [
      {
        label: `setMany of new keys, 1 KiB with TTL: values/s ÷ redis-benchmark SET PX -P 64 -r (median of ${ROUNDS} rounds)`,
        value: medianOf(firstFill),
        goal: { atLeast: 0.5 },
        detail: `${perSecond(medianOf((round) => round.ours))} of ${perSecond(reference)}; ${ratios(firstFill)}`,
      },
      {
        label:
          'CPU per new key: redis-benchmark’s server µs ÷ the larger of setMany’s server µs and client µs (what the wall ratio approaches on two idle cores)',
        value: medianOf(cpuRatio),
        detail: `server ${micros((round) => round.serverMicros)} µs and client ${micros((round) => round.clientMicros)} µs per key; redis-benchmark’s server ${micros((round) => round.referenceServerMicros)} µs; ${ratios(cpuRatio)}`,
      },
      {
        label: 'setMany again over the same keys (a refresh): ÷ redis-benchmark',
        value: medianOf(refreshRatio),
        detail: `${perSecond(medianOf((round) => round.refresh))}; ${ratios(refreshRatio)}`,
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
