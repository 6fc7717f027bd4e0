import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, expect } from 'vitest';
import type { DeadLetter } from '../../functions/adapters/DeadLetterQueue';
import { RedisStore } from '../../functions/adapters/RedisStore';
import type { RunStatusReport } from '../../functions/adapters/runStatus';
import { sleep } from '../../functions/core';
import { type LocalRuntime, startLocalRuntime } from '../../functions/local/LocalRuntime';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../functions/local/localAws';
import { type LocalRedis, startRedisServer } from './redisServer';

/**
 * A run of a hundred warm messages, fifty consume invocations eight at a time: enough for a Redis
 * restart to land in the middle of it. Throughput at scale is the benchmark's to measure, not the tests'.
 */
export const KEYS = 10_000;
export const keys = Array.from({ length: KEYS }, (_, index) => `item:${index}`);
export const POISON = 'item:7331';
/** One key in 1,000 fails its first load and loads on the next. */
const isFlaky = (key: string) => Number(key.slice('item:'.length)) % 1_000 === 500;

let redis: LocalRedis;
let origin: Server;
let runtime: LocalRuntime;
let lambda: LambdaClient;
let store: RedisStore;
/** How often the origin was asked for each key. */
export const originLoads = new Map<string, number>();

/** The value origin: a JSON document per key; flaky keys answer 500 once, the poison key always. */
const startOrigin = async () => {
  const server = createServer((request, response) => {
    const key = decodeURIComponent(request.url?.slice('/values/'.length) ?? '');
    const loads = (originLoads.get(key) ?? 0) + 1;
    originLoads.set(key, loads);
    if (key === POISON || (isFlaky(key) && loads === 1)) {
      response.writeHead(500).end(key === POISON ? 'row 7331 is corrupt' : 'connection reset');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ key }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
};

/** Invokes a local function through the Lambda Invoke endpoint, as the CLI and the console do. */
const invoke = async (functionName: string, payload: unknown): Promise<Record<string, unknown>> => {
  const output = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    }),
  );
  const answer = JSON.parse(new TextDecoder().decode(output.Payload)) as Record<string, unknown>;
  if (output.FunctionError) throw new Error(`${functionName} failed: ${JSON.stringify(answer)}`);
  return answer;
};

const runStatus = async (runId: string): Promise<RunStatusReport> =>
  ((await runtime.invoke('control', { action: 'status', runId })) as { run: RunStatusReport }).run;

export const waitForRun = async (
  runId: string,
  until: (run: RunStatusReport) => boolean,
): Promise<RunStatusReport> => {
  for (;;) {
    const run = await runStatus(runId);
    if (until(run)) return run;
    await sleep(250);
  }
};

export const startWarm = async (warmKeys: string[]): Promise<string> => {
  const started = await invoke(runtime.functionNames.warm, { keys: warmKeys, trigger: 'cli' });
  expect(started).toMatchObject({ ok: true, status: 'started', keysPlanned: warmKeys.length });
  return String(started.runId);
};

const keysInRedis = async (): Promise<string[]> => {
  const remaining = await store.remainingTtl(keys);
  return keys.filter((key) => remaining.get(key) !== undefined);
};

const deadLettersOf = async (runId: string): Promise<DeadLetter[]> => {
  const { messages } = (await runtime.invoke('control', { action: 'dlq', limit: 10 })) as {
    messages: DeadLetter[];
  };
  return messages.filter((letter) => letter.runId === runId);
};

/**
 * What every run must end with: each of its keys warmed but the poison one, which (when the run has
 * it) failed and is dead-lettered alone; the run's letters are returned.
 */
export const expectRunEndedWhole = async (runId: string, run: RunStatusReport, warmKeys: string[]) => {
  const letters = await deadLettersOf(runId);
  // On a failure, why keys were skipped or dead-lettered says what went wrong.
  const why = JSON.stringify({
    skippedReasons: run.skippedReasons,
    deadLetters: letters.map(({ keys: lettered, reason, errors }) => ({
      keys: lettered.length,
      reason,
      errors: Object.values(errors).slice(0, 3),
    })),
  });
  const poisoned = warmKeys.filter((key) => key === POISON);
  expect(run, why).toMatchObject({
    status: 'finished',
    planned: warmKeys.length,
    warmed: KEYS - 1,
    failed: poisoned.length,
    skipped: 0,
    remaining: 0,
  });
  const cached = await keysInRedis();
  expect(cached).toHaveLength(KEYS - 1);
  expect(cached).not.toContain(POISON);
  // What an application reading the key sees: exactly the origin's body.
  const { stdout } = await promisify(execFile)('redis-cli', ['-p', String(redis.port), 'GET', 'item:500']);
  expect(stdout).toBe(`${JSON.stringify({ key: 'item:500' })}\n`);
  expect(letters.flatMap((letter) => letter.keys)).toEqual(poisoned);
  return letters;
};

/**
 * Starts, for the tests of a file, a Redis server, the origin and a local runtime over them: `deliveries`
 * a key, the waits between them at most 2, 4, 8… times `requeueDelaySeconds`. One local
 * runtime per process: its handlers read their configuration when first imported.
 */
export const useLocalRuntimeScenario = ({
  deliveries,
  requeueDelaySeconds,
}: {
  deliveries: number;
  requeueDelaySeconds: number;
}): { redis: () => LocalRedis } => {
  beforeAll(async () => {
    [redis, origin] = await Promise.all([startRedisServer({}, { durable: true }), startOrigin()]);
    runtime = await startLocalRuntime({
      cacheUrl: redis.url,
      warming: { maxWorkers: 8, retryBaseDelayMs: 5, maxRetries: deliveries, requeueDelaySeconds },
      valueSource: {
        type: 'http',
        urlTemplate: `http://127.0.0.1:${(origin.address() as AddressInfo).port}/values/{key}`,
      },
      // Two messages per invocation, 200 keys in 30 s, leave the consumer ample time on a busy machine:
      // an invocation that timed out would leave its keys leased to a loader that no longer reports them.
      consumerTimeoutSeconds: 30,
      consumerBatchSize: 2,
      logLevel: 'SILENT',
    });
    lambda = new LambdaClient({
      endpoint: runtime.endpoints.lambda,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    store = new RedisStore({ url: redis.url });
  }, 60_000);

  afterAll(async () => {
    lambda?.destroy();
    await store?.close();
    await runtime?.stop();
    await redis?.stop();
    origin?.close();
  });

  return { redis: () => redis };
};
