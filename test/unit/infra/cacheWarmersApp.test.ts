import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { createCacheWarmersApp } from '../../../infra/cacheWarmersApp';

interface FunctionProperties {
  Handler: string;
  Code: { S3Key: string };
}

/** The app synthesizes its four bundles with esbuild: slow on a small machine. */
const SYNTH_TIMEOUT_MS = 240_000;

describe('the CDK app of `cdk synth` (bin/app.ts)', () => {
  it(
    'synthesizes offline, bundles included, with no unacknowledged cdk-nag finding and no warning',
    () => {
      const { app, stack } = createCacheWarmersApp({ outdir: mkdtempSync(join(tmpdir(), 'cache-warmers-')) });
      // The cdk-nag packs run as policy validation plugins: a finding fails this synth.
      const assembly = app.synth();
      const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'));
      expect(report.pluginReports).toEqual([]);
      const annotations = Annotations.fromStack(stack);
      expect(annotations.findError('*', Match.anyValue())).toEqual([]);
      expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
      const { Resources } = assembly.getStackByName(stack.stackName).template;
      expect(Resources).toHaveProperty(
        stack.getLogicalId(stack.warmer.cache as NonNullable<typeof stack.warmer.cache>),
      );
      // Each function is deployed with its own bundle, not the first one CDK staged.
      const functions = Object.values(
        Resources as Record<string, { Type: string; Properties: FunctionProperties }>,
      ).filter(
        ({ Type, Properties }) => Type === 'AWS::Lambda::Function' && Properties.Handler === 'index.handler',
      );
      expect(functions).toHaveLength(4);
      expect(new Set(functions.map(({ Properties }) => Properties.Code.S3Key)).size).toBe(4);
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'fails the synth on a finding nobody acknowledged (the plugins are wired in)',
    () => {
      const { app, stack } = createCacheWarmersApp({
        outdir: mkdtempSync(join(tmpdir(), 'cache-warmers-')),
        context: { 'aws:cdk:bundling-stacks': [] },
      });
      new sqs.Queue(stack, 'UncheckedQueue');
      expect(() => app.synth()).toThrow(/AwsSolutions-SQS3/);
    },
    SYNTH_TIMEOUT_MS,
  );
});
