import { estimateFanOutCostUsd, PRICES } from './pricing';

/**
 * What the run record costs per warm message (of 100 keys), in DynamoDB units: `npm run bench`'s run
 * records section measures it against dynalite, independent of the run's size.
 */
export const RUN_RECORD_UNITS_PER_MESSAGE = { write: 1.2, read: 0.15 } as const;

/** The most messages one SendMessageBatch takes. */
const MESSAGES_PER_SEND = 10;

/** A run, as the cost and time model sees it. */
export interface RunShape {
  keys: number;
  /** `warming.batchSize`: keys per warm message. */
  keysPerMessage: number;
  /** The bytes of a full warm message (its JSON body). */
  messageBytes: number;
  /** Warm messages per consume invocation. */
  consumerBatchSize: number;
  /** Consume invocations at once (the event source mapping's maximum concurrency). */
  consumerConcurrency: number;
  /** `warming.maxWorkers`: loads in flight within one consume invocation. */
  maxWorkers: number;
  /** How long the origin takes to serve one key. */
  loadLatencyMs: number;
  /** The consume function's memory. */
  memoryMb: number;
}

/** The requests, units, dollars and time of a run. */
export interface RunEstimate {
  messages: number;
  consumeInvocations: number;
  /** SendMessageBatch, and ReceiveMessage + DeleteMessageBatch per consume invocation. */
  sqsRequests: number;
  writeUnits: number;
  readUnits: number;
  /** SQS requests and Lambda invocations. */
  requestsUsd: number;
  dynamoDbUsd: number;
  /** The consume functions' GB-seconds, waiting on the origin most of the time. */
  computeUsd: number;
  totalUsd: number;
  /** From the first message to the last, with the fan-out (far faster) running ahead of the consumers. */
  durationSeconds: number;
}

/**
 * The cost and time of warming `shape.keys` keys through the queue, from the list prices in
 * {@link PRICES}: each consume invocation loads its keys `maxWorkers` at a time, and
 * `consumerConcurrency` invocations run at once. Left out: the warm function (its fan-out sends
 * ~150,000 keys/s), the origin's own cost, and the cache's.
 */
export const estimateRun = (shape: RunShape): RunEstimate => {
  const messages = Math.ceil(shape.keys / shape.keysPerMessage);
  const sends = Math.ceil(messages / MESSAGES_PER_SEND);
  const consumeInvocations = Math.ceil(messages / shape.consumerBatchSize);
  const requestsUsd = estimateFanOutCostUsd({
    sendRequestBytes: new Array<number>(sends).fill(MESSAGES_PER_SEND * shape.messageBytes),
    messages,
    consumerBatchSize: shape.consumerBatchSize,
  });
  const writeUnits = messages * RUN_RECORD_UNITS_PER_MESSAGE.write;
  const readUnits = messages * RUN_RECORD_UNITS_PER_MESSAGE.read;
  const dynamoDbUsd = writeUnits * PRICES.dynamoDbPerWriteUnitUsd + readUnits * PRICES.dynamoDbPerReadUnitUsd;
  const keysPerInvocation = shape.keysPerMessage * shape.consumerBatchSize;
  const invocationSeconds = (Math.ceil(keysPerInvocation / shape.maxWorkers) * shape.loadLatencyMs) / 1000;
  const computeUsd =
    consumeInvocations * invocationSeconds * (shape.memoryMb / 1024) * PRICES.lambdaArmPerGbSecondUsd;
  return {
    messages,
    consumeInvocations,
    sqsRequests: sends + 2 * consumeInvocations,
    writeUnits,
    readUnits,
    requestsUsd,
    dynamoDbUsd,
    computeUsd,
    totalUsd: requestsUsd + dynamoDbUsd + computeUsd,
    durationSeconds: Math.ceil(consumeInvocations / shape.consumerConcurrency) * invocationSeconds,
  };
};
