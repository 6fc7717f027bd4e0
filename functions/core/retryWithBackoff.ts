import { sleep } from './abortable';

export interface BackoffOptions {
  /** Retries after the first attempt. */
  maxRetries: number;
  /** Ceiling of the first backoff; doubled each retry. */
  baseDelayMs: number;
  /** Upper bound of any one backoff. */
  maxDelayMs: number;
  /** Source of jitter in [0, 1); `Math.random` unless a test fixes it. */
  random?: () => number;
}

/** The longest a full-jitter backoff before `retry` can be: min(max, base × 2^retry). */
export const backoffCeilingMs = (retry: number, options: BackoffOptions): number =>
  Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** retry);

/** Full-jitter exponential backoff: a uniform delay in [0, `backoffCeilingMs`). */
export const backoffDelayMs = (retry: number, options: BackoffOptions): number =>
  Math.floor((options.random ?? Math.random)() * backoffCeilingMs(retry, options));

export interface RetryOptions extends BackoffOptions {
  /** Stops the retries: a wait in progress rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Errors for which this returns false are thrown at once. Default: every error is retried. */
  shouldRetry?: (error: unknown) => boolean;
}

/**
 * Runs `operation` until it succeeds, retrying up to `maxRetries` times with full-jitter backoff.
 * Throws the operation's last error once the retries are spent, or when the signal aborts between
 * attempts: giving up early still reports why the key failed.
 *
 * @example
 * const value = await retryWithBackoff(() => fetchValue(key), { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 5_000 });
 */
export const retryWithBackoff = async <T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> => {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const retryable = options.shouldRetry?.(error) ?? true;
      if (!retryable || attempt >= options.maxRetries || options.signal?.aborted) throw error;
      await sleep(backoffDelayMs(attempt, options), options.signal).catch(() => {
        throw error;
      });
    }
  }
};
