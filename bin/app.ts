#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { CacheWarmerStack } from '../infra/CacheWarmerStack';

const app = new App();
new CacheWarmerStack(app, 'CacheWarmers', {
  description: 'Cache warmers: keeps an ElastiCache for Valkey cache warm (codomyrmex cache-warmers)',
});
// cdk-nag 3 runs as a policy validation plugin: any unacknowledged finding fails the synth.
Validations.of(app).addPlugins(
  new AwsSolutionsChecks(app, { verbose: true }),
  new ServerlessChecks(app, { verbose: true }),
);
app.synth();
