import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../functions/local/cli/constants';
import type { LocalRuntimeHandle } from '../../../functions/local/cli/keepLocalRuntimeUp';
import { defaultStateFile, findLocalRuntime } from '../../../functions/local/cli/localRuntimeState';
import { type CliEnvironment, runCli } from '../../../functions/local/cli/runCli';
import { localRuntimeAddresses } from '../../support/localRuntimeAddresses';
import { ScriptedWarmerFunctions } from '../../support/ScriptedWarmerFunctions';

/** A stream that keeps what is written; the CLI only writes to it. */
const capture = () => {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
};

let stateFile: string;
beforeEach(async () => {
  stateFile = defaultStateFile(await mkdtemp(join(tmpdir(), 'warmers-cli-')));
});

const cli = async (argv: string[], overrides: Partial<CliEnvironment> = {}) => {
  const stdout = capture();
  const stderr = capture();
  const exitCode = await runCli({
    argv,
    stdout: stdout.stream,
    stderr: stderr.stream,
    stateFile,
    signal: new AbortController().signal,
    startLocalRuntime: () => Promise.reject(new Error('not in this test')),
    ...overrides,
  });
  return { exitCode, stdout: stdout.text(), stderr: stderr.text() };
};

const runtime = (stopped: string[]): LocalRuntimeHandle => ({
  ...localRuntimeAddresses,
  stop: async () => {
    stopped.push('stopped');
  },
});

describe('runCli', () => {
  it('prints the usage for --help and exits 0', async () => {
    const { exitCode, stdout } = await cli(['--help']);
    expect(exitCode).toBe(ExitCode.ok);
    expect(stdout).toContain('usage: warmers <command>');
  });

  it('prints the version of the package for --version, in JSON too', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8'));
    expect(await cli(['--version'])).toMatchObject({ exitCode: ExitCode.ok, stdout: `warmers ${version}\n` });
    expect(JSON.parse((await cli(['--version', '--json'])).stdout)).toEqual({ ok: true, version });
  });

  it('answers a usage error with exit 2, in JSON too when --json was given', async () => {
    const { exitCode, stdout, stderr } = await cli(['status', '--json']);
    expect(exitCode).toBe(ExitCode.usage);
    expect(JSON.parse(stdout)).toEqual({
      ok: false,
      error: expect.stringContaining('`warmers status` needs <runId>'),
      exitCode: ExitCode.usage,
    });
    expect(stderr).toContain('error: `warmers status` needs <runId>');
  });

  it('says exactly how to start the local runtime when none is running, with exit 3', async () => {
    const { exitCode, stderr } = await cli(['runs']);
    expect(exitCode).toBe(ExitCode.targetUnavailable);
    expect(stderr).toContain('no local runtime is running');
    expect(stderr).toContain('`npx warmers local`');
  });

  it('runs a command against the functions it connects to, then closes them', async () => {
    const functions = new ScriptedWarmerFunctions({ answers: { runs: { ok: true, runs: [] } } });
    const { exitCode, stdout } = await cli(['runs', '--stack', 'Prod', '--region', 'eu-west-1'], {
      connect: async (options) => {
        expect(options).toMatchObject({ stack: 'Prod', region: 'eu-west-1', stateFile });
        return functions;
      },
    });
    expect(exitCode).toBe(ExitCode.ok);
    expect(stdout).toContain('No runs yet');
    expect(functions.closed).toBe(true);
  });

  it('reports a bug (not a CliError) with exit 70 and its stack', async () => {
    const { exitCode, stderr } = await cli(['runs'], {
      connect: () => Promise.reject(new TypeError('oops')),
    });
    expect(exitCode).toBe(ExitCode.internal);
    expect(stderr).toContain('error: oops');
    expect(stderr).toContain('This is a bug in warmers');
  });
});

describe('warmers local', () => {
  it('records the endpoints for the other commands until stopped, then removes them', async () => {
    const stop = new AbortController();
    const stopped: string[] = [];
    const running = cli(['local'], { signal: stop.signal, startLocalRuntime: async () => runtime(stopped) });
    await expect.poll(() => findLocalRuntime(stateFile)).toMatchObject({ pid: process.pid });

    const second = await cli(['local'], { startLocalRuntime: async () => runtime(stopped) });
    expect(second.exitCode).toBe(ExitCode.usage);
    expect(second.stderr).toContain('a local runtime is already running');

    stop.abort();
    const { exitCode, stdout, stderr } = await running;
    expect(exitCode).toBe(ExitCode.ok);
    expect(stdout).toMatch(/lambda +http:\/\/127\.0\.0\.1:3001/);
    expect(stdout).toContain(`Recorded in ${stateFile}`);
    expect(stderr).toContain('Local runtime stopped.');
    expect(stopped).toEqual(['stopped']);
    expect(await findLocalRuntime(stateFile)).toBeUndefined();
  });

  it('--json prints the endpoints as one JSON document', async () => {
    const stop = new AbortController();
    stop.abort();
    const { stdout } = await cli(['local', '--json'], {
      signal: stop.signal,
      startLocalRuntime: async () => runtime([]),
    });
    expect(JSON.parse(stdout)).toMatchObject({
      ok: true,
      endpoints: { lambda: 'http://127.0.0.1:3001' },
      stateFile,
    });
  });

  it.each<[string[], boolean]>([
    [['local'], true],
    [['local', '--quiet'], false],
    [['local', '--json'], false],
  ])('%j prints a line per invocation: %s', async (argv, printed) => {
    const stop = new AbortController();
    const { stdout } = await cli(argv, {
      signal: stop.signal,
      startLocalRuntime: async ({ onInvocation }) => {
        setImmediate(() => {
          onInvocation?.({
            functionKind: 'consume',
            event: { Records: [{}, {}, {}] },
            durationMs: 1_234,
            result: { batchItemFailures: [{ itemIdentifier: 'm1' }] },
          });
          stop.abort();
        });
        return runtime([]);
      },
    });
    const line = /^\d\d:\d\d:\d\d {2}consume {2}batch of 3 +1\.2 s {2}1 of 3 records failed$/m;
    if (printed) expect(stdout).toMatch(line);
    else expect(stdout).not.toContain('batch of 3');
  });
});
