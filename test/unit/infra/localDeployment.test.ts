import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { SCHEDULE_PAYLOAD } from '../../../functions/adapters/warmTriggers';
import { type WarmingConfig, WarmingStrategy } from '../../../functions/core';
import {
  FUNCTION_KINDS,
  type FunctionKind,
  functionEnvironments,
  planLocalDeployment,
} from '../../../functions/local/localDeployment';
import { ServerlessCacheWarmer } from '../../../infra/ServerlessCacheWarmer';

/** Variables that only make sense in Lambda: the local runtime runs TypeScript with its own source maps. */
const AWS_ONLY_VARIABLES = ['NODE_OPTIONS'];

const CACHE_URL = 'redis://cache.internal:6379';
const CACHE_VALUES = { keyTemplate: 'app:v3:{key}', encoding: 'msgpack', compression: 'gzip' } as const;

interface Resource {
  Type: string;
  Properties: Record<string, unknown> & {
    Environment?: { Variables: Record<string, unknown> };
    FunctionName?: { Ref: string };
  };
}

/** The construct and the local runtime planned from the same settings. */
const deployBoth = (warming: Partial<WarmingConfig>) => {
  const plan = planLocalDeployment({
    warming,
    keySources: [{ type: 'static', keys: ['home'] }],
    valueSource: { type: 'http', urlTemplate: 'http://127.0.0.1:8080/items/{key}' },
    cacheUrl: CACHE_URL,
    cacheValues: CACHE_VALUES,
    consumerTimeoutSeconds: 45,
    consumerBatchSize: 5,
    versionField: 'version',
  });
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test');
  new ServerlessCacheWarmer(stack, 'Warmer', {
    warming,
    keySources: [{ type: 'static', keys: ['home'] }],
    valueSource: { type: 'http', urlTemplate: 'https://api.example.com/items/{key}' },
    cache: { existing: { url: CACHE_URL } },
    cacheValues: CACHE_VALUES,
    consumerTimeout: Duration.seconds(45),
    consumerBatchSize: 5,
    versionField: 'version',
    // One machine runs the local consumers, so it keeps them to maxWorkers; the construct's own default
    // is sized for Lambda (docs/operations.md).
    consumerMaxConcurrency: plan.eventSources.consume.maximumConcurrency,
  });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
  const local = functionEnvironments(plan, {
    warmQueueUrl: 'http://127.0.0.1:1/000000000000/warm',
    warmDlqUrl: 'http://127.0.0.1:1/000000000000/warm-dlq',
    accessDlqUrl: 'http://127.0.0.1:1/000000000000/access-dlq',
    continuationQueueUrl: 'http://127.0.0.1:1/000000000000/continuation',
    runsTable: 'runs',
    trackerTable: 'tracker',
  });
  const functionId = (kind: FunctionKind) => {
    const id = Object.keys(resources).find(
      (logicalId) =>
        resources[logicalId]?.Type === 'AWS::Lambda::Function' &&
        new RegExp(`^Warmer${kind}Function[0-9A-F]{8}$`).test(logicalId),
    );
    if (!id) throw new Error(`no ${kind} function in the template`);
    return id;
  };
  const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
  return { plan, local, resources, functionId, ofType };
};

describe.each([
  {
    name: 'a scheduled warmer',
    warming: { strategy: WarmingStrategy.SCHEDULED, refreshIntervalSeconds: 600 },
  },
  {
    name: 'a TTL-aware adaptive warmer',
    warming: {
      strategy: WarmingStrategy.ADAPTIVE,
      refreshIntervalSeconds: 300,
      maxWorkers: 12,
      ttlSeconds: 3_600,
    },
  },
])('the local runtime deploys $name as the ServerlessCacheWarmer construct does', ({ warming }) => {
  const { plan, local, resources, functionId, ofType } = deployBoth(warming);

  it.each(FUNCTION_KINDS)('gives the %s function the same variables, but for the AWS-only ones', (kind) => {
    const deployed = Object.keys(resources[functionId(kind)]?.Properties.Environment?.Variables ?? {});

    expect(Object.keys(local[kind]).sort()).toEqual(
      deployed.filter((name) => !AWS_ONLY_VARIABLES.includes(name)).sort(),
    );
  });

  it.each(FUNCTION_KINDS)('gives the %s function the same cache value layout', (kind) => {
    const deployed = resources[functionId(kind)]?.Properties.Environment?.Variables ?? {};
    const layout = (variables: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(variables).filter(([name]) => name.includes('_CACHE_')));

    expect(layout(local[kind])).toEqual(layout(deployed));
  });

  it.each(FUNCTION_KINDS)('gives the %s function the same timeout', (kind) => {
    expect(resources[functionId(kind)]?.Properties.Timeout).toBe(plan.functionTimeoutSeconds[kind]);
  });

  it.each(['consume', 'track'] as const)('maps the %s event source with the same settings', (kind) => {
    const mapping = ofType('AWS::Lambda::EventSourceMapping').find(
      ([, resource]) => resource.Properties.FunctionName?.Ref === functionId(kind),
    )?.[1];
    const expected = plan.eventSources[kind];

    expect(mapping?.Properties).toMatchObject({
      BatchSize: expected.batchSize,
      MaximumBatchingWindowInSeconds: expected.maximumBatchingWindowSeconds,
      ScalingConfig: { MaximumConcurrency: expected.maximumConcurrency },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('maps the continuation queue to the warm function one message at a time', () => {
    const mapping = ofType('AWS::Lambda::EventSourceMapping').find(
      ([, resource]) => resource.Properties.FunctionName?.Ref === functionId('warm'),
    )?.[1];

    expect(mapping?.Properties).toMatchObject({
      BatchSize: plan.eventSources.continuation.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it.each([
    ['warm', 'Warm'],
    ['access', 'Access'],
    ['continuation', 'Continuation'],
  ] as const)('gives the %s queue the same visibility timeout and redrive', (queue, logicalName) => {
    const deployed = ofType('AWS::SQS::Queue').find(([logicalId]) =>
      new RegExp(`^Warmer${logicalName}Queue[0-9A-F]{8}$`).test(logicalId),
    )?.[1];

    expect(deployed?.Properties).toMatchObject({
      VisibilityTimeout: plan.queues[queue].visibilityTimeoutSeconds,
      RedrivePolicy: { maxReceiveCount: plan.queues[queue].maxReceiveCount },
    });
  });

  it('schedules the warm function with the same payload', () => {
    const [, schedule] = ofType('AWS::Scheduler::Schedule')[0] ?? [];
    const target = schedule?.Properties.Target as { Input: string } | undefined;

    expect(JSON.parse(target?.Input ?? 'null')).toEqual(SCHEDULE_PAYLOAD);
  });
});
