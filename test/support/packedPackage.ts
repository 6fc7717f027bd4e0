import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../infra/functionBundling';

/** `npm pack` of the project into `directory` (its `prepack` builds dist/); returns the tarball's path. */
export const packProject = (directory: string): string => {
  const output = execFileSync('npm', ['pack', '--pack-destination', directory, '--json'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [{ filename }] = JSON.parse(output) as [{ filename: string }];
  return join(directory, filename);
};

/** The paths `npm pack` would put in the tarball. */
export const packedFiles = (): string[] => {
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
  });
  const [{ files }] = JSON.parse(output) as [{ files: { path: string }[] }];
  return files.map(({ path }) => path);
};

/**
 * A new project in `directory` (CommonJS unless `type` says otherwise) with the tarball and `packages`
 * installed from the registry, as a user would add them (npm's cache first: CI installs them too).
 */
export const createProject = (
  directory: string,
  tarball: string,
  packages: readonly string[],
  type?: 'module',
): void => {
  mkdirSync(directory, { recursive: true });
  writeFileSync(
    join(directory, 'package.json'),
    `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, ...(type ? { type } : {}) }, null, 2)}\n`,
  );
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, ...packages], {
    cwd: directory,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
};

/** Bytes under `directory`, as `du --apparent-size` counts them. */
export const directoryBytes = (directory: string): number =>
  readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce((total, entry) => total + statSync(join(entry.parentPath, entry.name)).size, 0);
