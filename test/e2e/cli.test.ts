import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessReporter, sleep } from '../../functions/core';
import { ExitCode } from '../../functions/local/cli/constants';
import { localRuntimeFunctions } from '../../functions/local/cli/LambdaWarmerFunctions';
import { defaultStateFile, requireLocalRuntime } from '../../functions/local/cli/localRuntimeState';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../functions/local/localAws';
import { buildCli } from '../../scripts/packageBuild';
import { TmuxTerminal } from '../support/tmuxTerminal';

/**
 * `warmers` as a person uses it: `warmers local` in one terminal window, the other commands typed in
 * a second one, both read back from the screen. The state directory (TMPDIR) is private to the test,
 * so a developer's own `warmers local` is neither used nor disturbed. The README's commands go through
 * `npx` (bin/warmers.mjs: in this checkout, the sources through tsx); the others call the CLI compiled
 * as the package ships it, `warmers` on the PATH, which starts in a fraction of the time.
 */
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const SAMPLE_KEYS = 5_000;
const runIdPattern = /Run ([0-9a-f-]{36}) started/;
/** The compiled CLI, inside the checkout so that `warmers local` finds the emulators in node_modules. */
const compiledCli = join(repoRoot, 'node_modules', '.cache', `warmers-cli-e2e-${process.pid}`);

let stateDirectory: string;
let terminal: TmuxTerminal | undefined;
let runId: string;
let failedKeys: number;

const cli = (): TmuxTerminal => {
  if (!terminal) throw new Error('the terminal did not start');
  return terminal;
};

/** Runs the CLI as a script would, with --json, and parses what it printed; its stderr only explains a failure. */
const json = (args: string[]) =>
  new Promise<{ exitCode: number | null; document: Record<string, unknown> }>((resolve, reject) => {
    const child = spawn('node', [join(compiledCli, 'warmers.js'), ...args, '--json'], {
      cwd: repoRoot,
      env: { ...process.env, TMPDIR: stateDirectory },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 90_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (exitCode) => {
      try {
        resolve({ exitCode, document: JSON.parse(stdout) as Record<string, unknown> });
      } catch (error) {
        reject(
          new Error(`warmers ${args.join(' ')} --json printed no JSON document: ${stdout}\n${stderr}`, {
            cause: error,
          }),
        );
      }
    });
  });

const count = (screen: string, field: string): number => {
  const match = new RegExp(`^${field} +([\\d,]+)$`, 'm').exec(screen);
  if (!match?.[1]) throw new Error(`no ${field} on the screen:\n${screen}`);
  return Number(match[1].replaceAll(',', ''));
};

beforeAll(async () => {
  stateDirectory = await mkdtemp(join(tmpdir(), 'warmers-cli-e2e-'));
  const binDirectory = join(stateDirectory, 'bin');
  await mkdir(binDirectory);
  await buildCli(compiledCli);
  await writeFile(
    join(binDirectory, 'warmers'),
    `#!/bin/sh\nexec node ${join(compiledCli, 'warmers.js')} "$@"\n`,
    { mode: 0o755 },
  );
  terminal = TmuxTerminal.start('local', {
    width: 120,
    height: 40,
    cwd: repoRoot,
    env: {
      TMPDIR: stateDirectory,
      PATH: `${binDirectory}:${process.env.PATH ?? ''}`,
      // The sample's broken products reach the DLQ after re-enqueues a second apart, not five or ten.
      CODOMYRMEX_WARMING_REQUEUE_DELAY_SECONDS: '1',
    },
  });
  terminal.type('local', 'npx warmers local');
  await terminal.waitFor('local', /Local runtime up \(pid \d+\)/, 90_000);
  terminal.openWindow('cli');
}, 120_000);

afterAll(async () => {
  terminal?.kill();
  await rm(compiledCli, { recursive: true, force: true });
});

describe('warmers in a terminal', () => {
  it('local prints its endpoints and how to use them', () => {
    const screen = cli().screen('local');
    expect(screen).toMatch(/^lambda +http:\/\/127\.0\.0\.1:\d+$/m);
    expect(screen).toMatch(/^access queue +http:\/\/\S+$/m);
    expect(screen).toContain(`Recorded in ${defaultStateFile(stateDirectory)}`);
  });

  it('warm --wait draws a progress bar in place, then prints the final stats', async () => {
    const { screen, exitCode } = await cli().run('cli', 'npx warmers warm --wait', 110_000);

    runId = runIdPattern.exec(screen)?.[1] ?? '';
    expect(runId, screen).not.toBe('');
    expect(screen).toContain(`started: ${SAMPLE_KEYS.toLocaleString('en-US')} key(s)`);
    // Redrawn in place on a terminal: one bar line, at its final state.
    const bars = screen.split('\n').filter((line) => line.startsWith('['));
    expect(bars, screen).toHaveLength(1);
    expect(bars[0]).toMatch(/^\[#{30}\] 100% 5,000\/5,000 keys · [\d,]+ keys\/s · [\d,]+ failed · ETA 0s$/);
    expect(screen).toMatch(new RegExp(`^run +${runId}$`, 'm'));
    expect(screen).toMatch(/^status +finished$/m);
    failedKeys = count(screen, 'failed');
    expect(count(screen, 'warmed') + failedKeys + count(screen, 'skipped')).toBe(SAMPLE_KEYS);
    expect(screen).toMatch(/^took +(\d+m)?\d+s$/m);
    // The sample origin has products that are always broken: they fail, and the CLI says where to look.
    expect(failedKeys).toBeGreaterThan(0);
    expect(screen).toContain('key(s) failed: `warmers dlq` shows them with their reasons');
    expect(exitCode).toBe(ExitCode.runIncomplete);
  }, 120_000);

  it('local prints a line per invocation: function, trigger or batch, duration, outcome', () => {
    const screen = cli().screen('local', { scrollback: true });
    expect(screen).toMatch(
      new RegExp(
        `^\\d\\d:\\d\\d:\\d\\d {2}warm {5}cli +[\\d.]+ m?s {2}started run ${runId} \\(5,000 keys\\)$`,
        'm',
      ),
    );
    expect(screen).toMatch(/^\d\d:\d\d:\d\d {2}consume {2}batch of \d+ +[\d.]+ m?s {2}ok$/m);
    expect(screen).toMatch(/^\d\d:\d\d:\d\d {2}control {2}status +[\d.]+ m?s {2}ok$/m);
  });

  it('status prints the run as a readable table, found by a prefix of its id', async () => {
    const { screen, exitCode } = await cli().run('cli', `warmers status ${runId.slice(0, 8)}`, 30_000);
    expect(exitCode).toBe(ExitCode.ok);
    expect(screen).toMatch(new RegExp(`^run +${runId}$`, 'm'));
    expect(screen).toMatch(/^status +finished$/m);
    expect(screen).toMatch(/^trigger +cli$/m);
    expect(screen).toMatch(/^planned +5,000$/m);
    expect(count(screen, 'failed')).toBe(failedKeys);
    expect(screen).toMatch(/^remaining +0$/m);
  }, 40_000);

  it('hot-keys prints the keys applications read most, as a table', async () => {
    const runtime = await requireLocalRuntime(defaultStateFile(stateDirectory));
    const { endpoints, queueUrls } = runtime;
    const sqs = new SQSClient({
      endpoint: endpoints.sqs,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    const reporter = new AccessReporter({
      send: async (batch) => {
        await sqs.send(
          new SendMessageCommand({ QueueUrl: queueUrls.access, MessageBody: JSON.stringify(batch) }),
        );
      },
    });
    for (const [key, reads] of [
      ['product:42', 30],
      ['product:7', 12],
      ['product:1', 3],
    ] as const)
      for (let read = 0; read < reads; read++) reporter.record(key);
    await reporter.close();
    sqs.destroy();
    // The track function's event source gathers access events for a few seconds before it runs.
    const functions = localRuntimeFunctions(runtime, 'the local runtime stopped');
    const deadline = Date.now() + 30_000;
    while (
      (await functions.control({ action: 'hotKeys', limit: 10 })).hotKeys.length < 3 &&
      Date.now() < deadline
    )
      await sleep(500);
    functions.close();

    const { screen, exitCode } = await cli().run('cli', 'warmers hot-keys', 30_000);
    expect(exitCode).toBe(ExitCode.ok);
    expect(screen).toMatch(/^# +KEY +READS +LAST READ$/m);
    expect(screen).toMatch(/^1 +product:42 +30 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/m);
    expect(screen).toMatch(/^2 +product:7 +12 /m);
    expect(screen).toMatch(/^3 +product:1 +3 /m);
  }, 60_000);

  it('dlq prints the dead-lettered keys with their reasons, as a table', async () => {
    const { screen, exitCode } = await cli().run('cli', 'warmers dlq', 30_000);
    expect(exitCode).toBe(ExitCode.ok);
    expect(screen).toMatch(/^KEY +RUN +SENT +REASON$/m);
    const rows = screen.split('\n').filter((line) => line.includes(` ${runId} `));
    expect(rows, screen).toHaveLength(failedKeys);
    for (const row of rows)
      expect(row).toMatch(/^product:\d+ +\S+ +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ +.*corrupt/);
    expect(screen).toContain('`warmers dlq --redrive` warms them again');
  }, 40_000);

  it('answers every command with one parseable JSON document under --json', async () => {
    // The commands that start no run do not depend on each other: they run at once.
    const [planned, status, runs, hotKeys, deadLetters, cancelled, unknownRun, badLimit, secondLocal] =
      await Promise.all([
        json(['warm', '--dry-run', '--limit', '10']),
        json(['status', runId]),
        json(['runs', '--limit', '5']),
        json(['hot-keys', '--limit', '2']),
        json(['dlq']),
        json(['cancel', runId]),
        json(['status', 'no-such-run']),
        json(['runs', '--limit', 'many']),
        json(['local']),
      ]);
    expect(planned).toMatchObject({
      exitCode: ExitCode.ok,
      document: { ok: true, status: 'planned', keysPlanned: 10 },
    });
    expect(status).toMatchObject({ exitCode: 0, document: { ok: true, run: { runId } } });
    expect(runs.document.runs).toEqual(expect.arrayContaining([expect.objectContaining({ runId })]));
    expect(hotKeys.document.hotKeys).toHaveLength(2);
    expect(deadLetters.document.messages).toHaveLength(failedKeys);
    expect(cancelled).toMatchObject({
      exitCode: 0,
      document: { ok: true, run: { status: 'finished' } },
    });
    expect(unknownRun).toMatchObject({
      exitCode: ExitCode.remoteError,
      document: {
        ok: false,
        error: expect.stringContaining('no run no-such-run: `warmers runs` lists the recent runs'),
      },
    });
    expect(badLimit).toMatchObject({
      exitCode: ExitCode.usage,
      document: { ok: false, error: '--limit must be a whole number ≥ 1, got "many"' },
    });
    expect(secondLocal).toMatchObject({
      exitCode: ExitCode.usage,
      document: { ok: false, error: expect.stringContaining('a local runtime is already running') },
    });

    const warmed = await json(['warm', '--keys', 'product:1,product:2', '--wait']);
    expect(warmed).toMatchObject({
      exitCode: ExitCode.ok,
      document: { ok: true, status: 'started', run: { status: 'finished', planned: 2, warmed: 2 } },
    });
    const redriven = await json(['dlq', '--redrive']);
    expect(redriven).toMatchObject({ exitCode: 0, document: { ok: true, redrive: { keys: failedKeys } } });
    const { runId: redriveRunId } = redriven.document.redrive as { runId: string };
    expect((await json(['status', redriveRunId])).document).toMatchObject({ run: { trigger: 'redrive' } });
  }, 240_000);

  it('a warm refused while a run is in flight says ok: false in JSON, as its exit code 5 does', async () => {
    const first = await json(['warm', '--force']);
    expect(first.document).toMatchObject({ ok: true, status: 'started', exitCode: 0 });
    const firstRunId = first.document.runId as string;
    expect(await json(['warm'])).toMatchObject({
      exitCode: ExitCode.runSkipped,
      document: {
        ok: false,
        status: 'skipped',
        runInFlight: firstRunId,
        exitCode: ExitCode.runSkipped,
        error: `no run started: run ${firstRunId} is still in flight (--force starts another)`,
      },
    });
    const { screen } = await cli().run('cli', `warmers cancel ${firstRunId.slice(0, 12)}`, 30_000);
    expect(screen).toMatch(new RegExp(`^run +${firstRunId}$`, 'm'));
  }, 60_000);

  it('--json goes through a real pipe: stdout holds only the document', async () => {
    const { screen, exitCode } = await cli().run(
      'cli',
      'set -o pipefail; npx warmers runs --limit 1 --json | jq -r \'"first run: " + .runs[0].status\'',
      30_000,
    );
    expect(exitCode).toBe(ExitCode.ok);
    expect(screen).toMatch(/^first run: (running|finished|cancelled)$/m);
  }, 40_000);

  it('answers --version, help in its own words, and "did you mean" for a mistyped command or flag', async () => {
    const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8'));
    expect((await cli().run('cli', 'warmers --version', 30_000)).screen).toMatch(
      new RegExp(`^warmers ${version.replaceAll('.', '\\.')}$`, 'm'),
    );

    const local = await cli().run('cli', 'warmers local --help', 30_000);
    expect(local.exitCode).toBe(ExitCode.ok);
    expect(local.screen).toMatch(/^ {2}--quiet, -q +print no line per invocation$/m);
    expect(local.screen).not.toContain('--stack');
    expect((await cli().run('cli', 'warmers runs --help', 30_000)).screen).toMatch(
      /^ {2}--limit N +show at most N runs \(default 10\)$/m,
    );

    const command = await cli().run('cli', 'warmers wram', 30_000);
    expect(command.exitCode).toBe(ExitCode.usage);
    expect(command.screen).toContain('error: unknown command "wram" (did you mean warm?)');
    const flag = await cli().run('cli', 'warmers warm --kyes product:1', 30_000);
    expect(flag.exitCode).toBe(ExitCode.usage);
    expect(flag.screen).toContain('error: unknown flag --kyes (did you mean --keys?)');
  }, 120_000);

  it('Ctrl-C stops the local runtime; then commands say how to start one', async () => {
    cli().interrupt('local');
    await cli().waitFor('local', /Local runtime stopped\./, 30_000);

    const { screen, exitCode } = await cli().run('cli', 'warmers runs', 30_000);
    expect(exitCode).toBe(ExitCode.targetUnavailable);
    expect(screen).toContain('error: no local runtime is running');
    expect(screen).toContain('start it in another terminal with `npx warmers local`');
  }, 60_000);
});
