import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../functions/adapters/DeadLetterQueue';
import { RedisStore } from '../../functions/adapters/RedisStore';
import type { RunStatusReport } from '../../functions/adapters/runStatus';
import { sleep } from '../../functions/core';
import { type LocalRuntime, startLocalRuntime } from '../../functions/local/LocalRuntime';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../functions/local/localAws';
import { type LocalRedis, startRedisServer } from '../support/redisServer';

/**
 * A run of a hundred warm messages, fifty consume invocations eight at a time: enough for a Redis
 * restart to land in the middle of it. Throughput at scale is the benchmark's to measure, not this test's.
 */
const KEYS = 10_000;
const keys = Array.from({ length: KEYS }, (_, index) => `item:${index}`);
const POISON = 'item:7331';
/** One key in 1,000 fails its first load and loads on the next. */
const isFlaky = (key: string) => Number(key.slice('item:'.length)) % 1_000 === 500;

let redis: LocalRedis;
let origin: Server;
let runtime: LocalRuntime;
let lambda: LambdaClient;
let store: RedisStore;
const originLoads = new Map<string, number>();

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

const waitForRun = async (
  runId: string,
  until: (run: RunStatusReport) => boolean,
): Promise<RunStatusReport> => {
  for (;;) {
    const run = await runStatus(runId);
    if (until(run)) return run;
    await sleep(250);
  }
};

const startWarm = async (): Promise<string> => {
  const started = await invoke(runtime.functionNames.warm, { keys, trigger: 'cli' });
  expect(started).toMatchObject({ ok: true, status: 'started', keysPlanned: KEYS });
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

/** What every run must end with: all keys but the poison one warmed, the poison one failed. */
const expectRunEndedWhole = async (runId: string, run: RunStatusReport) => {
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
  expect(run, why).toMatchObject({
    status: 'finished',
    planned: KEYS,
    warmed: KEYS - 1,
    failed: 1,
    skipped: 0,
    remaining: 0,
  });
  const cached = await keysInRedis();
  expect(cached).toHaveLength(KEYS - 1);
  expect(cached).not.toContain(POISON);
  // What an application reading the key sees: exactly the origin's body.
  const { stdout } = await promisify(execFile)('redis-cli', ['-p', String(redis.port), 'GET', 'item:500']);
  expect(stdout).toBe(`${JSON.stringify({ key: 'item:500' })}\n`);
  expect(letters.flatMap((letter) => letter.keys)).toEqual([POISON]);
  expect(letters[0]?.errors[POISON]).toMatch(/answered 500 .*row 7331 is corrupt/);
  expect(letters[0]?.reason).toBe('failed 4 deliveries');
};

beforeAll(async () => {
  [redis, origin] = await Promise.all([startRedisServer({}, { durable: true }), startOrigin()]);
  runtime = await startLocalRuntime({
    cacheUrl: redis.url,
    // Four deliveries, 3 s apart and doubling, give keys caught by the Redis restart up to 42 s to find it
    // back on a busy machine, where the restart and the reconnect can take several seconds.
    warming: { maxWorkers: 8, retryBaseDelayMs: 5, maxRetries: 4, requeueDelaySeconds: 3 },
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

describe('the local runtime: warm → SQS → consume → Redis, with the Lambda Invoke API in front', () => {
  it('warms 10,000 keys: every key but the poison one in Redis, the poison one in the DLQ, exact counts', async () => {
    const runId = await startWarm();

    const run = await waitForRun(runId, (current) => current.status !== 'running');

    await expectRunEndedWhole(runId, run);
    expect(originLoads.get('item:500')).toBe(2);
  }, 300_000);

  it('ends the same way when redis-server is killed and restarted midway', async () => {
    await promisify(execFile)('redis-cli', ['-p', String(redis.port), 'FLUSHALL']);
    originLoads.clear();
    const runId = await startWarm();

    await waitForRun(runId, (current) => current.warmed >= KEYS / 2);
    await redis.kill();
    await redis.restart();
    const run = await waitForRun(runId, (current) => current.status !== 'running');

    await expectRunEndedWhole(runId, run);
  }, 300_000);
});
