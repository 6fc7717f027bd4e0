import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeWarmingSettings } from '../../functions/core';
import { describeCommands } from '../../functions/local/cli/parseCommandLine';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The cells of each Markdown table row, trimmed, whatever padding the formatter gave them. */
const tableRows = readme
  .split('\n')
  .filter((line) => line.trim().startsWith('|'))
  .map((line) =>
    line
      .trim()
      .slice(1, -1)
      .split('|')
      .map((cell) => cell.trim()),
  );

describe('README configuration table', () => {
  it.each(describeWarmingSettings())(
    'documents $variable with its default',
    ({ option, variable, default: value }) => {
      const row = tableRows.find((cells) => cells[0] === `\`${option}\``);

      expect(row, `no README row for ${option}`).toBeDefined();
      expect(row?.[1]).toBe(`\`${variable}\``);
      expect(row?.[2]).toBe(`\`${String(value)}\``);
    },
  );
});

describe('README CLI section', () => {
  const cliSection = readme.slice(
    readme.indexOf('## CLI'),
    readme.indexOf('\n## ', readme.indexOf('## CLI') + 1),
  );
  /** The command table's rows: cells split on the pipes that are not escaped (`\|` is a cell's own). */
  const commandRows = cliSection
    .split('\n')
    .filter((line) => /^\| `[a-z]/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );

  it.each(describeCommands())(
    'documents `$name` with its arguments and exactly its flags',
    ({ name, args, flags }) => {
      const usage = [name, ...args.map((arg) => `<${arg}>`)].join(' ');
      const row = commandRows.find((cells) => cells[0] === `\`${usage}\``);

      expect(row, `no README row for ${usage}`).toBeDefined();
      const documented = [...new Set((row?.[1] ?? '').match(/--[a-z-]+/g) ?? [])];
      expect(documented.sort()).toEqual([...flags].sort());
    },
  );

  it('lists no command the CLI lacks', () => {
    const names: string[] = describeCommands().map(({ name }) => name);
    for (const [command] of commandRows) expect(names).toContain(command?.replace(/`/g, '').split(' ')[0]);
  });

  it('names the global flags and --version', () => {
    for (const flag of ['--json', '--help', '--stack', '--region', '--version'])
      expect(cliSection).toContain(flag);
  });
});
