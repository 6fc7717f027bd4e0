import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type BackoffOptions, CacheWarmersError, describeError, retryWithBackoff } from '../core';
import { isRetryableAwsError } from './awsErrors';
import { DEFAULT_MAX_MESSAGE_BYTES } from './warmMessage';

/** SQS accepts at most this many entries in one SendMessageBatch. */
const MAX_BATCH_ENTRIES = 10;

/** One message to send. */
export interface OutgoingMessage {
  body: string;
  delaySeconds?: number;
  /** String message attributes, e.g. the reason a message is dead-lettered. */
  attributes?: Record<string, string>;
}

export interface SqsSenderOptions {
  /** The queue's MaximumMessageSize; also the limit of one batch in total. Default 262,144. */
  maxMessageBytes?: number;
  /** SendMessageBatch calls in flight at once. Default 8. */
  maxConcurrentRequests?: number;
  /** Retries of a call that throws (throttling, network) and of entries SQS reports failed. */
  retry?: BackoffOptions;
}

/** The size SQS counts against its limits: the body plus each attribute's name, data type and value. */
const messageBytes = (message: OutgoingMessage): number =>
  Object.entries(message.attributes ?? {}).reduce(
    (bytes, [name, value]) =>
      bytes + Buffer.byteLength(name) + Buffer.byteLength('String') + Buffer.byteLength(value),
    Buffer.byteLength(message.body),
  );

/** Messages SQS did not accept after every retry; nothing is dropped silently. */
export class UnsentMessagesError extends CacheWarmersError {
  public readonly unsent: { message: OutgoingMessage; reason: string }[];

  public constructor(unsent: { message: OutgoingMessage; reason: string }[]) {
    super(`${unsent.length} message(s) could not be sent: ${unsent[0]?.reason ?? ''}`);
    this.name = 'UnsentMessagesError';
    this.unsent = unsent;
  }
}

/** Entries a successful call reported failed for reasons that may pass on a retry. */
class EntriesFailedError extends Error {
  public constructor(public readonly reasons: Map<number, string>) {
    super([...reasons.values()][0] ?? 'entries failed');
  }
}

const DEFAULT_RETRY: BackoffOptions = { maxRetries: 5, baseDelayMs: 100, maxDelayMs: 5_000 };

/**
 * Sends many messages to one queue with SendMessageBatch: 10 entries (and at most the message size
 * limit) per call, several calls in flight, and retries of both failed calls and the entries a
 * successful call reports failed inside its HTTP 200.
 *
 * @example
 * const sender = new SqsSender(new SQSClient({}), queueUrl);
 * const { requests } = await sender.send(messages.map((message) => ({ body: JSON.stringify(message) })));
 */
export class SqsSender {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #maxMessageBytes: number;
  readonly #maxConcurrentRequests: number;
  readonly #retry: BackoffOptions;

  public constructor(client: SQSClient, queueUrl: string, options: SqsSenderOptions = {}) {
    this.#client = client;
    this.#queueUrl = queueUrl;
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#maxConcurrentRequests = options.maxConcurrentRequests ?? 8;
    this.#retry = options.retry ?? DEFAULT_RETRY;
  }

  /** The queue's MaximumMessageSize this sender keeps each message and each batch within. */
  public get maxMessageBytes(): number {
    return this.#maxMessageBytes;
  }

  /** Groups messages into batches that respect the entry count and the total size limit. */
  public planBatches(messages: readonly OutgoingMessage[]): OutgoingMessage[][] {
    const batches: OutgoingMessage[][] = [];
    let batch: OutgoingMessage[] = [];
    let batchBytes = 0;
    for (const message of messages) {
      const bytes = messageBytes(message);
      if (
        batch.length === MAX_BATCH_ENTRIES ||
        (batch.length > 0 && batchBytes + bytes > this.#maxMessageBytes)
      ) {
        batches.push(batch);
        batch = [];
        batchBytes = 0;
      }
      batch.push(message);
      batchBytes += bytes;
    }
    if (batch.length > 0) batches.push(batch);
    return batches;
  }

  /**
   * Sends every message. Resolves with the number of SendMessageBatch requests made.
   * @throws UnsentMessagesError listing each message that could not be sent and why.
   */
  public async send(messages: readonly OutgoingMessage[]): Promise<{ requests: number }> {
    const batches = this.planBatches(messages);
    const unsent: { message: OutgoingMessage; reason: string }[] = [];
    let requests = 0;
    let next = 0;
    const work = async () => {
      while (next < batches.length) {
        const batch = batches[next++] as OutgoingMessage[];
        const result = await this.#sendBatch(batch);
        requests += result.requests;
        unsent.push(...result.unsent);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#maxConcurrentRequests, batches.length) }, work));
    if (unsent.length > 0) throw new UnsentMessagesError(unsent);
    return { requests };
  }

  async #sendBatch(
    batch: OutgoingMessage[],
  ): Promise<{ requests: number; unsent: { message: OutgoingMessage; reason: string }[] }> {
    let pending = batch.map((message, index) => ({ message, index }));
    const unsent: { message: OutgoingMessage; reason: string }[] = [];
    let requests = 0;
    try {
      await retryWithBackoff(
        async () => {
          requests++;
          const response = await this.#client.send(
            new SendMessageBatchCommand({
              QueueUrl: this.#queueUrl,
              Entries: pending.map(
                ({ message, index }): SendMessageBatchRequestEntry => ({
                  Id: String(index),
                  MessageBody: message.body,
                  DelaySeconds: message.delaySeconds,
                  MessageAttributes: message.attributes
                    ? Object.fromEntries(
                        Object.entries(message.attributes).map(([name, value]) => [
                          name,
                          { DataType: 'String', StringValue: value },
                        ]),
                      )
                    : undefined,
                }),
              ),
            }),
          );
          const failed = response.Failed ?? [];
          const retryable = new Map<number, string>();
          for (const entry of failed) {
            const index = Number(entry.Id);
            const reason = `${entry.Code ?? 'error'}: ${entry.Message ?? 'no message'}`;
            // SQS blames the sender for bad content: that entry would fail the same way again.
            if (entry.SenderFault) unsent.push({ message: batch[index] as OutgoingMessage, reason });
            else retryable.set(index, reason);
          }
          pending = pending.filter(({ index }) => retryable.has(index));
          if (pending.length > 0) throw new EntriesFailedError(retryable);
        },
        {
          ...this.#retry,
          shouldRetry: (error) => error instanceof EntriesFailedError || isRetryableAwsError(error),
        },
      );
    } catch (error) {
      for (const { message, index } of pending) {
        const reason = error instanceof EntriesFailedError ? error.reasons.get(index) : undefined;
        unsent.push({ message, reason: reason ?? describeError(error) });
      }
    }
    return { requests, unsent };
  }
}
