import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AccessTracker } from '../functions/core/AccessTracker';
import { createZipfSampler, seededRandom } from '../functions/local/sampleCatalog';
import type { Scenario } from './index';
import { type Figure, median, printFigure, printScenario } from './report';

const ACCESSES = 1_000_000;
const DISTINCT_KEYS = 1_000_000;
const MAX_KEYS = 10_000;
const TOP = 100;
const REPETITIONS = 5;
const SEED = 42;
const MIB = 1024 * 1024;
/** One access time for the whole run, as an aggregator records a window's reads. */
const AT = Date.UTC(2026, 0, 1);

/** `ACCESSES` keys drawn Zipf(s = 1) over `DISTINCT_KEYS` ranks from a seeded PRNG; `key:0` is the hottest. */
const zipfAccesses = (): string[] => {
  const draw = createZipfSampler(DISTINCT_KEYS, seededRandom(SEED));
  // One string per distinct key, shared by all its accesses, as an application's keys would be.
  const names = new Map<number, string>();
  const accesses: string[] = [];
  for (let index = 0; index < ACCESSES; index++) {
    const rank = draw();
    let name = names.get(rank);
    if (name === undefined) {
      name = `key:${rank}`;
      names.set(rank, name);
    }
    accesses.push(name);
  }
  return accesses;
};

/** `global.gc` under `node --expose-gc`; otherwise V8's flag turned on at run time, when it allows it. */
const findGc = (): (() => void) | undefined => {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? () => gc() : undefined;
  } catch {
    return undefined;
  }
};

/** The V8 heap plus typed-array backing stores, which live outside it. */
const heldBytes = (): number => {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
};

/** Bytes held once garbage is collected: one full collection does not always free everything. */
const settledBytes = (gc: (() => void) | undefined): number => {
  gc?.();
  let bytes = heldBytes();
  for (let attempt = 0; gc && attempt < 4; attempt++) {
    gc();
    const now = heldBytes();
    if (now >= bytes) break;
    bytes = now;
  }
  return bytes;
};

const countWithMap = (accesses: readonly string[]): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const key of accesses) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
};

const countWithTracker = (accesses: readonly string[]): AccessTracker<string> => {
  const tracker = new AccessTracker<string>({ maxKeys: MAX_KEYS });
  for (const key of accesses) tracker.recordAccess(key, 1, AT);
  return tracker;
};

/** The same, reading the clock on every access as `recordAccess(key)` does. */
const countWithTrackerAndClock = (accesses: readonly string[]): AccessTracker<string> => {
  const tracker = new AccessTracker<string>({ maxKeys: MAX_KEYS });
  for (const key of accesses) tracker.recordAccess(key);
  return tracker;
};

const timeMs = (work: () => unknown): number => {
  const startedAt = performance.now();
  work();
  return performance.now() - startedAt;
};

export const run: Scenario = async () => {
  printScenario(
    `Access tracker (${ACCESSES.toLocaleString('en-US')} accesses, Zipf s = 1 over ${DISTINCT_KEYS.toLocaleString('en-US')} keys, maxKeys ${MAX_KEYS.toLocaleString('en-US')})`,
  );
  const accesses = zipfAccesses();
  const figures: Figure[] = [];

  const exact = countWithMap(accesses);
  const distinct = exact.size;
  const exactTop = new Set(
    [...exact]
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP)
      .map(([key]) => key),
  );
  exact.clear();

  // The access array is alive on both sides, so the difference is what the tracker holds.
  const gc = findGc();
  const before = settledBytes(gc);
  const tracker = countWithTracker(accesses);
  const heldMiB = (settledBytes(gc) - before) / MIB;

  const found = tracker.getHotKeys(0, TOP).filter((key) => exactTop.has(key)).length;
  figures.push({
    label: `recall of the exact top ${TOP} in getHotKeys(0, ${TOP})`,
    value: found / TOP,
    goal: { atLeast: 0.95 },
    detail: `${found} of ${TOP}; ${distinct.toLocaleString('en-US')} distinct keys read, ${tracker.size.toLocaleString('en-US')} tracked`,
  });
  figures.push({
    label: 'memory held by the tracker after the run (heap + array buffers)',
    value: heldMiB,
    unit: 'MiB',
    goal: { atMost: 32 },
    detail: gc
      ? 'gc forced before each reading'
      : 'gc unavailable, not forced: the reading includes uncollected garbage',
  });

  // Warm all contenders up, then alternate them so none gets a quieter machine.
  countWithMap(accesses);
  countWithTracker(accesses);
  countWithTrackerAndClock(accesses);
  const mapMs: number[] = [];
  const trackerMs: number[] = [];
  const clockMs: number[] = [];
  for (let repetition = 0; repetition < REPETITIONS; repetition++) {
    gc?.();
    mapMs.push(timeMs(() => countWithMap(accesses)));
    gc?.();
    trackerMs.push(timeMs(() => countWithTracker(accesses)));
    gc?.();
    clockMs.push(timeMs(() => countWithTrackerAndClock(accesses)));
  }
  const mapMedian = median(mapMs);
  const trackerMedian = median(trackerMs);
  figures.push({
    label: 'recordAccess throughput: Map counter time ÷ tracker time',
    value: mapMedian / trackerMedian,
    goal: { atLeast: 0.5 },
    detail: `medians of ${REPETITIONS}: Map<string, number> ${mapMedian.toFixed(1)} ms, AccessTracker ${trackerMedian.toFixed(1)} ms with the access time given (${median(clockMs).toFixed(1)} ms reading Date.now() per access)`,
  });

  for (const figure of figures) printFigure(figure);
  return figures;
};
