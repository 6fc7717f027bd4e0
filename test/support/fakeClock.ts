import { vi } from 'vitest';

/**
 * Fakes the clock and timers but not `setImmediate`: the warmer flushes writes on the next turn of the
 * event loop, which must go on turning while the test awaits.
 */
export const useFakeClock = (): void => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
};

/** Lets real `setImmediate` callbacks (and what they start) run. */
export const turnEventLoop = async (turns = 5): Promise<void> => {
  for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setImmediate(resolve));
};

/** Advances the fake clock in steps, letting the event loop turn after each, as real time would. */
export const advanceClock = async (totalMs: number, stepMs = 1_000): Promise<void> => {
  for (let advanced = 0; advanced < totalMs; advanced += stepMs) {
    await vi.advanceTimersByTimeAsync(Math.min(stepMs, totalMs - advanced));
    await turnEventLoop();
  }
};
