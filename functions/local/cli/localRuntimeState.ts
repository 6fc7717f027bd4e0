import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describeIssues } from '../../adapters/warmMessage';
import * as z from '../../adapters/zod';
import { describeError } from '../../core';
import { START_LOCAL_COMMAND } from './constants';
import { TargetUnavailableError } from './errors';

const localRuntimeStateSchema = z.object({
  pid: z.int().check(z.positive()),
  startedAt: z.string(),
  endpoints: z.object({ lambda: z.url(), sqs: z.url(), dynamodb: z.url() }),
  functionNames: z.object({
    warm: z.string().check(z.minLength(1)),
    control: z.string().check(z.minLength(1)),
    track: z.string().check(z.minLength(1)),
    consume: z.string().check(z.minLength(1)),
  }),
  /** Applications (and tests) send access events to `access`. */
  queueUrls: z.object({ warm: z.url(), warmDlq: z.url(), access: z.url(), accessDlq: z.url() }),
});

/** What `warmers local` writes for the other commands: where its endpoints are, and who runs them. */
export type LocalRuntimeState = z.infer<typeof localRuntimeStateSchema>;

/**
 * Where `warmers local` writes its state: under the OS temp dir (`TMPDIR`), so every terminal of
 * the user finds it and a reboot forgets it.
 */
export const defaultStateFile = (directory = tmpdir()): string =>
  join(directory, 'cache-warmers', 'local-runtime.json');

/** Whether a process with this id exists (EPERM: it does, but belongs to someone else). */
const isProcessAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** How to get a local runtime, as every "none is running" message says it. */
export const LOCAL_RUNTIME_START_HINT = `start it in another terminal with \`${START_LOCAL_COMMAND}\`, or target a deployed stack with --stack NAME`;

/**
 * The state of the running local runtime, or `undefined` when none is running (no file, or its
 * process is gone).
 * @throws TargetUnavailableError when the file is not a state file
 */
export const findLocalRuntime = async (
  file: string,
  isAlive: (pid: number) => boolean = isProcessAlive,
): Promise<LocalRuntimeState | undefined> => {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TargetUnavailableError(`cannot read ${file}: ${describeError(error)}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = localRuntimeStateSchema.safeParse(json);
  if (!parsed.success)
    throw new TargetUnavailableError(
      `${file} is not a local runtime state file (${json === undefined ? 'not JSON' : describeIssues(parsed.error)}): ` +
        `delete it, then ${LOCAL_RUNTIME_START_HINT}`,
    );
  return isAlive(parsed.data.pid) ? parsed.data : undefined;
};

/**
 * The running local runtime's state.
 * @throws TargetUnavailableError saying how to start one when none is running
 */
export const requireLocalRuntime = async (
  file: string,
  isAlive: (pid: number) => boolean = isProcessAlive,
): Promise<LocalRuntimeState> => {
  const state = await findLocalRuntime(file, isAlive);
  if (!state)
    throw new TargetUnavailableError(
      `no local runtime is running (looked in ${file}): ${LOCAL_RUNTIME_START_HINT}`,
    );
  return state;
};

/** Writes the state atomically (a reader never sees half a file). */
export const writeLocalRuntimeState = async (file: string, state: LocalRuntimeState): Promise<void> => {
  await mkdir(dirname(file), { recursive: true });
  const partial = `${file}.${state.pid}.tmp`;
  await writeFile(partial, `${JSON.stringify(state, null, 2)}\n`);
  await rename(partial, file);
};

/** Removes the state file if it still describes the runtime of process `pid` (not a newer one). */
export const removeLocalRuntimeState = async (file: string, pid: number): Promise<void> => {
  const current = await findLocalRuntime(file, () => true).catch(() => undefined);
  if (current?.pid === pid) await rm(file, { force: true });
};
