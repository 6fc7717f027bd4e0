import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsSender } from '../../functions/adapters/SqsSender';
import { ConfigurationError, sleep, TimeoutError, withTimeout } from '../../functions/core';
import {
  type InvocationReport,
  type SqsBatchHandler,
  SqsEventSourcePoller,
  type SqsEventSourcePollerOptions,
} from '../../functions/local/SqsEventSourcePoller';
import { type LocalSqs, startLocalSqs } from '../support/fauxqs';

let sqs: LocalSqs;
let queueNumber = 0;
const pollers: SqsEventSourcePoller[] = [];

beforeAll(async () => {
  sqs = await startLocalSqs();
});

afterAll(async () => {
  await Promise.all(pollers.map((poller) => poller.stop()));
  await sqs?.close();
});

/**
 * Three seconds of visibility: a redelivery test waits them out, but a batch still being handled on a
 * busy machine is not received a second time meanwhile.
 */
const newQueue = (options = { maxReceiveCount: 5, visibilityTimeoutSeconds: 3 }) =>
  sqs.createQueueWithDlq(`poller-${++queueNumber}`, options);

const sendBodies = async (queueUrl: string, bodies: readonly string[]): Promise<void> => {
  await new SqsSender(sqs.client, queueUrl).send(bodies.map((body) => ({ body })));
};

const bodies = (count: number, prefix = 'message'): string[] =>
  Array.from({ length: count }, (_, index) => `${prefix}-${index}`);

const startPoller = async (
  options: Omit<SqsEventSourcePollerOptions, 'client'> & { client?: SqsEventSourcePollerOptions['client'] },
): Promise<SqsEventSourcePoller> => {
  const poller = new SqsEventSourcePoller({ client: sqs.client, ...options });
  await poller.start();
  pollers.push(poller);
  return poller;
};

const queueAttribute = async (queueUrl: string, name: 'ApproximateNumberOfMessages'): Promise<number> => {
  const { Attributes } = await sqs.client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [name] }),
  );
  return Number(Attributes?.[name]);
};

const waitUntil = (condition: () => boolean, describe: string): Promise<void> =>
  withTimeout(
    async (signal) => {
      while (!condition()) await sleep(20, signal);
    },
    10_000,
    describe,
  );

/** Records every delivery by body, and each record's receive count. */
const recordingHandler = (decide: (record: SQSRecord) => 'ok' | 'fail' = () => 'ok') => {
  const deliveries = new Map<string, string[]>();
  const handler: SqsBatchHandler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      deliveries.set(record.body, [
        ...(deliveries.get(record.body) ?? []),
        record.attributes.ApproximateReceiveCount,
      ]);
      if (decide(record) === 'fail') batchItemFailures.push({ itemIdentifier: record.messageId });
    }
    return { batchItemFailures };
  };
  return { deliveries, handler };
};

// Each test has queues of its own, so the tests run at once: most of their time is spent waiting out
// visibility timeouts, which SQS counts in whole seconds.
describe.concurrent('SqsEventSourcePoller against fauxqs', () => {
  it('delivers every message exactly once to a handler that succeeds, and deletes it', async () => {
    const { queueUrl } = await newQueue();
    const sent = bodies(250);
    await sendBodies(queueUrl, sent);
    const { deliveries, handler } = recordingHandler();

    const poller = await startPoller({
      queueUrl,
      handler,
      batchSize: 10,
      maximumConcurrency: 4,
      functionTimeoutSeconds: 1,
      reportBatchItemFailures: true,
    });
    await poller.drain({ timeoutMs: 30_000 });

    expect([...deliveries.keys()].sort()).toEqual([...sent].sort());
    expect([...deliveries.values()].every((counts) => counts.length === 1)).toBe(true);
    expect(poller.stats).toMatchObject({ received: 250, deleted: 250, failed: 0, redriven: 0, inFlight: 0 });
  });

  it('builds records the way Lambda does', async () => {
    const { queueUrl } = await newQueue();
    await sqs.client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: '{"hello":"world"}',
        MessageAttributes: { reason: { DataType: 'String', StringValue: 'because' } },
      }),
    );
    const { Attributes } = await sqs.client.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    const events: SQSEvent[] = [];

    const poller = await startPoller({
      queueUrl,
      handler: async (event) => {
        events.push(event);
      },
      maximumConcurrency: 2,
      functionTimeoutSeconds: 1,
    });
    await poller.drain({ timeoutMs: 10_000 });

    expect(events).toHaveLength(1);
    const record = events[0]?.Records[0];
    expect(record).toMatchObject({
      messageId: expect.any(String),
      receiptHandle: expect.any(String),
      body: '{"hello":"world"}',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.stringMatching(/^\d{13}$/),
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
      },
      messageAttributes: {
        reason: { stringValue: 'because', stringListValues: [], binaryListValues: [], dataType: 'String' },
      },
      md5OfBody: expect.stringMatching(/^[0-9a-f]{32}$/),
      eventSource: 'aws:sqs',
      eventSourceARN: Attributes?.QueueArn,
      awsRegion: 'us-east-1',
    });
  });

  it('redelivers only the items a partial batch response reports failed', async () => {
    const { queueUrl, dlqUrl } = await newQueue();
    const sent = bodies(40);
    await sendBodies(queueUrl, sent);
    const failsOnce = new Set(sent.filter((_, index) => index % 3 === 0));
    const { deliveries, handler } = recordingHandler((record) =>
      failsOnce.has(record.body) && record.attributes.ApproximateReceiveCount === '1' ? 'fail' : 'ok',
    );

    const poller = await startPoller({
      queueUrl,
      handler,
      batchSize: 10,
      maximumConcurrency: 3,
      functionTimeoutSeconds: 1,
      reportBatchItemFailures: true,
    });
    await poller.drain({ timeoutMs: 30_000 });

    for (const body of sent) expect(deliveries.get(body)).toEqual(failsOnce.has(body) ? ['1', '2'] : ['1']);
    expect(poller.stats).toMatchObject({ deleted: 40, failed: failsOnce.size, redriven: 0 });
    expect(await queueAttribute(dlqUrl, 'ApproximateNumberOfMessages')).toBe(0);
  });

  const failures: [string, SqsBatchHandler][] = [
    [
      'throws',
      async () => {
        throw new Error('origin down');
      },
    ],
    [
      'reports an itemIdentifier that is not in the batch',
      async () => ({ batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] }),
    ],
    ['reports an empty itemIdentifier', async () => ({ batchItemFailures: [{ itemIdentifier: '' }] })],
    ['outlives the function timeout', () => sleep(1_500)],
  ];

  it.each(failures)('redelivers the whole batch when the handler %s', async (_, fail) => {
    const { queueUrl } = await newQueue();
    const sent = bodies(12);
    await sendBodies(queueUrl, sent);
    const { deliveries, handler: succeed } = recordingHandler();
    const reports: InvocationReport[] = [];
    let failedBatch: string[] | undefined;

    const poller = await startPoller({
      queueUrl,
      handler: async (event, context) => {
        if (failedBatch) return succeed(event, context);
        failedBatch = event.Records.map((record) => record.body);
        return fail(event, context);
      },
      batchSize: 5,
      maximumConcurrency: 2,
      functionTimeoutSeconds: 1,
      reportBatchItemFailures: true,
      onInvoke: (report) => reports.push(report),
    });
    await poller.drain({ timeoutMs: 30_000 });

    const failedReports = reports.filter((report) => report.error !== undefined);
    expect(failedReports).toHaveLength(1);
    expect(failedReports[0]?.deleted).toBe(0);
    expect(failedReports[0]?.failedMessageIds).toHaveLength(failedBatch?.length ?? -1);
    for (const body of sent) {
      // The failed batch's records come back once more; every other record is delivered once.
      expect(deliveries.get(body)).toEqual(failedBatch?.includes(body) ? ['2'] : ['1']);
    }
    expect(poller.stats.deleted).toBe(sent.length);
  });

  it('dead-letters a poison message after maxReceiveCount deliveries, body and attributes intact', async () => {
    const { queueUrl, dlqUrl } = await newQueue({ maxReceiveCount: 2, visibilityTimeoutSeconds: 3 });
    const poison = JSON.stringify({ v: 1, runId: 'run', id: 'run/0', keys: ['poison'], attempt: 0 });
    await sendBodies(queueUrl, bodies(4, 'good'));
    await new SqsSender(sqs.client, queueUrl).send([{ body: poison, attributes: { origin: 'test' } }]);
    const { deliveries, handler } = recordingHandler((record) => (record.body === poison ? 'fail' : 'ok'));

    const poller = await startPoller({
      queueUrl,
      handler,
      batchSize: 10,
      maximumConcurrency: 2,
      functionTimeoutSeconds: 1,
      reportBatchItemFailures: true,
    });
    await poller.drain({ timeoutMs: 30_000 });

    expect(deliveries.get(poison)).toEqual(['1', '2']);
    for (const body of bodies(4, 'good')) expect(deliveries.get(body)).toEqual(['1']);
    expect(poller.stats).toMatchObject({ deleted: 4, redriven: 1 });
    const { Messages = [] } = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    expect(Messages).toHaveLength(1);
    expect(Messages[0]?.Body).toBe(poison);
    expect(Messages[0]?.MessageAttributes?.origin?.StringValue).toBe('test');
  });

  it('never runs more than maximumConcurrency invocations at once', async () => {
    const { queueUrl } = await newQueue();
    await sendBodies(queueUrl, bodies(120));
    let running = 0;
    let mostAtOnce = 0;

    const poller = await startPoller({
      queueUrl,
      handler: async () => {
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        await sleep(10);
        running--;
      },
      batchSize: 2,
      maximumConcurrency: 3,
      functionTimeoutSeconds: 1,
    });
    await poller.drain({ timeoutMs: 30_000 });

    expect(mostAtOnce).toBeLessThanOrEqual(3);
    expect(mostAtOnce).toBeGreaterThan(1);
    expect(poller.stats.deleted).toBe(120);
  });

  it('gathers batches up to batchSize across several receives, never more', async () => {
    const { queueUrl } = await newQueue();
    await sendBodies(queueUrl, bodies(100));
    const sizes: number[] = [];

    const poller = await startPoller({
      queueUrl,
      handler: async (event) => {
        sizes.push(event.Records.length);
      },
      batchSize: 25,
      maximumBatchingWindowSeconds: 1,
      maximumConcurrency: 2,
      functionTimeoutSeconds: 1,
    });
    // Not drain(): it would invoke each receive's records at once instead of gathering them.
    await waitUntil(() => poller.stats.deleted === 100, 'deleting the 100 messages');

    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(100);
    expect(Math.max(...sizes)).toBe(25);
  });

  it('drain() invokes what it receives at once instead of waiting out the batching window', async () => {
    const { queueUrl } = await newQueue({ maxReceiveCount: 5, visibilityTimeoutSeconds: 120 });
    await sendBodies(queueUrl, bodies(3));
    const sizes: number[] = [];
    const poller = await startPoller({
      queueUrl,
      handler: async (event) => {
        sizes.push(event.Records.length);
      },
      batchSize: 1_000,
      maximumBatchingWindowSeconds: 300,
      maximumConcurrency: 2,
      functionTimeoutSeconds: 60,
    });

    // The window would hold the batch for 5 minutes; a bound far below it shows drain() does not wait for it.
    await poller.drain({ timeoutMs: 10_000 });

    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(3);
    expect(poller.stats.deleted).toBe(3);
  });

  it('stops promptly in the middle of a batching window and makes the gathered messages visible again', async () => {
    const { queueUrl } = await newQueue({ maxReceiveCount: 5, visibilityTimeoutSeconds: 120 });
    await sendBodies(queueUrl, bodies(3));
    let invocations = 0;
    const poller = new SqsEventSourcePoller({
      client: sqs.client,
      queueUrl,
      handler: async () => {
        invocations++;
      },
      batchSize: 1_000,
      maximumBatchingWindowSeconds: 300,
      maximumConcurrency: 2,
      functionTimeoutSeconds: 60,
    });
    await poller.start();
    await waitUntil(() => poller.stats.received === 3, 'receiving the 3 messages');

    // The window would hold the batch for 5 minutes; a bound far below it shows stop() does not wait for it.
    await withTimeout(() => poller.stop(), 10_000, 'stop()');

    expect(invocations).toBe(0);
    expect(await queueAttribute(queueUrl, 'ApproximateNumberOfMessages')).toBe(3);
  });

  it('lets the invocation in flight finish before stop() resolves, and starts no new one', async () => {
    const { queueUrl } = await newQueue({ maxReceiveCount: 5, visibilityTimeoutSeconds: 30 });
    await sendBodies(queueUrl, bodies(20));
    let invocationStarted = (): void => undefined;
    const started = new Promise<void>((resolve) => {
      invocationStarted = resolve;
    });
    let finishInvocation = (): void => undefined;
    const finished = new Promise<void>((resolve) => {
      finishInvocation = resolve;
    });
    let invokedWith = 0;
    const poller = await startPoller({
      queueUrl,
      handler: async (event) => {
        invokedWith = event.Records.length;
        invocationStarted();
        await finished;
      },
      batchSize: 20,
      maximumBatchingWindowSeconds: 1,
      maximumConcurrency: 2,
      functionTimeoutSeconds: 30,
    });
    await started;

    let stopped = false;
    const stopping = poller.stop().then(() => {
      stopped = true;
    });
    await sleep(200);
    expect(stopped).toBe(false);
    finishInvocation();
    await stopping;

    expect(poller.stats).toMatchObject({ invocations: 1, inFlight: 0, deleted: invokedWith });
    // The other worker's gathered batch was never invoked: it is back on the queue.
    expect(await queueAttribute(queueUrl, 'ApproximateNumberOfMessages')).toBe(20 - invokedWith);
  });

  it('drain() rejects with what is left when the queue does not empty in time', async () => {
    const { queueUrl } = await newQueue({ maxReceiveCount: 100, visibilityTimeoutSeconds: 1 });
    await sendBodies(queueUrl, bodies(2));
    const poller = await startPoller({
      queueUrl,
      handler: async () => {
        throw new Error('always fails');
      },
      maximumConcurrency: 2,
      functionTimeoutSeconds: 1,
    });

    const draining = poller.drain({ timeoutMs: 1_500 });

    await expect(draining).rejects.toBeInstanceOf(TimeoutError);
    await expect(draining).rejects.toThrow(/queue not drained after 1500 ms: \d+ visible, \d+ in flight/);
  });

  it('refuses settings Lambda refuses', async () => {
    const queueUrl = await sqs.createQueue(`poller-${++queueNumber}`, { VisibilityTimeout: '10' });
    const handler: SqsBatchHandler = async () => undefined;

    const tooLong = new SqsEventSourcePoller({
      client: sqs.client,
      queueUrl,
      handler,
      maximumConcurrency: 2,
      functionTimeoutSeconds: 60,
    });
    await expect(tooLong.start()).rejects.toThrow(
      /visibility timeout \(10 s\) is less than the function timeout/,
    );
    expect(
      () =>
        new SqsEventSourcePoller({
          client: sqs.client,
          queueUrl,
          handler,
          batchSize: 11,
          maximumConcurrency: 2,
        }),
    ).toThrow(ConfigurationError);
    expect(
      () => new SqsEventSourcePoller({ client: sqs.client, queueUrl, handler, maximumConcurrency: 1 }),
    ).toThrow(/maximumConcurrency: must be an integer from 2 to 1000/);
  });
});
