import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as triggers from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';
import { DEPLOY_PAYLOAD, SCHEDULE_PAYLOAD } from '../functions/adapters/warmTriggers';
import { type WarmingConfig, WarmingStrategy } from '../functions/core';
import { acknowledge, arnFinding } from './nagAcknowledgements';
import { createFunctionRole, createLogGroup } from './warmerFunctions';

/** The `rate(…)` interval of a schedule: EventBridge Scheduler counts in whole minutes. */
const scheduleInterval = (refreshIntervalSeconds: number): Duration => {
  if (refreshIntervalSeconds < 60 || refreshIntervalSeconds % 60 !== 0) {
    throw new Error(
      `warming.refreshIntervalSeconds must be a whole number of minutes (60, 120, …) for a scheduled strategy, got ${refreshIntervalSeconds}`,
    );
  }
  return Duration.seconds(refreshIntervalSeconds);
};

/** Whether a strategy runs the warm function on a schedule (all but LAZY). */
export const isScheduled = (config: WarmingConfig): boolean => config.strategy !== WarmingStrategy.LAZY;

export interface WarmScheduleProps {
  config: WarmingConfig;
  warmFunction: lambda.Function;
  /** Where the schedule's undeliverable invocations go. */
  deadLetterQueue: sqs.IQueue;
  logRetention: logs.RetentionDays | undefined;
}

/**
 * When the warm function runs by itself: every `refreshIntervalSeconds` through EventBridge Scheduler,
 * and for EAGER also after each deploy that changes it.
 */
export class WarmSchedule {
  public readonly schedule: scheduler.Schedule;
  /** EAGER only: the function a CDK trigger runs after each deploy; it starts a warm run. */
  public readonly deployWarmFunction: triggers.TriggerFunction | undefined;

  public constructor(scope: Construct, props: WarmScheduleProps) {
    const { config, warmFunction } = props;
    const scheduleRole = new iam.Role(scope, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
      }),
      description: 'EventBridge Scheduler: invokes the cache warmer warm function',
    });
    acknowledge(
      scheduleRole,
      `AwsSolutions-IAM5[Resource::${arnFinding(warmFunction)}:*]`,
      "grantInvoke also covers the warm function's versions and aliases (ARN:*); no other function",
    );
    this.schedule = new scheduler.Schedule(scope, 'Schedule', {
      description: `Warms the cache every ${config.refreshIntervalSeconds} s`,
      schedule: scheduler.ScheduleExpression.rate(scheduleInterval(config.refreshIntervalSeconds)),
      timeWindow: scheduler.TimeWindow.off(),
      target: new targets.LambdaInvoke(warmFunction, {
        input: scheduler.ScheduleTargetInput.fromObject(SCHEDULE_PAYLOAD),
        retryAttempts: 3,
        // A run older than one interval is superseded by the next one.
        maxEventAge: Duration.seconds(Math.max(60, config.refreshIntervalSeconds)),
        deadLetterQueue: props.deadLetterQueue,
        role: scheduleRole,
      }),
    });
    this.deployWarmFunction =
      config.strategy === WarmingStrategy.EAGER ? createDeployWarm(scope, props) : undefined;
  }
}

/**
 * EAGER: a CDK trigger runs a small function after the deploy, which starts a warm run with
 * {@link DEPLOY_PAYLOAD} (CDK triggers invoke with no payload of their own). It invokes the warm
 * function's current version, so a deploy that changes the warm function (its code or settings, key
 * sources among them) warms again. The invocation is asynchronous: the deploy does not wait for the
 * run, and a run that fails lands in the schedule DLQ like a scheduled one.
 */
const createDeployWarm = (
  warmer: Construct,
  { warmFunction, logRetention }: WarmScheduleProps,
): triggers.TriggerFunction => {
  const scope = new Construct(warmer, 'DeployWarm');
  const logGroup = createLogGroup(scope, 'LogGroup', logRetention);
  const role = createFunctionRole(scope, 'deploy trigger', logGroup, false);
  const warmVersion = warmFunction.currentVersion;
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [warmVersion.functionArn] }),
  );
  const deployWarm = new triggers.TriggerFunction(scope, 'Function', {
    description: 'Cache warmer: warm after deploy (EAGER)',
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    handler: 'index.handler',
    // A few lines on the runtime's own AWS SDK: nothing to bundle.
    code: lambda.Code.fromInline(
      [
        "const { LambdaClient, InvokeCommand } = require('@aws-sdk/client-lambda');",
        'const client = new LambdaClient({});',
        'exports.handler = async () => {',
        '  const { StatusCode } = await client.send(new InvokeCommand({',
        "    FunctionName: process.env.WARM_FUNCTION, InvocationType: 'Event', Payload: process.env.PAYLOAD,",
        '  }));',
        '  return { StatusCode };',
        '};',
      ].join('\n'),
    ),
    environment: { WARM_FUNCTION: warmVersion.functionArn, PAYLOAD: JSON.stringify(DEPLOY_PAYLOAD) },
    timeout: Duration.seconds(30),
    memorySize: 128,
    role,
    logGroup,
    tracing: lambda.Tracing.ACTIVE,
  });
  // After everything the run uses: functions, queues, tables, cache, grants.
  deployWarm.executeAfter(...warmer.node.children.filter((child) => child !== scope));
  acknowledge(
    deployWarm,
    'Serverless-LambdaDLQ',
    'the deploy trigger invokes this function synchronously and fails the deploy when it fails; a DLQ only applies to asynchronous invocations',
  );
  return deployWarm;
};
