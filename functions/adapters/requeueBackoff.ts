import type { WarmingConfig } from '../core';
import { type BackoffOptions, backoffCeilingMs } from '../core/retryWithBackoff';

/** A re-enqueued remainder waits at most this long (SQS's DelaySeconds limit is 900). */
const MAX_REQUEUE_DELAY_MS = 900_000;

type RequeueSettings = Pick<WarmingConfig, 'maxRetries' | 'requeueDelaySeconds'>;

/** The backoff of a message's failed keys before their next delivery; the retry is the attempt. */
export const requeueBackoff = (config: RequeueSettings): BackoffOptions => ({
  maxRetries: config.maxRetries,
  baseDelayMs: config.requeueDelaySeconds * 1000,
  maxDelayMs: MAX_REQUEUE_DELAY_MS,
});

/**
 * The longest each wait between deliveries of a key that keeps failing can be, in seconds: before
 * its second delivery, its third, … up to its last (a message is delivered `maxRetries` times, at
 * least once). What a follower of a run needs to bound how long keys waiting on retries can take.
 *
 * @example
 * requeueWaitCeilingsSeconds({ maxRetries: 3, requeueDelaySeconds: 5 }); // [10, 20]
 */
export const requeueWaitCeilingsSeconds = (config: RequeueSettings): number[] =>
  Array.from(
    { length: Math.max(1, config.maxRetries) - 1 },
    (_, index) => backoffCeilingMs(index + 1, requeueBackoff(config)) / 1000,
  );
