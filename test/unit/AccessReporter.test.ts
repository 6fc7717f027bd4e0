import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type AccessReport,
  AccessReporter,
  type AccessReporterOptions,
  ConfigurationError,
} from '../../functions/core';
import { advanceClock, turnEventLoop, useFakeClock } from '../support/fakeClock';

const collect = (options: Partial<AccessReporterOptions> = {}) => {
  const sent: AccessReport[] = [];
  const reporter = new AccessReporter({
    send: async (batch) => {
      sent.push(batch);
    },
    reporterId: 'web-1',
    ...options,
  });
  const totals = (): Record<string, number> => {
    const counts: Record<string, number> = {};
    for (const batch of sent) {
      for (const [key, count] of Object.entries(batch.counts)) counts[key] = (counts[key] ?? 0) + count;
    }
    return counts;
  };
  return { reporter, sent, totals };
};

describe('AccessReporter', () => {
  beforeEach(() => {
    useFakeClock();
    vi.setSystemTime(Date.UTC(2026, 0, 1));
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('flushes once flushEveryEvents reads are recorded', async () => {
    const { reporter, sent } = collect({ flushEveryEvents: 5, minCount: 1 });
    for (const key of ['a', 'a', 'b', 'a']) reporter.record(key);
    await turnEventLoop();
    expect(sent).toEqual([]);
    reporter.record('c', 1);
    await turnEventLoop();
    expect(sent).toEqual([{ v: 1, id: 'web-1/000001', at: Date.now(), counts: { a: 3, b: 1, c: 1 } }]);
    await reporter.close();
  });

  it('reports a key named __proto__ like any other key', async () => {
    const { reporter, sent } = collect({ minCount: 1 });
    reporter.record('__proto__', 2);
    await reporter.close();
    expect(JSON.stringify(sent[0]?.counts)).toBe('{"__proto__":2}');
  });

  it('flushes on its interval', async () => {
    const { reporter, sent } = collect({ flushIntervalMs: 10_000 });
    reporter.record('a', 3);
    await advanceClock(9_000);
    expect(sent).toHaveLength(0);
    await advanceClock(1_000);
    expect(sent.map((batch) => batch.counts)).toEqual([{ a: 3 }]);
    await reporter.close();
  });

  it('sends what is left on close, and refuses reads afterwards', async () => {
    const { reporter, sent } = collect();
    reporter.record('a', 2);
    await reporter.close();
    expect(sent.map((batch) => batch.counts)).toEqual([{ a: 2 }]);
    expect(() => reporter.record('a')).toThrow(/closed/);
  });

  it('leaves out keys read fewer than minCount times in the window', async () => {
    const { reporter, sent } = collect({ minCount: 3 });
    reporter.record('hot', 3);
    reporter.record('warm', 2);
    reporter.record('cold');
    await reporter.close();
    expect(sent.map((batch) => batch.counts)).toEqual([{ hot: 3 }]);
  });

  it('keeps the counts of a failed send and sends them with the next flush', async () => {
    const errors: unknown[] = [];
    let failNext = true;
    const sent: AccessReport[] = [];
    const reporter = new AccessReporter({
      reporterId: 'web-1',
      send: async (batch) => {
        if (failNext) {
          failNext = false;
          throw new Error('queue unavailable');
        }
        sent.push(batch);
      },
      onError: (error) => errors.push(error),
    });
    reporter.record('a', 2);
    await reporter.flush();
    expect(sent).toEqual([]);
    expect(errors).toEqual([new Error('queue unavailable')]);
    reporter.record('a', 3);
    await reporter.close();
    expect(sent.map(({ id, counts }) => ({ id, counts }))).toEqual([
      { id: 'web-1/000002', counts: { a: 5 } },
    ]);
  });

  it('splits a flush into batches whose JSON stays under maxBatchBytes', async () => {
    const { reporter, sent, totals } = collect({ maxBatchBytes: 8_192, maxKeys: 5_000 });
    const expected: Record<string, number> = {};
    for (let index = 0; index < 2_000; index++) {
      reporter.record(`product:${index}`, 2);
      expected[`product:${index}`] = 2;
    }
    await reporter.close();
    expect(sent.length).toBeGreaterThan(1);
    for (const batch of sent)
      expect(new TextEncoder().encode(JSON.stringify(batch)).length).toBeLessThanOrEqual(8_192);
    expect(new Set(sent.map((batch) => batch.id)).size).toBe(sent.length);
    expect(totals()).toEqual(expected);
  });

  it('rejects bad options and bad reads with errors naming them', () => {
    const send = async (): Promise<void> => {};
    expect(() => new AccessReporter({ send, minCount: 0 })).toThrow(ConfigurationError);
    expect(() => new AccessReporter({ send, flushEveryEvents: 1.5 })).toThrow(/flushEveryEvents/);
    const reporter = new AccessReporter({ send });
    expect(() => reporter.record('')).toThrow(/non-empty string key/);
    expect(() => reporter.record('a', -1)).toThrow(/count/);
  });
});
