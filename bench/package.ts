import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProject, directoryBytes, packProject } from '../test/support/packedPackage';
import type { Scenario } from './index';
import { type Figure, printFigure, printScenario } from './report';

const MIB = 1024 * 1024;
const INSTALL_GOAL_MIB = 15;
const CLI_START_GOAL_MS = 300;
const CLI_RUNS = 15;

/** farm-bench's median wall seconds of a command: the line `A wall s  min  median  max` (B: the baseline). */
const medianWallMs = (output: string, command: 'A' | 'B'): number => {
  const line = output.split('\n').find((text) => text.startsWith(`${command} wall s`));
  const median = line?.trim().split(/\s+/)[4];
  if (median === undefined) throw new Error(`farm-bench printed no wall time for ${command}:\n${output}`);
  return Number(median) * 1000;
};

/**
 * The package as an application installs it: the tarball's size, what installing it alone (the engine
 * and AccessReporter, no peer dependency) adds to node_modules, and how long `warmers --help` takes from
 * start to exit, as `farm-bench` measures (median of fresh processes, beside plain `node -e 0`).
 */
export const run: Scenario = async () => {
  printScenario(
    `Package (npm pack, installed into an empty project; CLI: farm-bench, median of ${CLI_RUNS} runs)`,
  );
  const directory = mkdtempSync(join(tmpdir(), 'cache-warmers-package-'));
  try {
    const tarball = packProject(directory);
    const app = join(directory, 'app');
    createProject(app, tarball, [], 'module');
    const cli = join(app, 'node_modules', '.bin', 'warmers');
    const timing = execFileSync(
      'farm-bench',
      ['-n', String(CLI_RUNS), '--vs', `${process.execPath} -e 0`, '--', cli, '--help'],
      { encoding: 'utf8', cwd: app },
    );
    const nodeMs = medianWallMs(timing, 'B');
    const figures: Figure[] = [
      { label: 'tarball size', value: Number((statSync(tarball).size / MIB).toFixed(2)), unit: 'MiB' },
      {
        label: 'engine-only install: node_modules',
        value: Number((directoryBytes(join(app, 'node_modules')) / MIB).toFixed(2)),
        unit: 'MiB',
        goal: { atMost: INSTALL_GOAL_MIB },
      },
      {
        label: '`warmers --help`, start to exit',
        value: Math.round(medianWallMs(timing, 'A')),
        unit: 'ms',
        goal: { atMost: CLI_START_GOAL_MS },
        detail: `node -e 0 on this machine now: ${Math.round(nodeMs)} ms`,
      },
    ];
    for (const figure of figures) printFigure(figure);
    return figures;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
};
