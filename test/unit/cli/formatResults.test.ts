import { describe, expect, it } from 'vitest';
import { describeRunStatus } from '../../../functions/adapters/runStatus';
import {
  describeRunOutcome,
  formatTime,
  renderDeadLetters,
  renderRunStatus,
  renderRuns,
  renderWarmOutcome,
} from '../../../functions/local/cli/formatResults';
import type { RunStatusReport } from '../../../functions/local/cli/types';
import { InMemoryRunStore } from '../../support/InMemoryRunStore';

const run: RunStatusReport = {
  runId: 'run-1',
  status: 'finished',
  trigger: 'cli',
  startedAt: '2025-01-31T09:05:00.000Z',
  endedAt: '2025-01-31T09:06:15.000Z',
  planned: 50_000,
  warmed: 49_999,
  failed: 1,
  skipped: 0,
  remaining: 0,
  settling: 0,
  keysPerSecond: 666.7,
  etaSeconds: 0,
  skippedReasons: [],
};

describe('formatResults', () => {
  it('formats times as UTC to the second', () => {
    expect(formatTime('2025-01-31T09:05:00.123Z')).toBe('2025-01-31 09:05:00Z');
    expect(formatTime(Date.UTC(2025, 0, 31, 9, 5))).toBe('2025-01-31 09:05:00Z');
    expect(formatTime(undefined)).toBe('-');
  });

  it("shows a finished run's figures and how long it took", () => {
    const text = renderRunStatus(run);
    expect(text).toContain('status     finished');
    expect(text).toContain('warmed     49,999');
    expect(text).toContain('rate       667 keys/s');
    expect(text).toContain('took       1m15s');
  });

  it("shows a running run's ETA", () => {
    expect(renderRunStatus({ ...run, status: 'running', endedAt: undefined, etaSeconds: 42 })).toContain(
      'eta        42s',
    );
  });

  it('says a run is still planning while its plan grows, with no ETA', () => {
    const planning = {
      ...run,
      status: 'running' as const,
      planning: true,
      endedAt: undefined,
      etaSeconds: undefined,
    };

    expect(renderRunStatus(planning)).toContain('status     running (planning)');
    expect(renderRunStatus(planning)).toContain('eta        -');
    expect(renderRuns([planning]).split('\n')[2]).toMatch(/^run-1 +running \(planning\) +cli/);
  });

  it('says what to do about failed keys or a cancelled run, nothing for a clean one', () => {
    expect(describeRunOutcome(run)).toBe('1 key(s) failed: `warmers dlq` shows them with their reasons');
    expect(describeRunOutcome({ ...run, status: 'cancelled' })).toBe('run run-1 was cancelled');
    expect(describeRunOutcome({ ...run, failed: 0 })).toBeUndefined();
  });

  it('lists runs, or says how to start one', () => {
    expect(renderRuns([run]).split('\n')[2]).toMatch(
      /^run-1 +finished +cli +2025-01-31 09:05:00Z +50,000 +49,999 +1 +0$/,
    );
    expect(renderRuns([])).toContain('`warmers warm`');
  });

  it("lists each dead-lettered key with its own last error, else the message's reason", () => {
    const text = renderDeadLetters([
      {
        messageId: 'm-1',
        sentAt: '2025-01-31T09:06:00.000Z',
        reason: 'failed after 4 deliveries',
        runId: 'run-1',
        keys: ['item:4242', 'item:7'],
        errors: { 'item:4242': 'HTTP 500: row 4242 is corrupt' },
      },
    ]);
    expect(text).toMatch(/item:4242 +run-1 +2025-01-31 09:06:00Z +HTTP 500: row 4242 is corrupt/);
    expect(text).toMatch(/item:7 +run-1 +2025-01-31 09:06:00Z +failed after 4 deliveries/);
    expect(text).toContain('2 key(s) in 1 message(s) shown');
    expect(renderDeadLetters([])).toBe('The dead-letter queue is empty.');
  });

  it('explains a skipped warm with the run in flight and the way out', () => {
    expect(
      renderWarmOutcome({ status: 'skipped', reason: 'run r-0 is still in flight', runInFlight: 'r-0' }),
    ).toBe(
      'No run started: run r-0 is still in flight. Follow it with `warmers status r-0`, or pass --force to start another.',
    );
  });

  it('says how many keys were rejected, and that a run still being planned goes on', () => {
    expect(
      renderWarmOutcome({
        status: 'started',
        runId: 'r-1',
        keysPlanned: 30_002,
        messages: 300,
        keysFresh: 0,
        keysUnsent: 0,
        keysRejected: 2,
        continues: true,
      }),
    ).toBe(
      'Run r-1 started: 30,002 key(s) in 300 message(s) (2 rejected, counted skipped with the reason); ' +
        'more keys are being queued by the next invocation.',
    );
  });

  it('shows a dry run as a plan', () => {
    const text = renderWarmOutcome({
      status: 'planned',
      keysPlanned: 1_000,
      keysFresh: 0,
      keysRejected: 0,
      messages: 10,
      sqsRequests: 1,
      estimatedCostUsd: 0.0000042,
      sampleKeys: ['a', 'b'],
    });
    expect(text).toContain('Dry run: nothing was sent.');
    expect(text).toContain('keys planned      1,000');
    expect(text).toContain('estimated cost    $0.000004');
    expect(text).toContain('first keys        a, b');
  });
});

describe('renderRunStatus with skipped keys', () => {
  it('lists the reasons a run store keeps, each with its count and at most 10 keys', async () => {
    const store = new InMemoryRunStore();
    await store.createRun({ runId: 'run-2', trigger: 'cli', strategy: 'LAZY', keysPlanned: 20, messages: 2 });
    const missing = Array.from({ length: 12 }, (_, index) => `product:${index}`);
    store.recordSkipped('run-2', 'no value at the origin', missing.slice(0, 7));
    store.recordSkipped('run-2', 'no value at the origin', missing.slice(7));
    store.recordSkipped('run-2', 'cancelled', ['product:99']);
    const stored = await store.getRun('run-2');
    if (!stored) throw new Error('the run was not stored');

    const status = describeRunStatus(stored);
    expect(status.skippedReasons).toEqual([
      { reason: 'no value at the origin', count: 12, sample: missing.slice(0, 10) },
      { reason: 'cancelled', count: 1, sample: ['product:99'] },
    ]);
    expect(renderRunStatus(status)).toContain(
      'skipped keys, by reason:\n' +
        `  12  no value at the origin  ${missing.slice(0, 10).join(', ')}, …\n` +
        '   1  cancelled               product:99',
    );
  });

  it('shows nothing more when the run store keeps no reasons', () => {
    expect(renderRunStatus(run)).not.toContain('by reason');
  });
});
