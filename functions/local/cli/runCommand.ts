import { ExitCode } from './constants';
import { followRun, type ProgressDisplay } from './followRun';
import {
  describeRunOutcome,
  renderCancelled,
  renderDeadLetters,
  renderHotKeys,
  renderRedrive,
  renderRunStatus,
  renderRuns,
  renderWarmOutcome,
} from './formatResults';
import type { Command, WarmCommand } from './parseCommandLine';
import { readKeyFile } from './readKeyFile';
import { resolveRunId } from './resolveRunId';
import type { RunStatusReport, WarmerFunctions, WarmRequest } from './types';

export interface CommandContext {
  functions: WarmerFunctions;
  json: boolean;
  /** Writes one result to stdout (a table, or the JSON document). */
  print: (text: string) => void;
  /** Writes a remark for a person to stderr: hints, what happens next. */
  note: (text: string) => void;
  /** A progress display for `warm --wait` (none with --json). */
  createProgress?: () => ProgressDisplay;
  /** Aborted on Ctrl-C: `warm --wait` stops watching; the run goes on. */
  signal?: AbortSignal;
  now?: () => number;
  pollIntervalMs?: number;
}

/** The commands that talk to the functions (not `local`, `help` or `version`). */
export type RemoteCommand = Exclude<Command, { name: 'local' | 'help' | 'version' }>;

/** 0 for a run whose keys all warmed or were skipped; 1 when any failed or it was cancelled. */
export const exitCodeForRun = (run: RunStatusReport): ExitCode =>
  run.status === 'finished' && run.failed === 0 ? ExitCode.ok : ExitCode.runIncomplete;

const warmRequestOf = async (command: WarmCommand): Promise<WarmRequest> => ({
  keys: command.keyFile === undefined ? command.keys : await readKeyFile(command.keyFile),
  provider: command.provider,
  limit: command.limit,
  // Only flags that were given go into the payload, so it reads like one typed in the console.
  dryRun: command.dryRun || undefined,
  force: command.force || undefined,
  trigger: 'cli',
});

/** A warm's JSON document: `ok` and `exitCode` agree with the exit code, `error` says what went wrong. */
const warmDocument = (answer: object, exitCode: ExitCode, problem: string | undefined): string =>
  JSON.stringify({
    ...answer,
    ok: exitCode === ExitCode.ok,
    exitCode,
    ...(problem === undefined ? {} : { error: problem }),
  });

const warm = async (command: WarmCommand, context: CommandContext): Promise<ExitCode> => {
  const { functions, json, print, note } = context;
  const outcome = await functions.warm(await warmRequestOf(command));
  if (outcome.status === 'skipped') {
    print(
      json
        ? warmDocument(
            outcome,
            ExitCode.runSkipped,
            `no run started: run ${outcome.runInFlight} is still in flight (--force starts another)`,
          )
        : renderWarmOutcome(outcome),
    );
    return ExitCode.runSkipped;
  }
  if (!command.wait || outcome.status !== 'started') {
    print(json ? warmDocument(outcome, ExitCode.ok, undefined) : renderWarmOutcome(outcome));
    if (!json && outcome.status === 'started')
      note(`Follow it with \`warmers status ${outcome.runId}\`, or warm with --wait next time.`);
    return ExitCode.ok;
  }

  if (!json) print(renderWarmOutcome(outcome));
  const { run, end } = await followRun(outcome.runId, {
    functions,
    timeoutSeconds: command.timeoutSeconds,
    progress: json ? undefined : context.createProgress?.(),
    signal: context.signal,
    now: context.now,
    pollIntervalMs: context.pollIntervalMs,
  });
  const [exitCode, problem] = {
    ended: () => [exitCodeForRun(run), describeRunOutcome(run)] as const,
    timedOut: () =>
      [
        ExitCode.runIncomplete,
        `still running after ${command.timeoutSeconds} s: follow it with \`warmers status ${run.runId}\``,
      ] as const,
    interrupted: () =>
      [
        ExitCode.interrupted,
        `stopped watching; run ${run.runId} goes on: \`warmers status ${run.runId}\` follows it, ` +
          `\`warmers cancel ${run.runId}\` stops it`,
      ] as const,
  }[end]();
  if (json) {
    print(warmDocument({ ...outcome, run, ...(end === 'ended' ? {} : { [end]: true }) }, exitCode, problem));
  } else {
    print(`\n${renderRunStatus(run)}`);
    if (problem) note(problem);
  }
  return exitCode;
};

/**
 * Runs one command against the functions and prints its result: a table, or one JSON document with
 * `--json`. Returns the exit code; failures are thrown as `CliError`s.
 *
 * @example
 * const code = await runCommand({ name: 'status', runId }, { functions, json: false, print: console.log, note: console.error });
 */
export const runCommand = async (command: RemoteCommand, context: CommandContext): Promise<ExitCode> => {
  const { functions, json, print, note } = context;
  const show = (answer: object, render: () => string) => print(json ? JSON.stringify(answer) : render());
  switch (command.name) {
    case 'warm':
      return warm(command, context);
    case 'status': {
      const runId = await resolveRunId(functions, command.runId);
      const answer = await functions.control({ action: 'status', runId });
      show(answer, () => renderRunStatus(answer.run));
      const advice = answer.run.status === 'running' ? undefined : describeRunOutcome(answer.run);
      if (!json && advice) note(advice);
      return ExitCode.ok;
    }
    case 'cancel': {
      const runId = await resolveRunId(functions, command.runId);
      const answer = await functions.control({ action: 'cancel', runId });
      show(answer, () => renderCancelled(runId, answer.run));
      return ExitCode.ok;
    }
    case 'runs': {
      const answer = await functions.control({ action: 'runs', limit: command.limit });
      show(answer, () => renderRuns(answer.runs));
      return ExitCode.ok;
    }
    case 'hot-keys': {
      const answer = await functions.control({
        action: 'hotKeys',
        limit: command.limit,
        threshold: command.threshold,
      });
      show(answer, () => renderHotKeys(answer.hotKeys));
      return ExitCode.ok;
    }
    case 'dlq': {
      const answer = await functions.control({
        action: 'dlq',
        redrive: command.redrive,
        limit: command.limit,
      });
      show(answer, () =>
        'redrive' in answer ? renderRedrive(answer.redrive) : renderDeadLetters(answer.messages),
      );
      return ExitCode.ok;
    }
  }
};
