import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { RunStore } from './RunStore';
import type { SqsSender } from './SqsSender';
import { MalformedMessageError, packKeysIntoMessages, parseWarmMessage } from './warmMessage';
import { REDRIVE_TRIGGER } from './warmTriggers';

/** One dead-lettered message as `dlq` shows it. */
export interface DeadLetter {
  messageId: string;
  sentAt?: string;
  /** Why it was dead-lettered: the consumer's reason, or "malformed: …" for a body that is not a warm message. */
  reason: string;
  runId?: string;
  keys: string[];
  /** Each key's last error. */
  errors: Record<string, string>;
}

export interface DeadLetterQueueDependencies {
  client: SQSClient;
  dlqUrl: string;
  /** Sends to the warm queue, for redrive. */
  warmQueue: SqsSender;
  runStore: RunStore;
  /** The warm queue's MaximumMessageSize and keys per message, to repack redriven keys. */
  limits: { maxKeysPerMessage: number; maxMessageBytes: number };
  newRunId: () => string;
}

/** SQS hands out at most 10 messages per receive. */
const RECEIVE_MAX = 10;

const describe = (message: Message): DeadLetter => {
  const base = {
    messageId: message.MessageId ?? '',
    sentAt: message.Attributes?.SentTimestamp
      ? new Date(Number(message.Attributes.SentTimestamp)).toISOString()
      : undefined,
  };
  const reason = message.MessageAttributes?.reason?.StringValue;
  try {
    const warm = parseWarmMessage(message.Body ?? '');
    return {
      ...base,
      reason: reason ?? 'dead-lettered by SQS after maxReceiveCount',
      runId: warm.runId,
      keys: warm.keys,
      errors: warm.errors ?? {},
    };
  } catch (error) {
    if (!(error instanceof MalformedMessageError)) throw error;
    return { ...base, reason: reason ?? `malformed: ${error.message}`, keys: [], errors: {} };
  }
};

/**
 * The warm queue's dead-letter queue, for operators: peek at what is there and why, or redrive the
 * dead-lettered keys as a new run (so the runs they failed in keep exact counts).
 */
export class DeadLetterQueue {
  readonly #deps: DeadLetterQueueDependencies;

  public constructor(deps: DeadLetterQueueDependencies) {
    this.#deps = deps;
  }

  /** Up to `limit` messages with their reasons; they stay in the queue. */
  public async peek(limit: number): Promise<DeadLetter[]> {
    const messages = await this.#receive(limit, 5);
    await this.#makeVisibleAgain(messages);
    return messages.map(describe);
  }

  /**
   * Moves the keys of up to `limit` dead-lettered messages back to the warm queue as one new run.
   * Malformed bodies cannot be warmed: they stay in the DLQ and are listed.
   */
  public async redrive(
    limit: number,
  ): Promise<{ runId?: string; keys: number; messages: number; leftMalformed: DeadLetter[] }> {
    const received = await this.#receive(limit, 60);
    const letters = received.map((message) => ({ message, letter: describe(message) }));
    const warmable = letters.filter(({ letter }) => letter.runId !== undefined);
    const malformed = letters.filter(({ letter }) => letter.runId === undefined);
    await this.#makeVisibleAgain(malformed.map(({ message }) => message));
    const keys = [...new Set(warmable.flatMap(({ letter }) => letter.keys))];
    if (keys.length === 0)
      return { keys: 0, messages: 0, leftMalformed: malformed.map(({ letter }) => letter) };

    const runId = this.#deps.newRunId();
    const messages = packKeysIntoMessages(runId, keys, this.#deps.limits);
    await this.#deps.runStore.createRun({
      runId,
      trigger: REDRIVE_TRIGGER,
      strategy: 'REDRIVE',
      keysPlanned: keys.length,
      messages: messages.length,
    });
    await this.#deps.warmQueue.send(messages.map((message) => ({ body: JSON.stringify(message) })));
    // Deleted only once their keys are safely in the warm queue.
    await this.#delete(warmable.map(({ message }) => message));
    return {
      runId,
      keys: keys.length,
      messages: messages.length,
      leftMalformed: malformed.map(({ letter }) => letter),
    };
  }

  async #receive(limit: number, visibilityTimeoutSeconds: number): Promise<Message[]> {
    const messages: Message[] = [];
    while (messages.length < limit) {
      const response = await this.#deps.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.#deps.dlqUrl,
          MaxNumberOfMessages: Math.min(RECEIVE_MAX, limit - messages.length),
          VisibilityTimeout: visibilityTimeoutSeconds,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
        }),
      );
      if (!response.Messages?.length) break;
      messages.push(...response.Messages);
    }
    return messages;
  }

  async #makeVisibleAgain(messages: Message[]): Promise<void> {
    for (let start = 0; start < messages.length; start += RECEIVE_MAX) {
      const batch = messages.slice(start, start + RECEIVE_MAX);
      await this.#deps.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.#deps.dlqUrl,
          Entries: batch.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
  }

  async #delete(messages: Message[]): Promise<void> {
    for (let start = 0; start < messages.length; start += RECEIVE_MAX) {
      const batch = messages.slice(start, start + RECEIVE_MAX);
      await this.#deps.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#deps.dlqUrl,
          Entries: batch.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );
    }
  }
}
