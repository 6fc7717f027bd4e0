import type { LocalInvocation } from '../LocalRuntime';
import { ExitCode } from './constants';
import { UsageError } from './errors';
import {
  findLocalRuntime,
  type LocalRuntimeState,
  removeLocalRuntimeState,
  writeLocalRuntimeState,
} from './localRuntimeState';
import { renderFields } from './renderTable';

/** What the CLI needs of a started local runtime (`startLocalRuntime` in functions/local/LocalRuntime.ts). */
export interface LocalRuntimeHandle {
  endpoints: LocalRuntimeState['endpoints'];
  functionNames: LocalRuntimeState['functionNames'];
  queueUrls: LocalRuntimeState['queueUrls'];
  stop(): Promise<void>;
}

/** What `warmers local` asks of the runtime it starts. */
export interface LocalRuntimeHooks {
  /** Told after every invocation of every function. */
  onInvocation?: (invocation: LocalInvocation) => void;
}

export interface KeepLocalRuntimeUpOptions {
  start: () => Promise<LocalRuntimeHandle>;
  stateFile: string;
  json: boolean;
  print: (text: string) => void;
  note: (text: string) => void;
  /** Aborted on Ctrl-C or SIGTERM: the runtime stops and its state file goes. */
  signal: AbortSignal;
  pid?: number;
}

const renderLocalRuntime = (state: LocalRuntimeState, stateFile: string): string =>
  [
    `Local runtime up (pid ${state.pid}). Ctrl-C stops it.`,
    '',
    renderFields([
      ['lambda', state.endpoints.lambda],
      ['sqs', state.endpoints.sqs],
      ['dynamodb', state.endpoints.dynamodb],
      ['access queue', state.queueUrls.access],
      ...Object.entries(state.functionNames).map(([role, name]) => [`${role} function`, name] as const),
    ]),
    '',
    `Recorded in ${stateFile}: \`warmers\` commands in other terminals use it. Try:`,
    '  npx warmers warm --wait',
    '  npx warmers runs',
  ].join('\n');

const aborted = (signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });

/**
 * `warmers local`: starts the local runtime, records its endpoints in the state file for the other
 * commands, and keeps it up until the signal aborts.
 * @throws UsageError when a local runtime is already running
 */
export const keepLocalRuntimeUp = async (options: KeepLocalRuntimeUpOptions): Promise<ExitCode> => {
  const { stateFile, signal, pid = process.pid } = options;
  const running = await findLocalRuntime(stateFile);
  if (running)
    throw new UsageError(
      `a local runtime is already running (pid ${running.pid}, lambda endpoint ${running.endpoints.lambda}): ` +
        'use it, or stop it with Ctrl-C in its terminal first',
    );
  const runtime = await options.start();
  try {
    const state: LocalRuntimeState = {
      pid,
      startedAt: new Date().toISOString(),
      endpoints: runtime.endpoints,
      functionNames: runtime.functionNames,
      queueUrls: runtime.queueUrls,
    };
    await writeLocalRuntimeState(stateFile, state);
    options.print(
      options.json ? JSON.stringify({ ok: true, ...state, stateFile }) : renderLocalRuntime(state, stateFile),
    );
    await aborted(signal);
  } finally {
    await removeLocalRuntimeState(stateFile, pid);
    // Invocations in flight finish first, each within its function's timeout, as in Lambda.
    if (!options.json) options.note('Stopping: invocations in flight finish first…');
    await runtime.stop();
  }
  if (!options.json) options.note('Local runtime stopped.');
  return ExitCode.ok;
};
