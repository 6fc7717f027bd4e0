import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { TargetUnavailableError } from '../../../functions/local/cli/errors';
import {
  defaultStateFile,
  findLocalRuntime,
  type LocalRuntimeState,
  removeLocalRuntimeState,
  requireLocalRuntime,
  writeLocalRuntimeState,
} from '../../../functions/local/cli/localRuntimeState';
import { localRuntimeAddresses } from '../../support/localRuntimeAddresses';

const state: LocalRuntimeState = {
  pid: 4242,
  startedAt: '2025-01-31T09:05:00.000Z',
  ...localRuntimeAddresses,
};
const alive = () => true;
const gone = () => false;

let file: string;
beforeEach(async () => {
  file = defaultStateFile(await mkdtemp(join(tmpdir(), 'warmers-state-')));
});

describe('local runtime state', () => {
  it('lives under the given temp dir', () => {
    expect(defaultStateFile('/tmp/x')).toBe('/tmp/x/cache-warmers/local-runtime.json');
  });

  it('round-trips what `warmers local` writes', async () => {
    await writeLocalRuntimeState(file, state);
    expect(await findLocalRuntime(file, alive)).toEqual(state);
    expect(await requireLocalRuntime(file, alive)).toEqual(state);
  });

  it('counts a runtime whose process is gone as none, and says how to start one', async () => {
    await writeLocalRuntimeState(file, state);
    expect(await findLocalRuntime(file, gone)).toBeUndefined();
    const failure = requireLocalRuntime(file, gone);
    await expect(failure).rejects.toThrow(TargetUnavailableError);
    await expect(failure).rejects.toThrow(
      `no local runtime is running (looked in ${file}): start it in another terminal with \`npx warmers local\`, ` +
        'or target a deployed stack with --stack NAME',
    );
  });

  it('says how to start one when there is no file', async () => {
    await expect(requireLocalRuntime(file, alive)).rejects.toThrow('`npx warmers local`');
  });

  it('rejects a file that is not a state file, naming it', async () => {
    await writeLocalRuntimeState(file, state);
    await writeFile(file, '{"pid": "x"}');
    await expect(findLocalRuntime(file, alive)).rejects.toThrow(
      `${file} is not a local runtime state file (pid:`,
    );
    await writeFile(file, 'garbage');
    await expect(findLocalRuntime(file, alive)).rejects.toThrow('(not JSON): delete it');
  });

  it("removes the file only while it is still this runtime's", async () => {
    await writeLocalRuntimeState(file, { ...state, pid: 7 });
    await removeLocalRuntimeState(file, state.pid);
    expect(JSON.parse(await readFile(file, 'utf8')).pid).toBe(7);
    await removeLocalRuntimeState(file, 7);
    expect(await findLocalRuntime(file, alive)).toBeUndefined();
  });
});
