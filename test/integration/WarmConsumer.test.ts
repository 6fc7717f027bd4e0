import type { Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsSender } from '../../functions/adapters/SqsSender';
import { WarmConsumer } from '../../functions/adapters/WarmConsumer';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  MAX_REASON_BYTES,
  parseWarmMessage,
  type WarmMessage,
} from '../../functions/adapters/warmMessage';
import { CallableValueLoader, defaultWarmingConfig, MemoryStore } from '../../functions/core';
import { type LocalSqs, receiveAll, startLocalSqs } from '../support/fauxqs';
import { InMemoryRunStore } from '../support/InMemoryRunStore';

let sqs: LocalSqs;

beforeAll(async () => {
  sqs = await startLocalSqs();
});

afterAll(async () => {
  await sqs?.close();
});

/**
 * 100 keys of about 1,000 bytes whose origin answers 500 with a 300-byte body: the reason repeats the
 * URL, so keys plus reasons come to about 330 KB, past the queue's 256 KiB.
 */
const keys = Array.from(
  { length: 100 },
  (_, index) => `product:${String(index).padStart(3, '0')}:${'x'.repeat(986)}`,
);
const originBody = 'e'.repeat(300);

const consumeFailingBatch = async (name: string, attempt: number) => {
  const { queueUrl, dlqUrl } = await sqs.createQueueWithDlq(name, {
    maxReceiveCount: 5,
    visibilityTimeoutSeconds: 30,
  });
  const runStore = new InMemoryRunStore();
  await runStore.createRun({
    runId: 'run-1',
    trigger: 'console',
    strategy: 'LAZY',
    keysPlanned: 100,
    messages: 1,
  });
  const noWait = { maxRetries: 0, baseDelayMs: 0, maxDelayMs: 0 };
  const consumer = new WarmConsumer({
    cache: new MemoryStore<string, unknown>(),
    loader: new CallableValueLoader(async (key: string) => {
      throw new Error(`GET https://origin.example/items/${key} answered 500: ${originBody}`);
    }),
    runStore,
    requeue: new SqsSender(sqs.client, queueUrl, { retry: noWait }),
    deadLetters: new SqsSender(sqs.client, dlqUrl, { retry: noWait }),
    config: {
      ...defaultWarmingConfig(),
      maxRetries: 3,
      retryBaseDelayMs: 0,
      retryMaxDelayMs: 0,
      requeueDelaySeconds: 0,
    },
    leaseOwner: 'consumer-a',
  });
  const message: WarmMessage = { v: 1, runId: 'run-1', id: 'run-1/0', keys, attempt };
  const result = await consumer.consume(
    [{ messageId: 'sqs-1', body: JSON.stringify(message) }],
    () => 60_000,
  );
  return { result, runStore, queueUrl, dlqUrl };
};

const expectEveryKeyWithItsReason = (messages: Message[]) => {
  const parsed = messages.map((message) => parseWarmMessage(message.Body ?? ''));
  expect(parsed.flatMap((message) => message.keys).sort()).toEqual([...keys].sort());
  for (const message of parsed) {
    expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThanOrEqual(DEFAULT_MAX_MESSAGE_BYTES);
    for (const key of message.keys) {
      const reason = message.errors?.[key] ?? '';
      expect(reason).toMatch(/^GET https:\/\/origin\.example\/items\/product:/);
      expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(MAX_REASON_BYTES);
    }
  }
  return parsed;
};

describe('WarmConsumer against fauxqs: failed keys too many for one message', () => {
  it('re-enqueues them re-packed to fit the queue, each key with its reason', async () => {
    const { result, runStore, queueUrl } = await consumeFailingBatch('requeue', 0);

    expect(result.batchItemFailures).toEqual([]);
    expect(result.summary.keysRequeued).toBe(100);
    const parsed = expectEveryKeyWithItsReason(await receiveAll(sqs.client, queueUrl));
    expect(parsed.every((message) => message.attempt === 1)).toBe(true);
    expect(await runStore.getRun('run-1')).toMatchObject({ keysFailed: 0, status: 'running' });
  });

  it('dead-letters them re-packed to fit once the retries are spent, and counts them failed', async () => {
    const { result, runStore, dlqUrl } = await consumeFailingBatch('dead-letter', 2);

    expect(result.batchItemFailures).toEqual([]);
    const deadLetters = await receiveAll(sqs.client, dlqUrl);
    expectEveryKeyWithItsReason(deadLetters);
    expect(deadLetters.map((message) => message.MessageAttributes?.reason?.StringValue)).toEqual(
      deadLetters.map(() => 'failed 3 deliveries'),
    );
    expect(await runStore.getRun('run-1')).toMatchObject({ keysFailed: 100, status: 'finished' });
  });
});
