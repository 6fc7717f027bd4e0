import { CancelledError } from '../functions/core';
import { UsageError } from '../functions/local/cli/errors';
import type { LocalRuntimeHooks } from '../functions/local/cli/keepLocalRuntimeUp';
import { defaultStateFile } from '../functions/local/cli/localRuntimeState';
import { runCli } from '../functions/local/cli/runCli';

// The SDK's notice that its 2027 releases drop Node 20 would otherwise open the output of every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The emulators `warmers local` runs: the package leaves them to the user, who may never run it. */
const EMULATORS = ['dynalite', 'fauxqs'];

/** `warmers local`'s runtime, or a one-line answer naming what to install when an emulator is missing. */
const startLocalRuntime = async (hooks: LocalRuntimeHooks) => {
  try {
    return (await import('../functions/local/cli/startSampleRuntime')).startSampleRuntime(process.env, hooks);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND';
    if (!missing || !EMULATORS.some((name) => (error as Error).message.includes(`'${name}'`))) throw error;
    throw new UsageError(
      `warmers local runs the emulators ${EMULATORS.join(' and ')}: npm install --save-dev ${EMULATORS.join(' ')}`,
      { cause: error },
    );
  }
};

const interrupted = new AbortController();
// The first signal ends a wait or stops the local runtime cleanly; a second one kills as usual.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => interrupted.abort(new CancelledError(`received ${signal}`)));

process.exitCode = await runCli({
  argv: process.argv.slice(2),
  stdout: process.stdout,
  stderr: process.stderr,
  stateFile: defaultStateFile(),
  signal: interrupted.signal,
  // Loaded only for `warmers local`: the other commands need none of the emulators.
  startLocalRuntime,
});
