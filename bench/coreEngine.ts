import {
  BatchValueLoader,
  CacheWarmer,
  CallableValueLoader,
  MemoryStore,
  StaticKeyProvider,
  sleep,
} from '../functions/core';
import type { Scenario } from './index';
import { type Figure, median, printFigure, printScenario } from './report';

const LATENCY_MS = 5;
const REPETITIONS = 3;

/** A loader's calls and their mean latency as the loader itself saw it, timers' overshoot included. */
const latencyMeter = () => {
  let calls = 0;
  let totalMs = 0;
  return {
    timed: async <T>(build: () => T): Promise<T> => {
      const startedAt = performance.now();
      await sleep(LATENCY_MS);
      const value = build();
      totalMs += performance.now() - startedAt;
      calls++;
      return value;
    },
    meanMs: () => totalMs / calls,
  };
};

const keysOf = (count: number) => Array.from({ length: count }, (_, index) => `key:${index}`);

/** Achieved keys/s over the bound for one warm, with the figures behind it. */
const measureWarm = async (
  keyCount: number,
  makeLoader: (
    meter: ReturnType<typeof latencyMeter>,
  ) => CallableValueLoader<string, string> | BatchValueLoader<string, string>,
  config: { maxWorkers: number; batchSize: number },
  keysPerCall: number,
) => {
  const meter = latencyMeter();
  const warmer = new CacheWarmer(
    new MemoryStore<string, string>(),
    new StaticKeyProvider(keysOf(keyCount)),
    makeLoader(meter),
    config,
  );
  const startedAt = performance.now();
  const stats = await warmer.warm();
  const elapsedMs = performance.now() - startedAt;
  if (stats.keysWarmed !== keyCount) throw new Error(`warmed ${stats.keysWarmed} of ${keyCount} keys`);
  const achieved = (keyCount * 1000) / elapsedMs;
  const bound = (config.maxWorkers * keysPerCall * 1000) / meter.meanMs();
  return { ratio: achieved / bound, achieved, bound, meanMs: meter.meanMs() };
};

const describeRun = (run: { achieved: number; bound: number; meanMs: number }) =>
  `${Math.round(run.achieved).toLocaleString('en-US')} keys/s of a ${Math.round(run.bound).toLocaleString('en-US')} keys/s bound (mean loader latency ${run.meanMs.toFixed(2)} ms)`;

const bestOf = async (measure: () => ReturnType<typeof measureWarm>) => {
  const runs = [];
  for (let repetition = 0; repetition < REPETITIONS; repetition++) runs.push(await measure());
  const ratio = median(runs.map((run) => run.ratio));
  return runs.find((run) => run.ratio === ratio) as Awaited<ReturnType<typeof measureWarm>>;
};

export const run: Scenario = async () => {
  printScenario(
    `Core engine (median of ${REPETITIONS} runs, loaders of ${LATENCY_MS} ms into the memory store)`,
  );
  const figures: Figure[] = [];

  const perKey = await bestOf(() =>
    measureWarm(
      4_000,
      (meter) => new CallableValueLoader((key) => meter.timed(() => `value of ${key}`)),
      { maxWorkers: 32, batchSize: 100 },
      1,
    ),
  );
  figures.push({
    label: 'per-key loader, maxWorkers 32, 4,000 keys: keys/s ÷ (maxWorkers ÷ latency)',
    value: perKey.ratio,
    goal: { atLeast: 0.95 },
    detail: describeRun(perKey),
  });

  // The naive loop awaits one load after another; 200 keys show its rate without a 20 s wait.
  const meter = latencyMeter();
  const naiveStartedAt = performance.now();
  const naiveCache = new Map<string, string>();
  for (const key of keysOf(200)) naiveCache.set(key, await meter.timed(() => `value of ${key}`));
  const naiveRate = (200 * 1000) / (performance.now() - naiveStartedAt);
  const naiveBound = (32 * 1000) / meter.meanMs();
  figures.push({
    label: 'naive sequential loop, same loader: keys/s ÷ the same bound',
    value: naiveRate / naiveBound,
    detail: `${Math.round(naiveRate).toLocaleString('en-US')} keys/s`,
  });

  const batch = await bestOf(() =>
    measureWarm(
      40_000,
      (meter) =>
        new BatchValueLoader((keys) =>
          meter.timed(() => new Map(keys.map((key) => [key, `value of ${key}`]))),
        ),
      { maxWorkers: 8, batchSize: 100 },
      100,
    ),
  );
  figures.push({
    label:
      'BatchValueLoader, batchSize 100, maxWorkers 8, 40,000 keys: keys/s ÷ (maxWorkers × batchSize ÷ latency)',
    value: batch.ratio,
    goal: { atLeast: 0.95 },
    detail: describeRun(batch),
  });

  for (const figure of figures) printFigure(figure);
  return figures;
};
