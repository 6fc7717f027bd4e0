import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { VALUE_SOURCE_VARIABLE } from '../functions/adapters/sourceConfig';
import { resourceVariable } from '../functions/handlers/environment';
import { FUNCTION_BUNDLE_OPTIONS } from '../infra/functionBundling';
import type { Scenario } from './index';
import { type Figure, printFigure, printScenario } from './report';

const HANDLERS = ['warm', 'consume', 'track', 'control'] as const;
const GOAL_KIB = 600;
/** Fresh node processes per bundle; the median is reported. */
const LOAD_RUNS = 9;

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * What the construct sets on the functions, so each bundle loads as at a Lambda cold start: its
 * configuration is read and its clients created, and nothing is called.
 */
const COLD_START_ENVIRONMENT: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  [resourceVariable('warmQueueUrl')]: 'https://sqs.us-east-1.amazonaws.com/123456789012/warm',
  [resourceVariable('warmDlqUrl')]: 'https://sqs.us-east-1.amazonaws.com/123456789012/warm-dlq',
  [resourceVariable('accessDlqUrl')]: 'https://sqs.us-east-1.amazonaws.com/123456789012/access-dlq',
  [resourceVariable('runsTable')]: 'runs',
  [resourceVariable('trackerTable')]: 'tracker',
  [resourceVariable('cacheName')]: 'bench-cache',
  [resourceVariable('cacheAuth')]: 'iam',
  [resourceVariable('cacheUser')]: 'warmer',
  [VALUE_SOURCE_VARIABLE]: JSON.stringify({
    type: 'http',
    urlTemplate: 'https://api.example.com/items/{key}',
  }),
};

/** Imports the module named by its argument, prints how long that took (ms), and exits. */
const LOAD_TIMER = `const started = performance.now();
await import(process.argv[2]);
process.stdout.write(String(performance.now() - started));
process.exit(0);
`;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/**
 * Bundles each handler as the `CacheWarmer` construct does (the same esbuild options), and a bundle
 * that only imports `@aws-sdk/client-sqs` as the reference; reports each handler's size against the
 * goal and its cold import time as a ratio of the reference's, each the median of fresh node processes
 * taking turns, so that both see the same machine.
 */
export const run: Scenario = async () => {
  printScenario(
    `Function bundles (esbuild as the construct bundles them; cold import: median of ${LOAD_RUNS} fresh processes)`,
  );
  const directory = mkdtempSync(join(tmpdir(), 'cache-warmers-bundles-'));
  try {
    const bundles: Record<string, string> = {};
    for (const handler of HANDLERS) {
      bundles[handler] = join(directory, `${handler}.mjs`);
      await build({
        ...FUNCTION_BUNDLE_OPTIONS,
        entryPoints: [join(projectRoot, 'functions', 'handlers', `${handler}.ts`)],
        outfile: bundles[handler],
        logLevel: 'error',
      });
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
    const loadTimes = new Map<string, number[]>(
      [...Object.values(bundles), reference].map((file) => [file, []]),
    );
    for (let round = 0; round < LOAD_RUNS; round += 1) {
      for (const [file, times] of loadTimes) {
        const output = execFileSync(process.execPath, [timer, file], {
          env: { ...process.env, ...COLD_START_ENVIRONMENT },
          encoding: 'utf8',
        });
        times.push(Number(output));
      }
    }
    const referenceMs = median(loadTimes.get(reference) ?? []);
    const figures: Figure[] = [];
    for (const handler of HANDLERS) {
      const file = bundles[handler] ?? '';
      const kib = statSync(file).size / 1024;
      const loadMs = median(loadTimes.get(file) ?? []);
      figures.push(
        {
          label: `${handler}: bundle size, minified`,
          value: Number(kib.toFixed(1)),
          unit: 'KiB',
          goal: { atMost: GOAL_KIB },
        },
        {
          label: `${handler}: cold import ÷ SQS-only bundle`,
          value: loadMs / referenceMs,
          detail: `${loadMs.toFixed(1)} ms vs ${referenceMs.toFixed(1)} ms (SQS-only bundle: ${(statSync(reference).size / 1024).toFixed(1)} KiB)`,
        },
      );
    }
    for (const figure of figures) printFigure(figure);
    return figures;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
};
