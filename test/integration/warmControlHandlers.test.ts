import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackerTableDefinition } from '../../functions/adapters/DynamoAccessTracker';
import { runsTableDefinition } from '../../functions/adapters/DynamoRunStore';
import { parseWarmMessage } from '../../functions/adapters/warmMessage';
import { createLambdaContext } from '../../functions/local/lambdaContext';
import { type LocalDynamo, startLocalDynamo } from '../support/dynalite';
import { type LocalSqs, startLocalSqs } from '../support/fauxqs';
import { type Handler, useLocalAws } from '../support/handlerEnvironment';

let sqs: LocalSqs;
let dynamo: LocalDynamo;
let queueUrl: string;
let warm: Handler;
let control: Handler;
let track: Handler;
let accessDlqUrl: string;
let continuationQueueUrl: string;

const context = (functionName: string) =>
  createLambdaContext({ functionName, deadline: Date.now() + 30_000 });

beforeAll(async () => {
  [sqs, dynamo] = await Promise.all([startLocalSqs(), startLocalDynamo()]);
  const queues = await sqs.createQueueWithDlq('warm', { maxReceiveCount: 5, visibilityTimeoutSeconds: 30 });
  queueUrl = queues.queueUrl;
  await dynamo.createTable(runsTableDefinition('runs'));
  await dynamo.createTable(trackerTableDefinition('tracker'));
  accessDlqUrl = (
    await sqs.createQueueWithDlq('access', { maxReceiveCount: 5, visibilityTimeoutSeconds: 30 })
  ).dlqUrl;
  continuationQueueUrl = await sqs.createQueue('continue');
  useLocalAws(sqs, dynamo, {
    CODOMYRMEX_WARMING_CONTINUATION_QUEUE_URL: continuationQueueUrl,
    CODOMYRMEX_WARMING_WARM_QUEUE_URL: queues.queueUrl,
    CODOMYRMEX_WARMING_WARM_DLQ_URL: queues.dlqUrl,
    CODOMYRMEX_WARMING_RUNS_TABLE: 'runs',
    CODOMYRMEX_WARMING_TRACKER_TABLE: 'tracker',
    CODOMYRMEX_WARMING_ACCESS_DLQ_URL: accessDlqUrl,
    CODOMYRMEX_WARMING_KEY_SOURCES: JSON.stringify([{ type: 'static', keys: ['home', 'menu', 'footer'] }]),
  });
  warm = (await import('../../functions/handlers/warm')).handler as unknown as Handler;
  control = (await import('../../functions/handlers/control')).handler as unknown as Handler;
  track = (await import('../../functions/handlers/track')).handler as unknown as Handler;
});

afterAll(async () => {
  await Promise.all([sqs?.close(), dynamo?.close()]);
});

const receiveAll = async () => {
  const response = await sqs.client.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  return (response.Messages ?? []).map((message) => parseWarmMessage(message.Body ?? ''));
};

describe('warm and control handlers', () => {
  it('rejects an unknown field or a wrong type with a message naming it, and queues nothing', async () => {
    expect(await warm({ keys: 'home' }, context('warm'))).toEqual({
      ok: false,
      error: 'invalid payload: keys: Invalid input: expected array, received string',
    });
    expect(await warm({ dryrun: true }, context('warm'))).toEqual({
      ok: false,
      error: 'invalid payload: Unrecognized key: "dryrun"',
    });
    expect(await receiveAll()).toEqual([]);
  });

  it('a dry run plans the configured keys without queuing them', async () => {
    const plan = await warm({ dryRun: true }, context('warm'));

    expect(plan).toMatchObject({ ok: true, status: 'planned', keysPlanned: 3, messages: 1, sqsRequests: 1 });
    expect(await receiveAll()).toEqual([]);
  });

  it('a scheduled warm queues the keys, records the run, and control reports and cancels it', async () => {
    const started = await warm({ trigger: 'schedule' }, context('warm'));
    expect(started).toMatchObject({ ok: true, status: 'started', keysPlanned: 3, messages: 1 });
    const runId = String(started.runId);
    expect((await receiveAll()).flatMap((message) => message.keys)).toEqual(['home', 'menu', 'footer']);

    const skipped = await warm({ trigger: 'schedule' }, context('warm'));
    expect(skipped).toMatchObject({ ok: true, status: 'skipped', runInFlight: runId });

    const status = await control({ action: 'status', runId }, context('control'));
    expect(status).toMatchObject({
      ok: true,
      // The defaults: a failed key waits under 10 s before its second delivery, under 20 s before its third.
      run: { runId, status: 'running', planned: 3, remaining: 3, retryWaitsSeconds: [10, 20] },
    });

    const cancelled = await control({ action: 'cancel', runId }, context('control'));
    expect(cancelled).toMatchObject({ ok: true, run: { status: 'cancelled' } });
    const runs = await control({ action: 'runs', limit: 5 }, context('control'));
    expect(runs).toMatchObject({ ok: true, runs: [{ runId, status: 'cancelled' }] });
  });

  it('control names an unknown run and an unknown action', async () => {
    expect(await control({ action: 'status', runId: 'nope' }, context('control'))).toEqual({
      ok: false,
      error: 'no run nope: `warmers runs` lists the recent runs',
    });
    const unknown = await control({ action: 'explode' }, context('control'));
    expect(unknown.ok).toBe(false);
    expect(String(unknown.error)).toMatch(/^invalid payload: action: /);
  });

  it('track applies access events once, dead-letters a malformed one, and feeds hot keys and adaptive warms', async () => {
    const sqsRecord = (messageId: string, body: string) => ({
      messageId,
      body,
      receiptHandle: messageId,
      attributes: {},
    });
    const events = {
      v: 1,
      id: 'web-1/000001',
      at: Date.now(),
      counts: { 'product:7': 40, 'product:9': 12, 'product:1': 1 },
    };
    const batch = {
      Records: [sqsRecord('m1', JSON.stringify(events)), sqsRecord('m2', '{"v":1,"counts":"lots"}')],
    };

    expect(await track(batch, context('track'))).toEqual({ batchItemFailures: [] });
    expect(await track({ Records: [batch.Records[0]] }, context('track'))).toEqual({ batchItemFailures: [] });

    const hot = await control({ action: 'hotKeys', limit: 5 }, context('control'));
    expect(hot).toMatchObject({
      ok: true,
      hotKeys: [
        { key: 'product:7', count: 40 },
        { key: 'product:9', count: 12 },
        { key: 'product:1', count: 1 },
      ],
    });
    const deadLetters = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: accessDlqUrl,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    expect(deadLetters.Messages?.[0]?.MessageAttributes?.reason?.StringValue).toMatch(
      /^access event body is not an access event batch/,
    );

    const adaptive = await warm({ provider: 'adaptive', limit: 1, force: true }, context('warm'));
    expect(adaptive).toMatchObject({ ok: true, status: 'started', keysPlanned: 1 });
    expect((await receiveAll()).flatMap((message) => message.keys)).toEqual(['product:7']);
  });
});

describe('warm handler continuation messages', () => {
  it('sends a watchdog continuation when a run starts, and takes SQS events of continuation messages', async () => {
    const started = (await warm({ force: true }, context('warm'))) as { ok: true; runId: string };
    const watchdog = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: continuationQueueUrl,
        MessageSystemAttributeNames: ['All'],
        WaitTimeSeconds: 0,
      }),
    );
    // Delayed past the segment's budget: not visible yet.
    expect(watchdog.Messages ?? []).toEqual([]);

    const body = JSON.stringify({ runId: started.runId, segment: 0 });
    expect(await warm({ Records: [{ messageId: 'm-1', body }] }, context('warm'))).toEqual({
      ok: true,
      // The run was planned whole already: the continuation has nothing left to do.
      continued: [{ status: 'stale', runId: started.runId, segment: 0 }],
    });
    expect(await warm({ Records: [{ messageId: 'm-2', body: '{"runId":"r"}' }] }, context('warm'))).toEqual({
      ok: false,
      error: 'invalid payload: segment: Invalid input: expected number, received undefined',
    });
  });
});
