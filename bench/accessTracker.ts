import { AccessTracker } from '../functions/core';
import { createZipfSampler, seededRandom } from '../functions/local/sampleCatalog';
import type { Scenario } from './index';
import { type Figure, printFigure, printScenario } from './report';

const ACCESSES = 1_000_000;
const DISTINCT_KEYS = 1_000_000;
const MAX_KEYS = 10_000;
const TOP = 100;
const MiB = 1024 * 1024;

const collectGarbage = (): boolean => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  return gc !== undefined;
};

const timeMs = (work: () => void): number => {
  const startedAt = performance.now();
  work();
  return performance.now() - startedAt;
};

export const run: Scenario = async () => {
  printScenario(
    `AccessTracker (${ACCESSES.toLocaleString('en-US')} accesses, Zipf s = 1 over ${DISTINCT_KEYS.toLocaleString('en-US')} keys, maxKeys ${MAX_KEYS.toLocaleString('en-US')})`,
  );
  const draw = createZipfSampler(DISTINCT_KEYS, seededRandom(42));
  const keyNames = Array.from({ length: DISTINCT_KEYS }, (_, rank) => `key:${rank}`);
  const stream = Array.from({ length: ACCESSES }, () => keyNames[draw()] as string);

  const countWithMap = () => {
    const counts = new Map<string, number>();
    for (const key of stream) counts.set(key, (counts.get(key) ?? 0) + 1);
    return counts;
  };
  const countWithTracker = () => {
    const tracker = new AccessTracker<string>({ maxKeys: MAX_KEYS });
    const now = Date.now();
    for (const key of stream) tracker.recordAccess(key, 1, now);
    return tracker;
  };
  // Warm both up so the JIT has compiled them before anything is timed.
  countWithMap();
  countWithTracker();

  const exact = countWithMap();
  const exactTop = new Set(
    [...exact]
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP)
      .map(([key]) => key),
  );

  const forcedGc = collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;
  const tracker = countWithTracker();
  collectGarbage();
  const heldMiB = (process.memoryUsage().heapUsed - heapBefore) / MiB;
  const found = tracker.getHotKeys(0, TOP).filter(({ key }) => exactTop.has(key)).length;

  const mapMs = Math.min(timeMs(countWithMap), timeMs(countWithMap), timeMs(countWithMap));
  const trackerMs = Math.min(timeMs(countWithTracker), timeMs(countWithTracker), timeMs(countWithTracker));

  const figures: Figure[] = [
    { label: `recall of the exact top ${TOP} in getHotKeys`, value: found / TOP, goal: { atLeast: 0.95 } },
    {
      label: 'heap held by the tracker after the run',
      value: heldMiB,
      unit: 'MiB',
      goal: { atMost: 32 },
      detail: forcedGc
        ? 'after a forced gc'
        : 'without a forced gc (run node with --expose-gc to force one): an upper bound',
    },
    {
      label: 'recordAccess throughput ÷ a plain Map counter',
      value: mapMs / trackerMs,
      goal: { atLeast: 0.5 },
      detail: `Map ${mapMs.toFixed(0)} ms, tracker ${trackerMs.toFixed(0)} ms for ${ACCESSES.toLocaleString('en-US')} accesses (best of 3)`,
    },
  ];
  for (const figure of figures) printFigure(figure);
  return figures;
};
