import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runsTableDefinition } from '../../functions/adapters/DynamoRunStore';
import { RedisStore } from '../../functions/adapters/RedisStore';
import { parseWarmMessage } from '../../functions/adapters/warmMessage';
import { sleep } from '../../functions/core';
import { createLambdaContext } from '../../functions/local/lambdaContext';
import { SqsEventSourcePoller } from '../../functions/local/SqsEventSourcePoller';
import { type LocalDynamo, startLocalDynamo } from '../support/dynalite';
import { type LocalSqs, startLocalSqs } from '../support/fauxqs';
import { useLocalAws } from '../support/handlerEnvironment';
import { startRedisServer } from '../support/redisServer';

const KEYS = 10_000;
const keys = Array.from({ length: KEYS }, (_, index) => `item:${index}`);
const POISON = 'item:4242';

type Invoke = (event: unknown, context: Context) => Promise<Record<string, unknown>>;
let sqs: LocalSqs;
let dynamo: LocalDynamo;
let redis: Awaited<ReturnType<typeof startRedisServer>>;
let origin: Server;
let originLoads = new Map<string, number>();
let queues: { queueUrl: string; dlqUrl: string };
let warm: Invoke;
let control: Invoke;
let consume: (event: SQSEvent, context: Context) => Promise<unknown>;
let store: RedisStore;

const context = (functionName: string) =>
  createLambdaContext({ functionName, deadline: Date.now() + 60_000 });

/** The value origin: a JSON document per key over HTTP; the poison key always answers 500. */
const startOrigin = async () => {
  const server = createServer((request, response) => {
    const key = decodeURIComponent(request.url?.slice('/values/'.length) ?? '');
    originLoads.set(key, (originLoads.get(key) ?? 0) + 1);
    if (key === POISON) {
      response.writeHead(500).end('row 4242 is corrupt');
      return;
    }
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ key, price: key.length }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
};

const waitForRun = async (
  runId: string,
  done: (run: Record<string, unknown>) => boolean,
  timeoutMs = 90_000,
) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { run } = (await control({ action: 'status', runId }, context('control'))) as {
      run: Record<string, unknown>;
    };
    if (done(run)) return run;
    if (Date.now() > deadline)
      throw new Error(`run ${runId} still ${JSON.stringify(run)} after ${timeoutMs} ms`);
    await sleep(250);
  }
};

const drainDlq = async () => {
  const messages = [];
  for (;;) {
    const response = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queues.dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    if (!response.Messages?.length) return messages;
    messages.push(...response.Messages);
  }
};

const withPoller = async <T>(work: () => Promise<T>): Promise<T> => {
  const poller = new SqsEventSourcePoller({
    client: sqs.client,
    queueUrl: queues.queueUrl,
    handler: consume,
    batchSize: 10,
    maximumConcurrency: 4,
    // Far above the second a batch takes: an invocation timed out on a busy machine would run on with
    // its keys leased while its remainder, re-delivered a second later, found them held.
    functionTimeoutSeconds: 120,
    reportBatchItemFailures: true,
    functionName: 'consume',
  });
  await poller.start();
  try {
    return await work();
  } finally {
    await poller.stop();
  }
};

beforeAll(async () => {
  [sqs, dynamo, redis, origin] = await Promise.all([
    startLocalSqs(),
    startLocalDynamo(),
    startRedisServer(),
    startOrigin(),
  ]);
  queues = await sqs.createQueueWithDlq('warm', { maxReceiveCount: 5, visibilityTimeoutSeconds: 180 });
  await dynamo.createTable(runsTableDefinition('runs'));
  useLocalAws(sqs, dynamo, {
    CODOMYRMEX_WARMING_WARM_QUEUE_URL: queues.queueUrl,
    CODOMYRMEX_WARMING_WARM_DLQ_URL: queues.dlqUrl,
    CODOMYRMEX_WARMING_RUNS_TABLE: 'runs',
    CODOMYRMEX_WARMING_CACHE_URL: redis.url,
    CODOMYRMEX_WARMING_MAX_WORKERS: '32',
    CODOMYRMEX_WARMING_RETRY_BASE_DELAY_MS: '5',
    CODOMYRMEX_WARMING_REQUEUE_DELAY_SECONDS: '1',
    CODOMYRMEX_WARMING_KEY_SOURCES: JSON.stringify([{ type: 'static', keys }]),
    CODOMYRMEX_WARMING_VALUE_SOURCE: JSON.stringify({
      type: 'http',
      urlTemplate: `http://127.0.0.1:${(origin.address() as AddressInfo).port}/values/{key}`,
    }),
  });
  warm = (await import('../../functions/handlers/warm')).handler as unknown as Invoke;
  control = (await import('../../functions/handlers/control')).handler as unknown as Invoke;
  consume = (await import('../../functions/handlers/consume')).handler as unknown as typeof consume;
  store = new RedisStore({ url: redis.url });
}, 120_000);

afterAll(async () => {
  await store?.close();
  await Promise.all([sqs?.close(), dynamo?.close(), redis?.stop()]);
  origin?.close();
});

describe('serverless pipeline: warm → SQS → consume → Redis', () => {
  let runId: string;

  it('a scheduled warm of 10,000 keys ends with every key but the poison one in Redis, and exact counts', async () => {
    const started = await warm({ trigger: 'schedule' }, context('warm'));
    expect(started).toMatchObject({ ok: true, status: 'started', keysPlanned: KEYS, messages: 100 });
    runId = String(started.runId);

    const run = await withPoller(() => waitForRun(runId, (current) => current.status === 'finished'));

    expect(run, JSON.stringify(run.skippedReasons)).toMatchObject({
      planned: KEYS,
      warmed: KEYS - 1,
      failed: 1,
      skipped: 0,
      remaining: 0,
    });
    const remaining = await store.remainingTtl(keys);
    const cached = keys.filter((key) => remaining.get(key) !== undefined);
    expect(cached).toHaveLength(KEYS - 1);
    expect(cached).not.toContain(POISON);
    // What an application reading the key sees: exactly the origin's body.
    const { stdout } = await promisify(execFile)('redis-cli', ['-u', redis.url, 'GET', 'item:7']);
    expect(stdout).toBe(`${JSON.stringify({ key: 'item:7', price: 6 })}\n`);
  }, 180_000);

  it('the poison key is in the DLQ with its reason, alone', async () => {
    const letters = await drainDlq();
    const poison = letters.map((letter) => parseWarmMessage(letter.Body ?? ''));

    expect(poison.flatMap((message) => message.keys)).toEqual([POISON]);
    expect(poison[0]?.errors?.[POISON]).toMatch(/500/);
    expect(letters[0]?.MessageAttributes?.reason?.StringValue).toBe('failed 3 deliveries');
  });

  it('a redelivered message changes no count, and a malformed body goes to the DLQ at once', async () => {
    const duplicate = JSON.stringify({ v: 1, runId, id: `${runId}/0`, keys: keys.slice(0, 100), attempt: 0 });
    await sqs.client.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: duplicate }));
    await sqs.client.send(
      new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: 'not json at all' }),
    );

    const letters = await withPoller(async () => {
      const found = [];
      for (let attempt = 0; attempt < 30 && found.length === 0; attempt++) found.push(...(await drainDlq()));
      return found;
    });

    expect(letters.map((letter) => letter.Body)).toEqual(['not json at all']);
    expect(letters[0]?.MessageAttributes?.reason?.StringValue).toMatch(/^message body is not JSON/);
    expect(await waitForRun(runId, () => true)).toMatchObject({ warmed: KEYS - 1, failed: 1, skipped: 0 });
  }, 120_000);

  it('cancel stops the remaining messages of a run from loading', async () => {
    const started = await warm({ keys: keys.slice(0, 500), force: true }, context('warm'));
    const cancelledRunId = String(started.runId);
    expect(await control({ action: 'cancel', runId: cancelledRunId }, context('control'))).toMatchObject({
      ok: true,
      run: { status: 'cancelled' },
    });
    originLoads = new Map();

    const run = await withPoller(() =>
      waitForRun(cancelledRunId, (current) => Number(current.skipped) === 500, 60_000),
    );

    expect(run).toMatchObject({ status: 'cancelled', warmed: 0, skipped: 500 });
    expect(originLoads.size).toBe(0);
  }, 90_000);
});
