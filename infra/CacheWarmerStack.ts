import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { WarmingStrategy } from '../functions/core';
import { ServerlessCacheWarmer, type ServerlessCacheWarmerProps } from './ServerlessCacheWarmer';

/** Settings of the example stack: the construct's props, defaulted to a scheduled warmer. */
export interface CacheWarmerStackProps extends StackProps {
  /** @default a SCHEDULED warmer every 5 minutes, static keys, an HTTP origin, a new Valkey cache */
  warmer?: ServerlessCacheWarmerProps;
}

/**
 * The example deployment: one `ServerlessCacheWarmer`, environment-agnostic so `cdk synth` needs no credentials.
 *
 * @example
 * new CacheWarmerStack(app, 'CacheWarmers', { warmer: { warming: { strategy: WarmingStrategy.LAZY } } });
 */
export class CacheWarmerStack extends Stack {
  public readonly warmer: ServerlessCacheWarmer;

  public constructor(scope: Construct, id: string, props: CacheWarmerStackProps = {}) {
    super(scope, id, props);
    this.warmer = new ServerlessCacheWarmer(
      this,
      'Warmer',
      props.warmer ?? {
        warming: { strategy: WarmingStrategy.SCHEDULED, refreshIntervalSeconds: 300 },
        keySources: [{ type: 'static', keys: ['home', 'product:1', 'product:2'] }],
        valueSource: { type: 'http', urlTemplate: 'https://api.example.com/items/{key}' },
      },
    );
  }
}
