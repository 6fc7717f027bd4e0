import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { isRetryableAwsError } from '../adapters/awsErrors';
import {
  type BackoffOptions,
  CacheWarmersError,
  ConfigurationError,
  describeError,
  retryWithBackoff,
  sleep,
  TimeoutError,
  withTimeout,
} from '../core';
import { createLambdaContext } from './lambdaContext';

/**
 * A Lambda handler for SQS events, as `functions/handlers/consume.ts` exports it. The result is
 * `unknown` because Lambda reads whatever the function returns: a `SQSBatchResponse`, nothing, or
 * something invalid (which fails the batch).
 */
export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<unknown>;

/** What one invocation did, for progress displays and tests. */
export interface InvocationReport {
  requestId: string;
  /** Records in the event. */
  records: number;
  /** Records deleted from the queue after the invocation. */
  deleted: number;
  /** Records left on the queue: they are received again after the visibility timeout, or dead-lettered. */
  failedMessageIds: string[];
  /** Why the whole batch failed: the handler threw, timed out, or returned an invalid batch response. */
  error?: string;
}

/** Counters since `start()`. */
export interface PollerStats {
  invocations: number;
  /** Messages received, each redelivery counted again. */
  received: number;
  deleted: number;
  /** Records an invocation left on the queue. */
  failed: number;
  /** Records that failed their last delivery under the queue's RedrivePolicy: SQS moves them to the DLQ. */
  redriven: number;
  /** Invocations running now. */
  inFlight: number;
}

export interface SqsEventSourcePollerOptions {
  client: SQSClient;
  queueUrl: string;
  handler: SqsBatchHandler;
  /** Records per invocation (BatchSize), 1–10,000. Default 10. */
  batchSize?: number;
  /**
   * Seconds to gather records before invoking (MaximumBatchingWindowInSeconds), 0–300. Default 0.
   * Lambda requires at least 1 when `batchSize` is over 10.
   */
  maximumBatchingWindowSeconds?: number;
  /** Invocations at once (ScalingConfig.MaximumConcurrency), 2–1,000. */
  maximumConcurrency: number;
  /** The function's timeout, 1–900 s; Lambda refuses a queue whose VisibilityTimeout is shorter. Default 3. */
  functionTimeoutSeconds?: number;
  /** FunctionResponseTypes `ReportBatchItemFailures`. Default false, as in Lambda. */
  reportBatchItemFailures?: boolean;
  /** The function name the context reports. Default `local-function`. */
  functionName?: string;
  /** Called after each invocation, once its records are deleted. */
  onInvoke?: (report: InvocationReport) => void;
  /** Retries of SQS calls that fail for a transient reason. */
  retry?: BackoffOptions;
}

/** The poller stopped on an SQS error it could not retry past (the queue is gone, access denied, …). */
export class EventSourcePollerError extends CacheWarmersError {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EventSourcePollerError';
  }
}

/** A handler response Lambda would not accept as a partial batch response. */
class InvalidBatchResponseError extends CacheWarmersError {
  public constructor(message: string) {
    super(`invalid batch response: ${message}`);
    this.name = 'InvalidBatchResponseError';
  }
}

/** SQS hands out, deletes and changes at most 10 messages per call. */
const SQS_BATCH_MAX = 10;
/** Lambda's synchronous invoke payload limit: a gathered batch stops growing before it. */
const MAX_EVENT_BYTES = 6_291_456;
const EVENT_ENVELOPE_BYTES = Buffer.byteLength('{"Records":[]}');
/** Long polls stay short so that `stop()` is never held up by an idle receive for long. */
const LONG_POLL_SECONDS = 1;
/** A pause between short polls while a batching window runs out with nothing to receive. */
const SHORT_POLL_PAUSE_MS = 50;
/** Bound on any one SQS call beyond its long poll: a hung connection must not hang the poller. */
const SQS_CALL_TIMEOUT_MS = 10_000;
const DRAIN_CHECK_INTERVAL_MS = 100;
const DEFAULT_RETRY: BackoffOptions = { maxRetries: 5, baseDelayMs: 100, maxDelayMs: 2_000 };

interface QueueSettings {
  arn: string;
  region: string;
  accountId: string;
  visibilityTimeoutSeconds: number;
  /** From the RedrivePolicy; undefined when the queue has no DLQ. */
  maxReceiveCount: number | undefined;
}

interface QueueDepth {
  visible: number;
  notVisible: number;
  delayed: number;
}

const checkInteger = (setting: string, value: number, min: number, max: number): number => {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new ConfigurationError(setting, `must be an integer from ${min} to ${max}, got ${value}`);
  return value;
};

const chunk = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, index) =>
    items.slice(index * size, (index + 1) * size),
  );

const toMessageAttributes = (message: Message): SQSMessageAttributes =>
  Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, attribute]) => [
      name,
      {
        stringValue: attribute.StringValue,
        binaryValue: attribute.BinaryValue
          ? Buffer.from(attribute.BinaryValue).toString('base64')
          : undefined,
        stringListValues: [],
        binaryListValues: [],
        dataType: attribute.DataType ?? 'String',
      },
    ]),
  );

/**
 * Which records a handler response marks failed, read the way Lambda reads it with
 * ReportBatchItemFailures: no response, no list or an empty list is a full success; anything
 * malformed, or an identifier that is not in the batch, fails the whole batch.
 */
const failedRecordIds = (response: unknown, records: readonly SQSRecord[]): Set<string> => {
  if (response === undefined || response === null) return new Set();
  if (typeof response !== 'object' || Array.isArray(response))
    throw new InvalidBatchResponseError(`expected an object, got ${JSON.stringify(response)}`);
  const failures: unknown = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) throw new InvalidBatchResponseError('batchItemFailures is not an array');
  const inBatch = new Set(records.map((record) => record.messageId));
  const failed = new Set<string>();
  failures.forEach((failure: unknown, index) => {
    const id =
      typeof failure === 'object' && failure !== null
        ? (failure as { itemIdentifier?: unknown }).itemIdentifier
        : undefined;
    if (typeof id !== 'string' || id === '')
      throw new InvalidBatchResponseError(`batchItemFailures[${index}].itemIdentifier is missing or empty`);
    if (!inBatch.has(id))
      throw new InvalidBatchResponseError(
        `batchItemFailures[${index}].itemIdentifier ${id} is not in the batch`,
      );
    failed.add(id);
  });
  return failed;
};

/**
 * Invokes a Lambda-style SQS handler the way Lambda's SQS event source mapping does, for the local
 * runtime and the integration tests: it gathers up to `batchSize` records (receiving 10 at a time)
 * until the batch is full, the batching window has passed or the 6 MB payload limit is near; runs at
 * most `maximumConcurrency` invocations at once, each bounded by the function timeout; deletes the
 * records that succeeded (with ReportBatchItemFailures, all but the `batchItemFailures`; a thrown
 * error, a timeout or an invalid response deletes none); and leaves the rest to reappear after the
 * queue's visibility timeout. Dead-lettering is the queue's own RedrivePolicy, as in AWS: SQS (and
 * fauxqs) moves a message to the DLQ on the receive after `maxReceiveCount`, so the handler sees a
 * message at most `maxReceiveCount` times.
 *
 * @example
 * const poller = new SqsEventSourcePoller({ client, queueUrl, handler, batchSize: 10, maximumConcurrency: 4, reportBatchItemFailures: true });
 * await poller.start();
 * await poller.drain({ timeoutMs: 60_000 });
 * await poller.stop();
 */
export class SqsEventSourcePoller {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #handler: SqsBatchHandler;
  readonly #batchSize: number;
  readonly #windowMs: number;
  readonly #concurrency: number;
  readonly #functionTimeoutSeconds: number;
  readonly #reportBatchItemFailures: boolean;
  readonly #functionName: string;
  readonly #onInvoke: ((report: InvocationReport) => void) | undefined;
  readonly #retry: BackoffOptions;
  readonly #stats: PollerStats = {
    invocations: 0,
    received: 0,
    deleted: 0,
    failed: 0,
    redriven: 0,
    inFlight: 0,
  };
  #queue: QueueSettings | undefined;
  #stopping = new AbortController();
  #workers: Promise<void>[] = [];
  #failure: EventSourcePollerError | undefined;
  /** Drains waiting: while any is, a batching window closes as soon as its batch has a record. */
  #drains = 0;

  public constructor(options: SqsEventSourcePollerOptions) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.#handler = options.handler;
    this.#batchSize = checkInteger('batchSize', options.batchSize ?? 10, 1, 10_000);
    const windowSeconds = checkInteger(
      'maximumBatchingWindowSeconds',
      options.maximumBatchingWindowSeconds ?? 0,
      0,
      300,
    );
    if (this.#batchSize > SQS_BATCH_MAX && windowSeconds < 1)
      throw new ConfigurationError(
        'maximumBatchingWindowSeconds',
        `must be at least 1 when batchSize (${this.#batchSize}) is over ${SQS_BATCH_MAX}, as Lambda requires`,
      );
    this.#windowMs = windowSeconds * 1_000;
    this.#concurrency = checkInteger('maximumConcurrency', options.maximumConcurrency, 2, 1_000);
    this.#functionTimeoutSeconds = checkInteger(
      'functionTimeoutSeconds',
      options.functionTimeoutSeconds ?? 3,
      1,
      900,
    );
    this.#reportBatchItemFailures = options.reportBatchItemFailures ?? false;
    this.#functionName = options.functionName ?? 'local-function';
    this.#onInvoke = options.onInvoke;
    this.#retry = options.retry ?? DEFAULT_RETRY;
  }

  /** A snapshot of the counters. */
  public get stats(): PollerStats {
    return { ...this.#stats };
  }

  /**
   * Reads the queue's ARN, VisibilityTimeout and RedrivePolicy, checks them as Lambda does when the
   * mapping is created, and starts polling.
   * @throws ConfigurationError when the queue's visibility timeout is shorter than the function timeout.
   */
  public async start(): Promise<void> {
    if (this.#workers.length > 0) throw new CacheWarmersError('the poller is already started');
    this.#queue = await this.#readQueueSettings();
    if (this.#queue.visibilityTimeoutSeconds < this.#functionTimeoutSeconds)
      throw new ConfigurationError(
        'functionTimeoutSeconds',
        `queue visibility timeout (${this.#queue.visibilityTimeoutSeconds} s) is less than the function timeout (${this.#functionTimeoutSeconds} s)`,
      );
    this.#stopping = new AbortController();
    this.#failure = undefined;
    this.#workers = Array.from({ length: this.#concurrency }, () => this.#work());
  }

  /**
   * Stops receiving and resolves once the invocations in flight have finished and their records are
   * deleted. Records gathered for an invocation that had not started are made visible again at once.
   * @throws EventSourcePollerError when polling had already stopped on an SQS error.
   */
  public async stop(): Promise<void> {
    this.#stopping.abort();
    await Promise.all(this.#workers);
    this.#workers = [];
    if (this.#failure) throw this.#failure;
  }

  /**
   * Resolves once the queue is empty (no visible, in-flight or delayed message) and no invocation is
   * running: every message has been deleted or moved to the DLQ. While it waits, records are invoked as
   * soon as they are received, not at the end of the batching window, which would only delay the drain.
   * @throws TimeoutError after `timeoutMs`, saying what was still on the queue.
   * @throws EventSourcePollerError when polling stopped on an SQS error.
   */
  public async drain({ timeoutMs }: { timeoutMs: number }): Promise<void> {
    if (this.#workers.length === 0)
      throw new CacheWarmersError('drain() needs a started poller: call start()');
    let depth: QueueDepth | undefined;
    this.#drains++;
    try {
      await withTimeout(
        async (signal) => {
          for (;;) {
            if (this.#failure) throw this.#failure;
            depth = await this.#readQueueDepth(signal);
            if (depth.visible + depth.notVisible + depth.delayed === 0 && this.#stats.inFlight === 0) return;
            await sleep(DRAIN_CHECK_INTERVAL_MS, signal);
          }
        },
        timeoutMs,
        'drain',
      );
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      const seen = depth
        ? `${depth.visible} visible, ${depth.notVisible} in flight, ${depth.delayed} delayed`
        : 'queue depth never read';
      throw new TimeoutError(
        `queue not drained after ${timeoutMs} ms: ${seen}, ${this.#stats.inFlight} invocation(s) running`,
      );
    } finally {
      this.#drains--;
    }
  }

  async #work(): Promise<void> {
    let carried: SQSRecord[] = [];
    try {
      while (!this.#stopping.signal.aborted) {
        const { batch, carry } = await this.#gather(carried);
        carried = carry;
        if (this.#stopping.signal.aborted) {
          carried.unshift(...batch);
          break;
        }
        if (batch.length > 0) await this.#invoke(batch);
      }
    } catch (error) {
      if (!this.#stopping.signal.aborted) {
        this.#failure = new EventSourcePollerError(
          `SQS event source poller stopped: ${describeError(error)}`,
          { cause: error },
        );
        this.#stopping.abort();
      }
    } finally {
      await this.#release(carried);
    }
  }

  /**
   * Receives records until the batch is full, the window that started with its first record has
   * passed (or a drain is waiting), or the next record would push the event over the payload limit (that one is carried into
   * the next batch, as Lambda does).
   */
  async #gather(carried: readonly SQSRecord[]): Promise<{ batch: SQSRecord[]; carry: SQSRecord[] }> {
    const batch: SQSRecord[] = [];
    const carry: SQSRecord[] = [];
    let bytes = EVENT_ENVELOPE_BYTES;
    let deadline: number | undefined;
    const add = (record: SQSRecord): void => {
      const recordBytes = Buffer.byteLength(JSON.stringify(record)) + 1;
      if (carry.length > 0 || (batch.length > 0 && bytes + recordBytes > MAX_EVENT_BYTES)) {
        carry.push(record);
        return;
      }
      batch.push(record);
      bytes += recordBytes;
      deadline ??= Date.now() + this.#windowMs;
    };
    carried.forEach(add);
    while (batch.length < this.#batchSize && carry.length === 0 && !this.#stopping.signal.aborted) {
      if (this.#drains > 0 && batch.length > 0) break;
      const remainingMs = deadline === undefined ? Number.POSITIVE_INFINITY : deadline - Date.now();
      if (remainingMs <= 0) break;
      const waitSeconds = remainingMs >= LONG_POLL_SECONDS * 1_000 ? LONG_POLL_SECONDS : 0;
      const received = await this.#receive(
        Math.min(SQS_BATCH_MAX, this.#batchSize - batch.length),
        waitSeconds,
      );
      received.forEach(add);
      if (received.length === 0 && waitSeconds === 0) {
        // The window ends in under a second: short polls, paced, rather than overshooting it.
        await sleep(Math.min(remainingMs, SHORT_POLL_PAUSE_MS), this.#stopping.signal).catch(() => undefined);
      }
    }
    return { batch, carry };
  }

  async #receive(maxMessages: number, waitSeconds: number): Promise<SQSRecord[]> {
    const { Messages = [] } = await this.#call(
      'ReceiveMessage',
      (abortSignal) =>
        this.#client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.#queueUrl,
            MaxNumberOfMessages: maxMessages,
            WaitTimeSeconds: waitSeconds,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal },
        ),
      { longPollMs: waitSeconds * 1_000 },
    );
    this.#stats.received += Messages.length;
    return Messages.map((message) => this.#toRecord(message));
  }

  #toRecord(message: Message): SQSRecord {
    const queue = this.#settings();
    const attributes = message.Attributes ?? {};
    return {
      messageId: message.MessageId ?? '',
      receiptHandle: message.ReceiptHandle ?? '',
      body: message.Body ?? '',
      attributes: {
        ...attributes,
        ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
        SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
        SenderId: attributes.SenderId ?? queue.accountId,
        ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      },
      messageAttributes: toMessageAttributes(message),
      md5OfBody: message.MD5OfBody ?? '',
      md5OfMessageAttributes: message.MD5OfMessageAttributes,
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: queue.region,
    };
  }

  async #invoke(records: SQSRecord[]): Promise<void> {
    const requestId = randomUUID();
    this.#stats.invocations++;
    this.#stats.inFlight++;
    try {
      let failed: Set<string>;
      let error: string | undefined;
      try {
        // Lambda hands the function a serialized copy: a handler cannot alter the records the poller deletes.
        const event = JSON.parse(JSON.stringify({ Records: records })) as SQSEvent;
        const deadline = Date.now() + this.#functionTimeoutSeconds * 1_000;
        const response = await withTimeout(
          () => this.#handler(event, this.#context(requestId, deadline)),
          this.#functionTimeoutSeconds * 1_000,
          `invocation ${requestId}`,
        );
        failed = this.#reportBatchItemFailures ? failedRecordIds(response, records) : new Set();
      } catch (thrown) {
        failed = new Set(records.map((record) => record.messageId));
        error = describeError(thrown);
      }
      const succeeded = records.filter((record) => !failed.has(record.messageId));
      const deleted = await this.#delete(succeeded);
      const left = records.filter((record) => failed.has(record.messageId));
      const maxReceiveCount = this.#settings().maxReceiveCount;
      this.#stats.deleted += deleted;
      this.#stats.failed += left.length;
      if (maxReceiveCount !== undefined)
        this.#stats.redriven += left.filter(
          (record) => Number(record.attributes.ApproximateReceiveCount) >= maxReceiveCount,
        ).length;
      this.#onInvoke?.({
        requestId,
        records: records.length,
        deleted,
        failedMessageIds: left.map((record) => record.messageId),
        ...(error === undefined ? {} : { error }),
      });
    } finally {
      this.#stats.inFlight--;
    }
  }

  /** Deletes records, 10 a call. Resolves with how many SQS acknowledged; the rest are received again. */
  async #delete(records: readonly SQSRecord[]): Promise<number> {
    const results = await Promise.all(
      chunk(records, SQS_BATCH_MAX).map(async (group) => {
        const { Successful = [] } = await this.#call('DeleteMessageBatch', (abortSignal) =>
          this.#client.send(
            new DeleteMessageBatchCommand({
              QueueUrl: this.#queueUrl,
              Entries: group.map((record, index) => ({
                Id: String(index),
                ReceiptHandle: record.receiptHandle,
              })),
            }),
            { abortSignal },
          ),
        );
        return Successful.length;
      }),
    );
    return results.reduce((sum, count) => sum + count, 0);
  }

  /** Makes gathered records visible again at once, so a stop does not hold them for a visibility timeout. */
  async #release(records: readonly SQSRecord[]): Promise<void> {
    try {
      await Promise.all(
        chunk(records, SQS_BATCH_MAX).map((group) =>
          this.#call('ChangeMessageVisibilityBatch', (abortSignal) =>
            this.#client.send(
              new ChangeMessageVisibilityBatchCommand({
                QueueUrl: this.#queueUrl,
                Entries: group.map((record, index) => ({
                  Id: String(index),
                  ReceiptHandle: record.receiptHandle,
                  VisibilityTimeout: 0,
                })),
              }),
              { abortSignal },
            ),
          ),
        ),
      );
    } catch {
      // Best effort: a record not released reappears anyway once its visibility timeout passes.
    }
  }

  #context(requestId: string, deadline: number): Context {
    const queue = this.#settings();
    return createLambdaContext({
      functionName: this.#functionName,
      deadline,
      requestId,
      region: queue.region,
      accountId: queue.accountId,
    });
  }

  /** One SQS call: retried while the error is transient, each attempt bounded in time. */
  #call<T>(
    what: string,
    send: (abortSignal: AbortSignal) => Promise<T>,
    { longPollMs = 0, signal }: { longPollMs?: number; signal?: AbortSignal } = {},
  ): Promise<T> {
    return retryWithBackoff(
      () => withTimeout(send, longPollMs + SQS_CALL_TIMEOUT_MS, `SQS ${what}`, signal),
      { ...this.#retry, shouldRetry: isRetryableAwsError, signal },
    );
  }

  async #readQueueSettings(): Promise<QueueSettings> {
    const { Attributes = {} } = await this.#call('GetQueueAttributes', (abortSignal) =>
      this.#client.send(
        new GetQueueAttributesCommand({
          QueueUrl: this.#queueUrl,
          AttributeNames: ['QueueArn', 'VisibilityTimeout', 'RedrivePolicy'],
        }),
        { abortSignal },
      ),
    );
    const arn = Attributes.QueueArn ?? '';
    const [, , , region = '', accountId = ''] = arn.split(':');
    const redrive = Attributes.RedrivePolicy
      ? (JSON.parse(Attributes.RedrivePolicy) as { maxReceiveCount?: number | string })
      : undefined;
    return {
      arn,
      region,
      accountId,
      visibilityTimeoutSeconds: Number(Attributes.VisibilityTimeout ?? 30),
      maxReceiveCount: redrive?.maxReceiveCount === undefined ? undefined : Number(redrive.maxReceiveCount),
    };
  }

  async #readQueueDepth(signal: AbortSignal): Promise<QueueDepth> {
    const { Attributes = {} } = await this.#call(
      'GetQueueAttributes',
      (abortSignal) =>
        this.#client.send(
          new GetQueueAttributesCommand({
            QueueUrl: this.#queueUrl,
            AttributeNames: [
              'ApproximateNumberOfMessages',
              'ApproximateNumberOfMessagesNotVisible',
              'ApproximateNumberOfMessagesDelayed',
            ],
          }),
          { abortSignal },
        ),
      { signal },
    );
    return {
      visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
      notVisible: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
      delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
    };
  }

  #settings(): QueueSettings {
    if (!this.#queue) throw new CacheWarmersError('the poller is not started');
    return this.#queue;
  }
}
