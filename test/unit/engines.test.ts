import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The part of semver (installed with the toolchain) the check needs. */
interface Semver {
  subset(range: string, superset: string): boolean;
}

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const semver = createRequire(import.meta.url)('semver') as Semver;
const manifest = (directory: string) =>
  JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    engines?: { node?: string };
  };

/** Every installed package, nested ones too, with the Node versions it declares. */
const installedEngines = (modules: string): { name: string; node: string }[] =>
  readdirSync(modules, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .flatMap((entry) => {
      const directory = join(modules, entry.name);
      if (entry.name.startsWith('@')) return installedEngines(directory);
      let own: { name: string; node: string }[] = [];
      try {
        const { name, version, engines } = manifest(directory);
        if (engines?.node) own = [{ name: `${name}@${version}`, node: engines.node }];
      } catch {
        return [];
      }
      let nested: { name: string; node: string }[] = [];
      try {
        nested = installedEngines(join(directory, 'node_modules'));
      } catch {
        // No nested node_modules.
      }
      return [...own, ...nested];
    });

describe('package.json engines', () => {
  it('claims only Node versions every installed package supports', () => {
    const claimed = manifest(projectRoot).engines?.node ?? '*';
    const unsupported = installedEngines(join(projectRoot, 'node_modules')).filter(
      ({ node }) => !semver.subset(claimed, node),
    );
    expect(unsupported, `engines.node is ${claimed}`).toEqual([]);
  });
});
