import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { KEY_SOURCES_VARIABLE, VALUE_SOURCE_VARIABLE } from '../functions/adapters/sourceConfig';
import { resourceVariable } from '../functions/handlers/environment';
import { FUNCTION_BUNDLE_OPTIONS, functionVariant } from '../infra/functionBundling';
import type { Scenario } from './index';
import { type Figure, median, printFigure, printScenario } from './report';

const HANDLERS = ['warm', 'consume', 'track', 'control'] as const;
type Handler = (typeof HANDLERS)[number];
const GOAL_KIB = 600;
/** Fresh node processes per bundle; the median is reported. */
const LOAD_RUNS = 9;

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

const SHARED_ENVIRONMENT: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  [resourceVariable('warmQueueUrl')]: 'https://sqs.us-east-1.amazonaws.com/123456789012/warm',
  [resourceVariable('warmDlqUrl')]: 'https://sqs.us-east-1.amazonaws.com/123456789012/warm-dlq',
  [resourceVariable('accessDlqUrl')]: 'https://sqs.us-east-1.amazonaws.com/123456789012/access-dlq',
  [resourceVariable('runsTable')]: 'runs',
  [resourceVariable('trackerTable')]: 'tracker',
};

/**
 * What the construct sets on each function of the example stack (infra/CacheWarmerStack.ts: static
 * keys, an HTTP origin, a new Valkey cache with IAM auth, not TTL-aware), so each bundle is built as
 * that deployment's and loads as at a Lambda cold start: its configuration is read and its clients
 * created, and nothing is called.
 */
const EXAMPLE_ENVIRONMENTS: Record<Handler, Record<string, string>> = {
  warm: {
    ...SHARED_ENVIRONMENT,
    [KEY_SOURCES_VARIABLE]: JSON.stringify([{ type: 'static', keys: ['home', 'product:1'] }]),
  },
  consume: {
    ...SHARED_ENVIRONMENT,
    [resourceVariable('cacheUrl')]: 'rediss://bench-cache-abc123.serverless.use1.cache.amazonaws.com:6379',
    [resourceVariable('cacheCluster')]: 'true',
    [resourceVariable('cacheName')]: 'bench-cache',
    [resourceVariable('cacheServerless')]: 'true',
    [resourceVariable('cacheAuth')]: 'iam',
    [resourceVariable('cacheUser')]: 'warmer',
    [VALUE_SOURCE_VARIABLE]: JSON.stringify({
      type: 'http',
      urlTemplate: 'https://api.example.com/items/{key}',
    }),
  },
  track: SHARED_ENVIRONMENT,
  control: SHARED_ENVIRONMENT,
};

/** Imports the module named by its argument, prints how long that took (ms), and exits. */
const LOAD_TIMER = `const started = performance.now();
await import(process.argv[2]);
process.stdout.write(String(performance.now() - started));
process.exit(0);
`;

const bundleHandler = async (handler: Handler, outfile: string, define: Record<string, string>) => {
  await build({
    ...FUNCTION_BUNDLE_OPTIONS,
    define,
    entryPoints: [join(projectRoot, 'functions', 'handlers', `${handler}.ts`)],
    outfile,
    logLevel: 'error',
  });
  return outfile;
};

const kibOf = (file: string): number => statSync(file).size / 1024;

/**
 * Bundles each handler as the `ServerlessCacheWarmer` construct does for the example stack (the same esbuild
 * options, the parts its configuration uses), and a bundle that only imports `@aws-sdk/client-sqs` as
 * the reference; reports each handler's size against the goal (and, beside it, the size with every
 * optional part), and its cold import time as a ratio of the reference's, each the median of fresh
 * node processes taking turns, so that both see the same machine.
 */
export const run: Scenario = async () => {
  printScenario(
    `Function bundles (esbuild as the construct bundles the example stack's; cold import: median of ${LOAD_RUNS} fresh processes)`,
  );
  const directory = mkdtempSync(join(tmpdir(), 'cache-warmers-bundles-'));
  try {
    const bundles = new Map<Handler, { file: string; everyPartKib: number }>();
    for (const handler of HANDLERS) {
      const file = await bundleHandler(
        handler,
        join(directory, `${handler}.mjs`),
        functionVariant(handler, EXAMPLE_ENVIRONMENTS[handler]).define,
      );
      const everyPart = await bundleHandler(handler, join(directory, `${handler}-every-part.mjs`), {});
      bundles.set(handler, { file, everyPartKib: kibOf(everyPart) });
    }
    const reference = join(directory, 'sqs-only.mjs');
    await build({
      ...FUNCTION_BUNDLE_OPTIONS,
      stdin: { contents: "export { SQSClient } from '@aws-sdk/client-sqs';", resolveDir: projectRoot },
      outfile: reference,
      logLevel: 'error',
    });
    const timer = join(directory, 'load-timer.mjs');
    writeFileSync(timer, LOAD_TIMER);
    const loads: { file: string; environment: Record<string, string> }[] = [
      ...HANDLERS.map((handler) => ({
        file: bundles.get(handler)?.file ?? '',
        environment: EXAMPLE_ENVIRONMENTS[handler],
      })),
      { file: reference, environment: SHARED_ENVIRONMENT },
    ];
    const loadTimes = new Map<string, number[]>(loads.map(({ file }) => [file, []]));
    for (let round = 0; round < LOAD_RUNS; round += 1) {
      for (const { file, environment } of loads) {
        const output = execFileSync(process.execPath, [timer, file], {
          env: { ...process.env, ...environment },
          encoding: 'utf8',
        });
        loadTimes.get(file)?.push(Number(output));
      }
    }
    const referenceMs = median(loadTimes.get(reference) ?? []);
    const figures: Figure[] = [];
    for (const [handler, { file, everyPartKib }] of bundles) {
      const loadMs = median(loadTimes.get(file) ?? []);
      figures.push(
        {
          label: `${handler}: bundle size, minified`,
          value: Number(kibOf(file).toFixed(1)),
          unit: 'KiB',
          goal: { atMost: GOAL_KIB },
          detail: `with every optional part (S3 and Lambda sources, Redis, cache lookup, token auth): ${everyPartKib.toFixed(1)} KiB`,
        },
        {
          label: `${handler}: cold import ÷ SQS-only bundle`,
          value: loadMs / referenceMs,
          detail: `${loadMs.toFixed(1)} ms vs ${referenceMs.toFixed(1)} ms (SQS-only bundle: ${kibOf(reference).toFixed(1)} KiB)`,
        },
      );
    }
    for (const figure of figures) printFigure(figure);
    return figures;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
};
