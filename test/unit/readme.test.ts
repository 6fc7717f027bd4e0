import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeWarmingSettings } from '../../functions/core';

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
