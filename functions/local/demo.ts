import { parseArgs } from 'node:util';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { RunStatusReport } from '../adapters/runStatus';
import { parseValueSource, VALUE_SOURCE_VARIABLE } from '../adapters/sourceConfig';
import {
  AccessReporter,
  CacheWarmersError,
  describeError,
  environmentVariableFor,
  loadWarmingConfig,
  WarmingStrategy,
  withTimeout,
} from '../core';
import { followRun } from './cli/followRun';
import { renderSkippedReasons } from './cli/formatResults';
import { localRuntimeFunctions } from './cli/LambdaWarmerFunctions';
import type { WarmerFunctions } from './cli/types';
import { startLocalRuntime } from './LocalRuntime';
import type { ScheduledWarm } from './LocalScheduler';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './localAws';
import { readCacheValues } from './localDeployment';
import { formatCount, formatDuration, ProgressBar } from './ProgressBar';
import {
  createSampleOrigin,
  createZipfSampler,
  defaultSampleOrigin,
  productKey,
  seededRandom,
} from './sampleCatalog';
import { startSampleOriginServer } from './sampleOriginServer';

const USAGE =
  'usage: npm start -- [--keys N] [--reads N] [--json]   (for a pipe: npm start --silent -- --json)';
/** How often the demo asks the control function for a run's status. */
const STATUS_POLL_MS = 250;
/** Bounds on the waits, so a broken setup ends with an error instead of hanging. */
const SCHEDULE_WAIT_MS = 60_000;
const RUN_WAIT_SECONDS = 600;
const DRAIN_WAIT_MS = 60_000;
/** The adaptive warm takes this many of the hottest keys. */
const ADAPTIVE_LIMIT = 100;
const SHOWN_HOT_KEYS = 10;
const SHOWN_DEAD_LETTERS = 10;

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
      throw new CacheWarmersError(`--${name} must be a whole number ≥ 1, got "${values[name]}"`);
    return value;
  };
  return { keys: count('keys'), reads: count('reads'), json: values.json, help: values.help };
};

const startedRunId = (answer: unknown, what: string): string => {
  const outcome = answer as { status?: string; runId?: string; error?: string; reason?: string };
  if (outcome.status !== 'started' || !outcome.runId)
    throw new CacheWarmersError(
      `${what} did not start a run: ${outcome.error ?? outcome.reason ?? JSON.stringify(answer)}`,
    );
  return outcome.runId;
};

/** Follows a run to its end, with a progress bar unless the output is JSON. */
const followToEnd = async (functions: WarmerFunctions, runId: string, json: boolean) => {
  const { run, end } = await followRun(runId, {
    functions,
    timeoutSeconds: RUN_WAIT_SECONDS,
    progress: json ? undefined : new ProgressBar(),
    pollIntervalMs: STATUS_POLL_MS,
  });
  if (end !== 'ended') throw new CacheWarmersError(`run ${runId} still running after ${RUN_WAIT_SECONDS} s`);
  return run;
};

/** A run's figures in a line, then its skipped keys by reason. */
const describeRun = (run: RunStatusReport): string => {
  const tookMs = run.endedAt ? Date.parse(run.endedAt) - Date.parse(run.startedAt) : undefined;
  const figures =
    `  run ${run.runId} ${run.status}: warmed ${formatCount(run.warmed)}, failed ${formatCount(run.failed)}, ` +
    `skipped ${formatCount(run.skipped)} of ${formatCount(run.planned)} in ${formatDuration(tookMs)} ` +
    `(${formatCount(run.keysPerSecond)} keys/s)`;
  const skipped = renderSkippedReasons(run);
  return skipped === undefined ? figures : `${figures}\n${skipped.replace(/^/gm, '  ')}`;
};

const main = async () => {
  // The SDK's notice that its 2027 releases drop Node 20 would otherwise open every demo's output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const options = parseOptions();
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const log = options.json ? () => {} : console.log;
  // The demo's warm is the schedule's. Two deliveries per key, at most 2 s apart, keep the broken keys'
  // way to the DLQ short; every other option is the engine's default, and CODOMYRMEX_WARMING_* changes
  // any of them.
  const config = loadWarmingConfig({
    [environmentVariableFor('maxRetries')]: '2',
    [environmentVariableFor('requeueDelaySeconds')]: '1',
    ...process.env,
    [environmentVariableFor('strategy')]: WarmingStrategy.SCHEDULED,
  });
  const keys = Array.from({ length: options.keys }, (_, id) => productKey(id));
  const origin = await startSampleOriginServer(
    createSampleOrigin({ ...defaultSampleOrigin, keyCount: options.keys }),
  );
  let firstScheduledWarm: (warm: ScheduledWarm) => void = () => {};
  const scheduledWarm = new Promise<ScheduledWarm>((resolve) => {
    firstScheduledWarm = resolve;
  });
  const runtime = await startLocalRuntime({
    warming: config,
    keySources: [{ type: 'static', keys }],
    valueSource: process.env[VALUE_SOURCE_VARIABLE]
      ? parseValueSource(process.env)
      : { type: 'http', urlTemplate: origin.urlTemplate },
    cacheValues: readCacheValues(process.env),
    logLevel: 'ERROR',
    onScheduledWarm: (warm) => firstScheduledWarm(warm),
  }).catch(async (error: unknown) => {
    await origin.close();
    throw error;
  });
  const sqs = new SQSClient({
    endpoint: runtime.endpoints.sqs,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  // The demo operates the runtime as the CLI does: through the Lambda Invoke endpoint.
  const functions = localRuntimeFunctions(runtime, 'the demo stopped its runtime');
  try {
    log(
      `Local runtime in this process: Lambda ${runtime.endpoints.lambda} · SQS ${runtime.endpoints.sqs} · ` +
        `DynamoDB ${runtime.endpoints.dynamodb} · cache ${runtime.cacheUrl}`,
    );
    log(
      `\nScheduled warm of ${formatCount(options.keys)} sample products from an HTTP origin with latency and failures\n` +
        `(every ${config.refreshIntervalSeconds} s, maxWorkers ${config.maxWorkers}, maxRetries ${config.maxRetries}; ` +
        'set CODOMYRMEX_WARMING_* to change)',
    );
    const schedule = await withTimeout(
      () => scheduledWarm,
      SCHEDULE_WAIT_MS,
      'waiting for the scheduled warm',
    );
    const scheduledRunId = startedRunId(schedule.result ?? { error: schedule.error }, 'the scheduled warm');
    const initial = await followToEnd(functions, scheduledRunId, options.json);
    log(describeRun(initial));

    // Application reads, Zipf-distributed as real traffic is; the reporter sends their counts to the
    // access queue, whose event source runs the track function.
    const reporter = new AccessReporter({
      send: async (batch) => {
        await sqs.send(
          new SendMessageCommand({ QueueUrl: runtime.queueUrls.access, MessageBody: JSON.stringify(batch) }),
        );
      },
    });
    const drawProduct = createZipfSampler(options.keys, seededRandom(42));
    let hits = 0;
    for (let read = 0; read < options.reads; read++) {
      const key = productKey(drawProduct());
      if ((await runtime.cache.get(key)) !== undefined) hits++;
      reporter.record(key);
    }
    await reporter.close();
    await runtime.drain({ timeoutMs: DRAIN_WAIT_MS });
    const cacheHitRate = hits / options.reads;
    const { hotKeys } = await functions.control({ action: 'hotKeys', limit: SHOWN_HOT_KEYS });
    log(
      `\n${formatCount(options.reads)} simulated reads, ${(cacheHitRate * 100).toFixed(1)}% served from the cache; ` +
        'their counts went through the access queue to the track function. Hottest keys:',
    );
    for (const { key, count } of hotKeys) log(`  ${key.padEnd(16)} ${formatCount(count)} reads`);

    log(`\nAdaptive warm of the ${ADAPTIVE_LIMIT} hottest keys`);
    const adaptiveRunId = startedRunId(
      await functions.warm({ provider: 'adaptive', limit: ADAPTIVE_LIMIT, trigger: 'local' }),
      'the adaptive warm',
    );
    const adaptive = await followToEnd(functions, adaptiveRunId, options.json);
    log(describeRun(adaptive));

    const answer = await functions.control({ action: 'dlq', redrive: false, limit: SHOWN_DEAD_LETTERS });
    if (!('messages' in answer))
      throw new CacheWarmersError('the control function redrove the DLQ when asked to peek at it');
    const { messages } = answer;
    log(`\nDead-letter queue: ${messages.length === 0 ? 'empty' : `${messages.length} message(s)`}`);
    for (const letter of messages)
      for (const key of letter.keys) log(`  ${key.padEnd(16)} ${letter.reason}: ${letter.errors[key] ?? ''}`);

    if (options.json) {
      console.log(
        JSON.stringify({
          keys: options.keys,
          cacheUrl: runtime.cacheUrl,
          scheduledWarm: initial,
          reads: options.reads,
          cacheHitRate,
          hotKeys,
          adaptiveWarm: adaptive,
          deadLetters: messages.map(({ keys: lettered, reason, errors, runId }) => ({
            runId,
            keys: lettered,
            reason,
            errors,
          })),
        }),
      );
    }
  } finally {
    functions.close();
    sqs.destroy();
    await runtime.stop();
    await origin.close();
  }
};

main().catch((error: unknown) => {
  console.error(`error: ${describeError(error)}`);
  console.error(USAGE);
  process.exitCode = 1;
});
