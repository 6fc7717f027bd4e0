import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../../functions/local/cli/constants';
import { UsageError } from '../../../functions/local/cli/errors';
import type { WarmCommand } from '../../../functions/local/cli/parseCommandLine';
import {
  type CommandContext,
  exitCodeForRun,
  type RemoteCommand,
  runCommand,
} from '../../../functions/local/cli/runCommand';
import type { RunStatusReport, WarmerFunctions, WarmResponse } from '../../../functions/local/cli/types';
import { renderProgress } from '../../../functions/local/ProgressBar';
import type { RunProgress } from '../../../functions/local/runProgress';
import { ScriptedWarmerFunctions } from '../../support/ScriptedWarmerFunctions';

const started: WarmResponse = {
  ok: true,
  status: 'started',
  runId: 'run-1',
  keysPlanned: 3,
  messages: 1,
  keysFresh: 0,
  keysUnsent: 0,
  keysRejected: 0,
  continues: false,
};

const runAt = (
  warmed: number,
  failed = 0,
  status: RunStatusReport['status'] = 'running',
): RunStatusReport => ({
  runId: 'run-1',
  status,
  trigger: 'cli',
  startedAt: '2025-01-31T09:05:00.000Z',
  endedAt: status === 'running' ? undefined : '2025-01-31T09:05:02.000Z',
  planned: 3,
  warmed,
  failed,
  skipped: 0,
  remaining: 3 - warmed - failed,
  settling: 0,
  keysPerSecond: 1.5,
  etaSeconds: status === 'running' ? 2 : 0,
  skippedReasons: [],
});

const run = async (
  command: RemoteCommand,
  functions: WarmerFunctions,
  extra: Partial<CommandContext> = {},
) => {
  const printed: string[] = [];
  const notes: string[] = [];
  const drawn: { update: RunProgress[]; finish: RunProgress[] } = { update: [], finish: [] };
  const exitCode = await runCommand(command, {
    functions,
    json: false,
    print: (text) => printed.push(text),
    note: (text) => notes.push(text),
    createProgress: () => ({
      update: (progress) => drawn.update.push(progress),
      finish: (progress) => drawn.finish.push(progress),
    }),
    pollIntervalMs: 1,
    ...extra,
  });
  return { exitCode, stdout: printed.join('\n'), notes: notes.join('\n'), drawn };
};

const warm = (overrides: Partial<WarmCommand> = {}): WarmCommand => ({
  name: 'warm',
  dryRun: false,
  force: false,
  wait: false,
  timeoutSeconds: 60,
  ...overrides,
});

describe('runCommand warm', () => {
  it('sends only the flags given, as a cli trigger, and says how to follow the run', async () => {
    const functions = new ScriptedWarmerFunctions({ warm: started, statuses: [runAt(3, 0, 'finished')] });
    const { exitCode, stdout, notes } = await run(warm({ keys: ['a', 'b'], limit: 1 }), functions);

    expect(exitCode).toBe(ExitCode.ok);
    expect(functions.requests).toEqual([{ keys: ['a', 'b'], limit: 1, trigger: 'cli' }]);
    expect(JSON.stringify(functions.requests[0])).toBe('{"keys":["a","b"],"limit":1,"trigger":"cli"}');
    expect(stdout).toBe('Run run-1 started: 3 key(s) in 1 message(s).');
    expect(notes).toContain('`warmers status run-1`');
  });

  it('reads the keys of --file, and stops at a malformed one before invoking anything', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'warmers-run-'));
    await writeFile(join(directory, 'keys.txt'), 'a\n# b\nc\n');
    await writeFile(join(directory, 'bad.json'), '{"keys": []}');
    const functions = new ScriptedWarmerFunctions({ warm: started, statuses: [runAt(3, 0, 'finished')] });

    await run(warm({ keyFile: join(directory, 'keys.txt'), dryRun: true, force: true }), functions);
    expect(functions.requests).toEqual([{ keys: ['a', 'c'], dryRun: true, force: true, trigger: 'cli' }]);
    await expect(run(warm({ keyFile: join(directory, 'bad.json') }), functions)).rejects.toThrow(UsageError);
    expect(functions.requests).toHaveLength(1);
  });

  it('--wait draws progress from status polls, then prints the final figures and exits 0', async () => {
    const functions = new ScriptedWarmerFunctions({
      warm: started,
      statuses: [runAt(0), runAt(2), runAt(3, 0, 'finished')],
    });
    const { exitCode, stdout, drawn } = await run(warm({ wait: true }), functions);

    expect(exitCode).toBe(ExitCode.ok);
    expect(drawn.update.map((progress) => progress.keysWarmed)).toEqual([0, 2]);
    expect(drawn.finish).toHaveLength(1);
    expect(drawn.finish[0]).toMatchObject({ keysPlanned: 3, keysWarmed: 3, keysFailed: 0 });
    expect(stdout).toContain('Run run-1 started');
    expect(stdout).toMatch(/status +finished/);
    expect(stdout).toMatch(/warmed +3/);
  });

  it('--wait says, in a tail waiting on retries, when the next attempt is due and bounds the ETA', async () => {
    let clock = Date.parse('2025-01-31T09:05:01.000Z');
    const tail = { ...runAt(2), retryWaitsSeconds: [10, 20] };
    const functions = new ScriptedWarmerFunctions({
      warm: started,
      statuses: [...Array.from({ length: 12 }, () => tail), runAt(2, 1, 'finished')],
    });
    // Each status poll takes a second of the run's clock.
    const control = functions.control.bind(functions);
    functions.control = (request) => {
      clock += 1_000;
      return control(request);
    };
    const { drawn } = await run(warm({ wait: true }), functions, { now: () => clock });

    const lines = drawn.update.map((progress) => renderProgress(progress));
    expect(lines[0]).toContain('2/3 keys · 2 keys/s · 0 failed');
    expect(lines[3]).toContain('2/3 keys · 1 retrying, next attempt within 7s · 0 failed · ETA ≤27s');
    expect(lines.at(-1)).toContain('2/3 keys · 1 retrying, next attempt within 19s · 0 failed · ETA ≤19s');
  });

  it('--wait exits 1 and points at the DLQ when keys failed', async () => {
    const functions = new ScriptedWarmerFunctions({ warm: started, statuses: [runAt(2, 1, 'finished')] });
    const { exitCode, notes } = await run(warm({ wait: true }), functions);
    expect(exitCode).toBe(ExitCode.runIncomplete);
    expect(notes).toBe('1 key(s) failed: `warmers dlq` shows them with their reasons');
  });

  it('--wait gives up at the timeout with exit 1, the run still going', async () => {
    let now = 0;
    const functions = new ScriptedWarmerFunctions({ warm: started, statuses: [runAt(1)] });
    const { exitCode, notes } = await run(warm({ wait: true, timeoutSeconds: 5 }), functions, {
      now: () => {
        now += 1_000;
        return now;
      },
    });
    expect(exitCode).toBe(ExitCode.runIncomplete);
    expect(notes).toBe('still running after 5 s: follow it with `warmers status run-1`');
  });

  it('--wait stops watching on Ctrl-C with exit 130 and says the run goes on', async () => {
    const interrupt = new AbortController();
    const functions = new ScriptedWarmerFunctions({ warm: started, statuses: [runAt(1)] });
    setTimeout(() => interrupt.abort(), 20);
    const { exitCode, notes, drawn } = await run(warm({ wait: true }), functions, {
      signal: interrupt.signal,
    });
    expect(exitCode).toBe(ExitCode.interrupted);
    expect(notes).toContain('stopped watching; run run-1 goes on');
    expect(drawn.finish).toHaveLength(1);
  });

  it('--wait --json prints one document with the final run, and draws nothing', async () => {
    const functions = new ScriptedWarmerFunctions({
      warm: started,
      statuses: [runAt(1), runAt(3, 0, 'finished')],
    });
    const { exitCode, stdout, drawn } = await run(warm({ wait: true }), functions, { json: true });
    expect(exitCode).toBe(ExitCode.ok);
    expect(JSON.parse(stdout)).toEqual({ ...started, run: runAt(3, 0, 'finished'), exitCode: ExitCode.ok });
    expect(drawn.update).toEqual([]);
  });

  it('--json says ok: false with exit code 5 and why when another run is in flight', async () => {
    const functions = new ScriptedWarmerFunctions({
      warm: { ok: true, status: 'skipped', reason: 'run run-0 is still in flight', runInFlight: 'run-0' },
    });
    const { exitCode, stdout } = await run(warm(), functions, { json: true });
    expect(exitCode).toBe(ExitCode.runSkipped);
    expect(JSON.parse(stdout)).toEqual({
      ok: false,
      exitCode: ExitCode.runSkipped,
      error: 'no run started: run run-0 is still in flight (--force starts another)',
      status: 'skipped',
      reason: 'run run-0 is still in flight',
      runInFlight: 'run-0',
    });
  });

  it('--wait --json says ok: false with exit code 1 and why when keys failed', async () => {
    const functions = new ScriptedWarmerFunctions({ warm: started, statuses: [runAt(2, 1, 'finished')] });
    const { exitCode, stdout } = await run(warm({ wait: true }), functions, { json: true });
    expect(exitCode).toBe(ExitCode.runIncomplete);
    expect(JSON.parse(stdout)).toMatchObject({
      ok: false,
      exitCode: ExitCode.runIncomplete,
      error: '1 key(s) failed: `warmers dlq` shows them with their reasons',
      run: { failed: 1 },
    });
  });

  it('exits 5 when another run is in flight, without waiting', async () => {
    const functions = new ScriptedWarmerFunctions({
      warm: { ok: true, status: 'skipped', reason: 'run run-0 is still in flight', runInFlight: 'run-0' },
    });
    const { exitCode, stdout } = await run(warm({ wait: true }), functions);
    expect(exitCode).toBe(ExitCode.runSkipped);
    expect(stdout).toContain('pass --force');
    expect(functions.requests).toHaveLength(1);
  });
});

describe('runCommand control commands', () => {
  const runs = [runAt(3, 0, 'finished')];
  const functions = () =>
    new ScriptedWarmerFunctions({
      statuses: runs,
      answers: {
        runs: { ok: true, runs },
        hotKeys: { ok: true, hotKeys: [{ key: 'product:1', count: 12, lastAccess: Date.UTC(2025, 0, 31) }] },
        dlq: {
          ok: true,
          messages: [{ messageId: 'm', reason: 'poison', runId: 'run-1', keys: ['item:4242'], errors: {} }],
        },
        cancel: { ok: true, run: runAt(1, 0, 'cancelled') },
      },
    });

  it.each<[RemoteCommand, RegExp]>([
    [{ name: 'status', runId: 'run-1' }, /run +run-1\nstatus +finished/],
    [{ name: 'runs', limit: 5 }, /RUN +STATUS +TRIGGER[^\n]*\n-+[^\n]*\nrun-1 +finished/],
    [
      { name: 'hot-keys', limit: 5 },
      /# +KEY +READS +LAST READ\n[- ]+\n1 +product:1 +12 +2025-01-31 00:00:00Z/,
    ],
    [{ name: 'dlq', redrive: false }, /KEY +RUN +SENT +REASON\n[- ]+\nitem:4242 +run-1 +- +poison/],
    [{ name: 'cancel', runId: 'run-1' }, /Run run-1 is cancelled/],
  ])('%j prints a readable table and exits 0', async (command, table) => {
    const { exitCode, stdout } = await run(command, functions());
    expect(exitCode).toBe(ExitCode.ok);
    expect(stdout).toMatch(table);
  });

  it.each<RemoteCommand>([
    { name: 'status', runId: 'run-1' },
    { name: 'runs' },
    { name: 'hot-keys' },
    { name: 'dlq', redrive: false },
    { name: 'cancel', runId: 'run-1' },
  ])('%j --json prints the answer as one JSON document', async (command) => {
    const { stdout } = await run(command, functions(), { json: true });
    expect(JSON.parse(stdout)).toMatchObject({ ok: true });
  });

  it('sends the flags as the control payload', async () => {
    const scripted = functions();
    await run({ name: 'hot-keys', limit: 5, threshold: 2 }, scripted);
    await run({ name: 'dlq', redrive: true, limit: 3 }, scripted);
    expect(scripted.requests).toEqual([
      { action: 'hotKeys', limit: 5, threshold: 2 },
      { action: 'dlq', redrive: true, limit: 3 },
    ]);
  });
});

describe('runCommand with a run-id prefix', () => {
  const uuid = (first: string) => `${first}-5b7d-4c1e-9f00-1a2b3c4d5e6f`;
  const recent = (...ids: string[]) => ids.map((runId) => ({ ...runAt(3, 0, 'finished'), runId }));

  it('resolves a unique prefix of at least 8 characters among the recent runs', async () => {
    const functions = new ScriptedWarmerFunctions({
      statuses: recent(uuid('3f1c9a2e')),
      answers: { runs: { ok: true, runs: recent(uuid('3f1c9a2e'), uuid('77aa0000')) } },
    });
    const { exitCode } = await run({ name: 'status', runId: '3f1c9a2e' }, functions);
    expect(exitCode).toBe(ExitCode.ok);
    expect(functions.requests).toEqual([
      { action: 'runs', limit: 100 },
      { action: 'status', runId: uuid('3f1c9a2e') },
    ]);
  });

  it('lists the runs an ambiguous prefix matches, and asks for more of the id', async () => {
    const functions = new ScriptedWarmerFunctions({
      answers: { runs: { ok: true, runs: recent(uuid('3f1c9a2e'), `3f1c9a2e${uuid('0000').slice(4)}`) } },
    });
    const error = await run({ name: 'cancel', runId: '3f1c9a2e' }, functions).catch((caught) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toMatch(/^run id 3f1c9a2e is ambiguous, 2 runs start with it: /);
    expect(error.message).toContain(`${uuid('3f1c9a2e')} (finished, 2025-01-31 09:05:00Z)`);
    expect(error.message).toMatch(/; give more of the id$/);
    expect(functions.requests).toEqual([{ action: 'runs', limit: 100 }]);
  });

  it('sends a whole id, a short one, or one no recent run starts with as given', async () => {
    const functions = new ScriptedWarmerFunctions({
      statuses: recent('x'),
      answers: { runs: { ok: true, runs: recent(uuid('3f1c9a2e')) } },
    });
    await run({ name: 'status', runId: uuid('11112222') }, functions);
    await run({ name: 'status', runId: 'run-1' }, functions);
    await run({ name: 'status', runId: 'deadbeef-old' }, functions);
    expect(functions.requests).toEqual([
      { action: 'status', runId: uuid('11112222') },
      { action: 'status', runId: 'run-1' },
      { action: 'runs', limit: 100 },
      { action: 'status', runId: 'deadbeef-old' },
    ]);
  });
});

describe('runCommand status with skipped keys', () => {
  const skippedRun: RunStatusReport = {
    ...runAt(3, 0, 'finished'),
    planned: 15,
    skipped: 12,
    skippedReasons: [
      { reason: 'still fresh in the cache', count: 1, sample: ['product:9'] },
      {
        reason: 'no value at the origin',
        count: 11,
        sample: Array.from({ length: 10 }, (_, index) => `product:${index * 500 + 3}`),
      },
    ],
  };

  it('lists the skipped keys by reason, most first, with the sample and … when there are more', async () => {
    const functions = new ScriptedWarmerFunctions({ statuses: [skippedRun] });
    const { stdout } = await run({ name: 'status', runId: 'run-1' }, functions);
    expect(stdout).toMatch(/^skipped +12$/m);
    expect(stdout).toContain('\n\nskipped keys, by reason:\n');
    expect(stdout).toMatch(
      /^ {2}11 {2}no value at the origin +product:3, product:503, .*, product:4503, …$/m,
    );
    expect(stdout).toMatch(/^ {3}1 {2}still fresh in the cache {2}product:9$/m);
  });

  it('--json carries them', async () => {
    const functions = new ScriptedWarmerFunctions({ statuses: [skippedRun] });
    const { stdout } = await run({ name: 'status', runId: 'run-1' }, functions, { json: true });
    expect(JSON.parse(stdout).run.skippedReasons).toEqual(skippedRun.skippedReasons);
  });
});

describe('exitCodeForRun', () => {
  it('is 0 only for a finished run without failures', () => {
    expect(exitCodeForRun(runAt(3, 0, 'finished'))).toBe(ExitCode.ok);
    expect(exitCodeForRun(runAt(2, 1, 'finished'))).toBe(ExitCode.runIncomplete);
    expect(exitCodeForRun(runAt(1, 0, 'cancelled'))).toBe(ExitCode.runIncomplete);
  });
});
