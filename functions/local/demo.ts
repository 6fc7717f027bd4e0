import { parseArgs } from 'node:util';
import {
  AccessTracker,
  AdaptiveKeyProvider,
  CacheWarmer,
  CallableValueLoader,
  describeError,
  loadWarmingConfig,
  MemoryStore,
  StaticKeyProvider,
  type WarmingStats,
} from '../core';
import { ProgressBar } from './ProgressBar';
import {
  createSampleOrigin,
  createZipfSampler,
  defaultSampleOrigin,
  type Product,
  productKey,
} from './sampleCatalog';

const USAGE = 'usage: npm start -- [--keys N] [--reads N] [--json]';

const parseOptions = () => {
  const { values } = parseArgs({
    options: {
      keys: { type: 'string', default: String(defaultSampleOrigin.keyCount) },
      reads: { type: 'string', default: '50000' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const count = (name: 'keys' | 'reads') => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`--${name} must be a whole number ≥ 1, got "${values[name]}"`);
    return value;
  };
  return { keys: count('keys'), reads: count('reads'), json: values.json, help: values.help };
};

/** Stats in plain JSON: maps become objects, and only the first few failures are listed. */
const summarize = (stats: WarmingStats<string>) => ({
  keysWarmed: stats.keysWarmed,
  keysFailed: stats.keysFailed,
  keysSkipped: stats.keysSkipped,
  successRate: Number(stats.successRate.toFixed(4)),
  durationMs: Math.round(stats.durationMs),
  cancelled: stats.cancelled,
  failures: Object.fromEntries(stats.failures),
  skipped: Object.fromEntries([...stats.skipped].slice(0, 10)),
});

const printStats = (title: string, stats: WarmingStats<string>) => {
  console.log(`\n${title}`);
  console.log(
    `  warmed ${stats.keysWarmed}, failed ${stats.keysFailed}, skipped ${stats.keysSkipped}, ` +
      `success rate ${(stats.successRate * 100).toFixed(2)}%, ${(stats.durationMs / 1000).toFixed(2)} s`,
  );
  for (const [key, reason] of stats.failures) console.log(`  failed  ${key}: ${reason}`);
  const skipped = [...stats.skipped];
  for (const [key, reason] of skipped.slice(0, 5)) console.log(`  skipped ${key}: ${reason}`);
  if (skipped.length > 5) console.log(`  … and ${skipped.length - 5} more skipped`);
};

const main = async () => {
  const options = parseOptions();
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const config = loadWarmingConfig(process.env);
  const origin = createSampleOrigin({ ...defaultSampleOrigin, keyCount: options.keys });
  const store = new MemoryStore<string, Product>({ ttlSeconds: config.ttlSeconds });
  const loader = new CallableValueLoader(origin);
  const keys = Array.from({ length: options.keys }, (_, id) => productKey(id));
  const log = options.json ? () => {} : console.log;

  log(`Warming ${options.keys.toLocaleString('en-US')} sample products into the in-memory store`);
  log(
    `(maxWorkers ${config.maxWorkers}, maxRetries ${config.maxRetries}; set CODOMYRMEX_WARMING_* to change)`,
  );
  const warmer = new CacheWarmer(store, new StaticKeyProvider(keys), loader, config);
  const bar = options.json ? undefined : new ProgressBar();
  const run = warmer.warmAsync(undefined, { onProgress: (progress) => bar?.update(progress) });
  const initial = await run.result;
  bar?.finish(run.progress());
  if (!options.json) printStats('Initial warm', initial);

  // Simulated application reads: Zipf-distributed, so a few products are read far more than the rest.
  const tracker = new AccessTracker<string>({ maxKeys: 1_000 });
  const drawProduct = createZipfSampler(options.keys);
  let hits = 0;
  for (let read = 0; read < options.reads; read++) {
    const key = productKey(drawProduct());
    if ((await store.get(key)) !== undefined) hits++;
    tracker.recordAccess(key);
  }
  const hotKeys = tracker.getHotKeys(5, 10);
  log(
    `\n${options.reads.toLocaleString('en-US')} simulated reads, ${((hits / options.reads) * 100).toFixed(1)}% served from the cache`,
  );
  log('Hot keys learned from the reads:');
  for (const { key, count } of hotKeys) log(`  ${key.padEnd(16)} ${count.toLocaleString('en-US')} reads`);

  const adaptive = new CacheWarmer(
    store,
    new AdaptiveKeyProvider(tracker, { threshold: 5, limit: 100 }),
    loader,
    config,
  );
  const refresh = await adaptive.warm();
  if (!options.json) printStats('Adaptive warm of the hot keys', refresh);

  if (options.json) {
    console.log(
      JSON.stringify({
        keys: options.keys,
        initialWarm: summarize(initial),
        reads: options.reads,
        cacheHitRate: hits / options.reads,
        hotKeys,
        adaptiveWarm: summarize(refresh),
      }),
    );
  }
};

main().catch((error: unknown) => {
  console.error(`error: ${describeError(error)}`);
  console.error(USAGE);
  process.exitCode = 1;
});
