import { CancelledError, TimeoutError } from './errors';

const abortReason = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new CancelledError();

/** Resolves after `ms`, or rejects as soon as `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Settles like `work`, unless `ms` pass first (rejects with `TimeoutError`) or `signal` aborts
 * (rejects with its reason). `work` receives a signal that aborts in either case, so it can stop.
 */
export const withTimeout = async <T>(
  work: (signal: AbortSignal) => Promise<T>,
  ms: number,
  describe: string,
  signal?: AbortSignal,
): Promise<T> => {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TimeoutError(`${describe} timed out after ${ms} ms`);
      controller.abort(error);
      reject(error);
    }, ms);
    if (signal) {
      onAbort = (): void => {
        controller.abort(signal.reason);
        reject(abortReason(signal));
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
};
