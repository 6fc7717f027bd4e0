import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { CacheWarmerStack } from './CacheWarmerStack';

/**
 * The app `cdk synth` and `cdk deploy` run (bin/app.ts): the example stack, checked by cdk-nag's
 * AwsSolutions and Serverless packs as policy validation plugins, so any unacknowledged finding fails
 * the synth. Tests synthesize the same app.
 *
 * @example
 * const { app } = createCacheWarmersApp();
 * app.synth();
 */
export const createCacheWarmersApp = (props: AppProps = {}): { app: App; stack: CacheWarmerStack } => {
  const app = new App(props);
  const stack = new CacheWarmerStack(app, 'CacheWarmers', {
    description: 'Cache warmers: keeps an ElastiCache for Valkey cache warm (codomyrmex cache-warmers)',
  });
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true }),
    new ServerlessChecks(app, { verbose: true }),
  );
  return { app, stack };
};
