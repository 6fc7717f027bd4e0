import { describeError } from '../../core';
import { ProgressBar } from '../ProgressBar';
import type { TargetOptions } from './connectToFunctions';
import { ExitCode } from './constants';
import { CliError } from './errors';
import { formatInvocation } from './formatInvocation';
import { keepLocalRuntimeUp, type LocalRuntimeHandle, type LocalRuntimeHooks } from './keepLocalRuntimeUp';
import { packageVersion } from './packageVersion';
import { parseCommandLine, renderUsage } from './parseCommandLine';
import { runCommand } from './runCommand';
import type { WarmerFunctions } from './types';

export interface CliEnvironment {
  /** The arguments after `warmers`. */
  argv: readonly string[];
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** Where `warmers local` records its endpoints (see `defaultStateFile`). */
  stateFile: string;
  /** Aborted on Ctrl-C / SIGTERM. */
  signal: AbortSignal;
  /** Starts the local runtime, for `warmers local`; `onInvocation` hears of every invocation. */
  startLocalRuntime: (options: LocalRuntimeHooks) => Promise<LocalRuntimeHandle>;
  /** Finds the functions to invoke; tests pass fakes. @default connectToFunctions */
  connect?: (options: TargetOptions) => Promise<WarmerFunctions>;
}

/** The AWS SDK clients load with the first command that talks to functions, so `--help` starts fast. */
const loadConnectToFunctions = async () => (await import('./connectToFunctions')).connectToFunctions;

/**
 * The `warmers` command line: parses the arguments, runs the command and prints its result, and
 * answers every failure with one line that says what to do. Returns the process exit code.
 *
 * @example
 * process.exitCode = await runCli({ argv: process.argv.slice(2), stdout: process.stdout, … });
 */
export const runCli = async (env: CliEnvironment): Promise<ExitCode> => {
  const print = (text: string) => env.stdout.write(`${text}\n`);
  const note = (text: string) => env.stderr.write(`${text}\n`);
  // Known before parsing, so even a usage error answers in JSON when --json was asked for.
  let json = env.argv.includes('--json');
  try {
    const { command, options } = parseCommandLine(env.argv);
    json = options.json;
    if (command.name === 'help') {
      print(renderUsage(command.topic));
      return ExitCode.ok;
    }
    if (command.name === 'version') {
      const version = packageVersion();
      print(json ? JSON.stringify({ ok: true, version }) : `warmers ${version}`);
      return ExitCode.ok;
    }
    if (command.name === 'local')
      return await keepLocalRuntimeUp({
        // A line per invocation, as `sst dev` prints them; JSON mode keeps stdout to its one document.
        start: () =>
          env.startLocalRuntime({
            onInvocation:
              json || command.quiet ? undefined : (invocation) => print(formatInvocation(invocation)),
          }),
        stateFile: env.stateFile,
        json,
        print,
        note,
        signal: env.signal,
      });
    const functions = await (env.connect ?? (await loadConnectToFunctions()))({
      stack: options.stack,
      region: options.region,
      stateFile: env.stateFile,
      signal: env.signal,
    });
    try {
      return await runCommand(command, {
        functions,
        json,
        print,
        note,
        createProgress: () => new ProgressBar(env.stderr),
        signal: env.signal,
      });
    } finally {
      functions.close();
    }
  } catch (error) {
    const exitCode = error instanceof CliError ? error.exitCode : ExitCode.internal;
    if (json) print(JSON.stringify({ ok: false, error: describeError(error), exitCode }));
    note(`error: ${describeError(error)}`);
    if (!(error instanceof CliError))
      note(
        `This is a bug in warmers; please report it with the command you ran.\n${(error as Error).stack ?? ''}`,
      );
    return exitCode;
  }
};
