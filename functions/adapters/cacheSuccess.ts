/**
 * Wraps `load` so that its result is shared by every call until `maxAgeMs` have passed since it was
 * started: concurrent callers share one load, and a failure is not kept, so the next call tries again.
 *
 * @example
 * const readToken = cacheSuccess(() => readCacheToken(secrets, secretArn)); // once per container
 */
export const cacheSuccess = <T>(
  load: () => Promise<T>,
  maxAgeMs = Number.POSITIVE_INFINITY,
): (() => Promise<T>) => {
  let cached: { result: Promise<T>; startedAt: number } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || now - cached.startedAt >= maxAgeMs) {
      const entry = { result: (async () => load())(), startedAt: now };
      cached = entry;
      entry.result.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.result;
  };
};
