import { describeError } from '../core';

/**
 * Whether an AWS SDK error is worth another try: throttling, a server-side fault, or no response at
 * all (network, timeout). A 4xx that is not throttling (access denied, missing queue, bad request)
 * fails the same way every time.
 */
export const isRetryableAwsError = (error: unknown): boolean => {
  if (typeof error !== 'object' || error === null) return false;
  const { name, $metadata, $retryable } = error as {
    name?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
  };
  if ($retryable) return true;
  if (
    name &&
    /Throttl|TooManyRequests|RequestLimitExceeded|ProvisionedThroughputExceeded|TimeoutError/.test(name)
  ) {
    return true;
  }
  const status = $metadata?.httpStatusCode;
  return status === undefined || status >= 500;
};

/** An AWS SDK error as `Name: message` (`AccessDeniedException: User … is not authorized …`), for error messages. */
export const describeAwsError = (error: unknown): string =>
  error instanceof Error && error.name !== 'Error' && !error.message.startsWith(error.name)
    ? `${error.name}: ${describeError(error)}`
    : describeError(error);
