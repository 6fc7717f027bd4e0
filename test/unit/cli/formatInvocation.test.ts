import { describe, expect, it } from 'vitest';
import { formatInvocation } from '../../../functions/local/cli/formatInvocation';
import type { LocalInvocation } from '../../../functions/local/LocalRuntime';

const at = new Date(2025, 0, 31, 9, 5, 1);
const line = (invocation: LocalInvocation) => formatInvocation(invocation, at);

describe('formatInvocation', () => {
  it.each<[LocalInvocation, string]>([
    [
      {
        functionKind: 'warm',
        event: { trigger: 'schedule' },
        durationMs: 412.4,
        result: { ok: true, status: 'started', runId: 'r1', keysPlanned: 5_000 },
      },
      '09:05:01  warm     schedule              412 ms  started run r1 (5,000 keys)',
    ],
    [
      {
        functionKind: 'warm',
        event: {},
        durationMs: 20,
        result: { ok: true, status: 'skipped', runInFlight: 'r0' },
      },
      '09:05:01  warm     console                20 ms  skipped: run r0 is in flight',
    ],
    [
      {
        functionKind: 'warm',
        event: { dryRun: true, trigger: 'cli' },
        durationMs: 5,
        result: { ok: true, status: 'planned', keysPlanned: 10 },
      },
      '09:05:01  warm     cli                     5 ms  dry run (10 keys)',
    ],
    [
      { functionKind: 'control', event: { action: 'status' }, durationMs: 3, result: { ok: true } },
      '09:05:01  control  status                  3 ms  ok',
    ],
    [
      {
        functionKind: 'control',
        event: { action: 'status' },
        durationMs: 3,
        result: { ok: false, error: 'no run x' },
      },
      '09:05:01  control  status                  3 ms  refused: no run x',
    ],
    [
      {
        functionKind: 'track',
        event: { Records: [{}, {}] },
        durationMs: 2_500,
        result: { batchItemFailures: [] },
      },
      '09:05:01  track    batch of 2             2.5 s  ok',
    ],
    [
      { functionKind: 'consume', event: { Records: [{}] }, durationMs: 900, error: 'Task timed out' },
      '09:05:01  consume  batch of 1            900 ms  error: Task timed out',
    ],
  ])('%#: %s', (invocation, expected) => {
    expect(line(invocation)).toBe(expected);
  });
});
