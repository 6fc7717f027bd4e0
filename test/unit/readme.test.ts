import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeWarmingSettings } from '../../functions/core';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README configuration table', () => {
  it.each(describeWarmingSettings())(
    'documents $variable with its default',
    ({ option, variable, default: value }) => {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${option}\` |`));

      expect(row, `no README row for ${option}`).toBeDefined();
      expect(row).toContain(`\`${variable}\``);
      expect(row).toContain(`| \`${String(value)}\` |`);
    },
  );
});
