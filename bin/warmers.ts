import { CancelledError } from '../functions/core';
import { defaultStateFile } from '../functions/local/cli/localRuntimeState';
import { runCli } from '../functions/local/cli/runCli';

// The SDK's notice that its 2027 releases drop Node 20 would otherwise open the output of every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

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
  startLocalRuntime: async (hooks) =>
    (await import('../functions/local/cli/startSampleRuntime')).startSampleRuntime(process.env, hooks),
});
