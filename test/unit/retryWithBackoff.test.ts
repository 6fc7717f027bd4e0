import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffDelayMs, retryWithBackoff, sleep, TimeoutError, withTimeout } from '../../functions/core';
import { useFakeClock } from '../support/fakeClock';

afterEach(() => {
  vi.useRealTimers();
});

const options = { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1_000 };

describe('backoffDelayMs', () => {
  it('draws uniformly below a ceiling that doubles each retry and is capped', () => {
    expect([0, 1, 2, 3, 4].map((retry) => backoffDelayMs(retry, { ...options, random: () => 0.5 }))).toEqual([
      50, 100, 200, 400, 500,
    ]);
    expect(backoffDelayMs(2, { ...options, random: () => 0 })).toBe(0);
  });
});

describe('retryWithBackoff', () => {
  it('returns the first success', async () => {
    let attempts = 0;
    const result = await retryWithBackoff(
      async () => {
        attempts++;
        if (attempts < 3) throw new Error('not yet');
        return 'done';
      },
      { ...options, baseDelayMs: 0 },
    );

    expect(result).toBe('done');
    expect(attempts).toBe(3);
  });

  it('throws the last error after maxRetries retries', async () => {
    let attempts = 0;
    const failing = retryWithBackoff(
      async (attempt) => {
        attempts++;
        throw new Error(`attempt ${attempt}`);
      },
      { ...options, baseDelayMs: 0 },
    );

    await expect(failing).rejects.toThrow('attempt 3');
    expect(attempts).toBe(4);
  });

  it('does not retry an error shouldRetry refuses', async () => {
    let attempts = 0;
    const failing = retryWithBackoff(
      async () => {
        attempts++;
        throw new Error('bad request');
      },
      { ...options, shouldRetry: () => false },
    );

    await expect(failing).rejects.toThrow('bad request');
    expect(attempts).toBe(1);
  });

  it('gives up waiting when the signal aborts, reporting the operation’s own error', async () => {
    useFakeClock();
    const controller = new AbortController();
    const failing = retryWithBackoff(
      async () => {
        throw new Error('origin down');
      },
      { ...options, baseDelayMs: 10_000, maxDelayMs: 10_000, random: () => 0.9, signal: controller.signal },
    );
    const settled = expect(failing).rejects.toThrow('origin down');

    await vi.advanceTimersByTimeAsync(100);
    controller.abort();
    await settled;
  });
});

describe('withTimeout', () => {
  it('rejects with a TimeoutError naming the work when it takes too long', async () => {
    useFakeClock();
    const slow = withTimeout((signal) => sleep(5_000, signal), 1_000, 'loading k');
    const settled = expect(slow).rejects.toThrow(new TimeoutError('loading k timed out after 1000 ms'));

    await vi.advanceTimersByTimeAsync(1_000);
    await settled;
  });

  it('rejects with the reason of an aborted parent signal', async () => {
    const controller = new AbortController();
    controller.abort(new Error('run deadline'));

    await expect(withTimeout(() => sleep(10), 1_000, 'x', controller.signal)).rejects.toThrow('run deadline');
  });

  it('resolves with the work’s value in time', async () => {
    expect(await withTimeout(async () => 42, 1_000, 'x')).toBe(42);
  });
});
