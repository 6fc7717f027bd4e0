/**
 * Public list prices (us-east-1, 2026) the dry-run estimate rests on; docs/operations.md lists them
 * with the cost per million keys. Free tiers are ignored, so estimates err high.
 */
export const PRICES = {
  /** Standard queue, per request; each 64 KiB of a request's payload is billed as one request. */
  sqsPerRequestUsd: 0.4 / 1_000_000,
  sqsBilledChunkBytes: 65_536,
  /** Lambda, per invocation. */
  lambdaPerInvocationUsd: 0.2 / 1_000_000,
  /** Lambda compute on arm64, per GB-second. */
  lambdaArmPerGbSecondUsd: 0.0000133334,
  /** DynamoDB on demand, per write request unit and per read request unit. */
  dynamoDbPerWriteUnitUsd: 0.625 / 1_000_000,
  dynamoDbPerReadUnitUsd: 0.125 / 1_000_000,
} as const;

/**
 * Request cost of warming through the queue: the sends, plus one receive and one delete per
 * batch the event source takes, plus one consumer invocation per batch. Compute time depends on the
 * loader and is not included.
 */
export const estimateFanOutCostUsd = (input: {
  sendRequestBytes: readonly number[];
  messages: number;
  consumerBatchSize: number;
}): number => {
  const billedSends = input.sendRequestBytes.reduce(
    (total, bytes) => total + Math.max(1, Math.ceil(bytes / PRICES.sqsBilledChunkBytes)),
    0,
  );
  const consumerBatches = Math.ceil(input.messages / input.consumerBatchSize);
  const sqsRequests = billedSends + 2 * consumerBatches;
  return sqsRequests * PRICES.sqsPerRequestUsd + consumerBatches * PRICES.lambdaPerInvocationUsd;
};
