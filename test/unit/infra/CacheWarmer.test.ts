import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { KEY_SOURCES_VARIABLE, VALUE_SOURCE_VARIABLE } from '../../../functions/adapters/sourceConfig';
import { RUNS_TABLE, TRACKER_TABLE, TTL_ATTRIBUTE } from '../../../functions/adapters/tables';
import { environmentVariableFor, WarmingStrategy } from '../../../functions/core';
import { resourceVariable } from '../../../functions/handlers/environment';
import { CacheWarmer, type CacheWarmerProps, SERVERLESS_CACHE_PORTS } from '../../../infra/CacheWarmer';
import { CacheWarmerStack } from '../../../infra/CacheWarmerStack';

/** A stack with one warmer; `bundle: false` skips esbuild for stacks that only check settings. */
const synthesize = (props: CacheWarmerProps, bundle: boolean) => {
  const app = new App(bundle ? {} : { context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test');
  const warmer = new CacheWarmer(stack, 'Warmer', props);
  return { stack, warmer, template: Template.fromStack(stack) };
};

const CONSUMER_TIMEOUT_SECONDS = 45;

/** The example stack's warmer, bundled with esbuild as `cdk synth` bundles it; shared by the file. */
let scheduled: { stack: Stack; warmer: CacheWarmer; template: Template };

beforeAll(() => {
  const app = new App();
  const stack = new CacheWarmerStack(app, 'Example', {
    warmer: {
      warming: {
        strategy: WarmingStrategy.SCHEDULED,
        refreshIntervalSeconds: 600,
        maxWorkers: 8,
        batchSize: 50,
      },
      keySources: [{ type: 'static', keys: ['home'] }],
      valueSource: { type: 'http', urlTemplate: 'https://api.example.com/items/{key}' },
      consumerTimeout: Duration.seconds(CONSUMER_TIMEOUT_SECONDS),
      consumerBatchSize: 5,
      logRetention: 14,
    },
  });
  scheduled = { stack, warmer: stack.warmer, template: Template.fromStack(stack) };
}, 120_000);

describe('schedule', () => {
  it('runs the warm function at rate(refreshIntervalSeconds), no flexible window, with retries and a DLQ', () => {
    scheduled.template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    scheduled.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(10 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('warmFunction'), 'Arn'] },
        Input: JSON.stringify({ trigger: 'schedule' }),
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600 },
        DeadLetterConfig: {
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ScheduleDeadLetterQueue'), 'Arn'] },
        },
      },
    });
  });

  it('derives hours for ADAPTIVE too', () => {
    const { template } = synthesize(
      { warming: { strategy: WarmingStrategy.ADAPTIVE, refreshIntervalSeconds: 3_600 } },
      false,
    );
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(1 hour)' });
  });

  it('has no schedule (and no schedule DLQ) for LAZY', () => {
    const { template } = synthesize({ warming: { strategy: WarmingStrategy.LAZY } }, false);
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
    template.resourceCountIs('AWS::SQS::Queue', 4);
  });

  it('rejects an interval that is not a whole number of minutes, naming the option', () => {
    expect(() =>
      synthesize({ warming: { strategy: WarmingStrategy.SCHEDULED, refreshIntervalSeconds: 90 } }, false),
    ).toThrow(/refreshIntervalSeconds must be a whole number of minutes/);
  });

  it('rejects a bad warming option at synth time', () => {
    expect(() => synthesize({ warming: { maxWorkers: 0 } }, false)).toThrow(/maxWorkers/);
  });
});

describe('queues', () => {
  it('keeps the warm queue invisible for six times the consumer timeout and dead-letters after 5 receives', () => {
    scheduled.template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 6 * CONSUMER_TIMEOUT_SECONDS,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('WarmDeadLetterQueue'), 'Arn'] },
        maxReceiveCount: 5,
      },
    });
    scheduled.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Cache warmer: consume',
      Timeout: CONSUMER_TIMEOUT_SECONDS,
    });
  });

  it('gives the access queue its own DLQ', () => {
    scheduled.template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 360,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AccessDeadLetterQueue'), 'Arn'] },
        maxReceiveCount: 5,
      },
    });
  });

  it('encrypts every queue and refuses plain HTTP', () => {
    const queues = scheduled.template.findResources('AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(5);
    for (const queue of Object.values(queues)) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    }
    const policies = Object.values(scheduled.template.findResources('AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(5);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 'sqs:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });
});

describe('event source mappings', () => {
  it('feeds the consumer batchSize messages, with a window, maxWorkers concurrency and item failures', () => {
    scheduled.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('WarmQueue'), 'Arn'] },
      FunctionName: { Ref: Match.stringLikeRegexp('consumeFunction') },
      BatchSize: 5,
      MaximumBatchingWindowInSeconds: 1,
      ScalingConfig: { MaximumConcurrency: 8 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('keeps the maximum concurrency at Lambda’s minimum of 2', () => {
    const { template } = synthesize({ warming: { maxWorkers: 1 } }, false);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: Match.stringLikeRegexp('consumeFunction') },
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('feeds the track function from the access queue', () => {
    scheduled.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AccessQueue'), 'Arn'] },
      FunctionName: { Ref: Match.stringLikeRegexp('trackFunction') },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });
});

describe('tables', () => {
  it.each([
    ['runs', RUNS_TABLE],
    ['tracker', TRACKER_TABLE],
  ])('builds the %s table from its design: on demand, PITR, TTL, its indexes', (_name, design) => {
    scheduled.template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      DeletionProtectionEnabled: true,
      KeySchema: [
        { AttributeName: design.partitionKey.name, KeyType: 'HASH' },
        ...(design.sortKey ? [{ AttributeName: design.sortKey.name, KeyType: 'RANGE' }] : []),
      ],
      GlobalSecondaryIndexes: design.globalSecondaryIndexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
          ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' }] : []),
        ],
        Projection: { ProjectionType: index.projection },
      })),
    });
  });

  it('switches deletion protection off on request', () => {
    const { template } = synthesize({ deletionProtection: false }, false);
    template.allResourcesProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
  });
});

describe('functions', () => {
  it('runs all four on arm64 and the newest Node.js runtime, traced, with log retention', () => {
    for (const name of ['warm', 'consume', 'track', 'control']) {
      scheduled.template.hasResourceProperties('AWS::Lambda::Function', {
        Description: `Cache warmer: ${name}`,
        Architectures: ['arm64'],
        Runtime: 'nodejs24.x',
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: {
          LogGroup: {
            Ref: Match.stringLikeRegexp(`${name.charAt(0).toUpperCase()}${name.slice(1)}LogGroup`),
          },
        },
      });
    }
    scheduled.template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 14 }, 4);
  });

  it('sets the warming options and resources from the props, by their variable names', () => {
    scheduled.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Cache warmer: warm',
      Environment: {
        Variables: Match.objectLike({
          [environmentVariableFor('strategy')]: 'SCHEDULED',
          [environmentVariableFor('refreshIntervalSeconds')]: '600',
          [environmentVariableFor('batchSize')]: '50',
          [environmentVariableFor('maxWorkers')]: '8',
          [resourceVariable('warmQueueUrl')]: { Ref: Match.stringLikeRegexp('WarmQueue') },
          [resourceVariable('runsTable')]: { Ref: Match.stringLikeRegexp('RunsTable') },
          [resourceVariable('trackerTable')]: { Ref: Match.stringLikeRegexp('TrackerTable') },
          [resourceVariable('consumerBatchSize')]: '5',
          [KEY_SOURCES_VARIABLE]: JSON.stringify([{ type: 'static', keys: ['home'] }]),
        }),
      },
    });
    scheduled.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Cache warmer: consume',
      Environment: {
        Variables: Match.objectLike({
          [resourceVariable('warmDlqUrl')]: { Ref: Match.stringLikeRegexp('WarmDeadLetterQueue') },
          [resourceVariable('cacheCluster')]: 'true',
          [resourceVariable('cacheUrl')]: {
            'Fn::Join': ['', Match.arrayWith(['rediss://'])],
          },
          [VALUE_SOURCE_VARIABLE]: Match.stringLikeRegexp('"type":"http"'),
        }),
      },
    });
  });

  it('dead-letters failed asynchronous warm runs into the schedule DLQ', () => {
    scheduled.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Cache warmer: warm',
      DeadLetterConfig: {
        TargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ScheduleDeadLetterQueue'), 'Arn'] },
      },
    });
  });

  it('grants a DynamoDB key source read on its table only', () => {
    const { template } = synthesize(
      { keySources: [{ type: 'dynamodb', tableName: 'catalog', attribute: 'id' }] },
      false,
    );
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('warmRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['dynamodb:Query', 'dynamodb:Scan']),
            Resource: Match.arrayWith([
              { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':table/catalog$')])] },
            ]),
          }),
        ]),
      },
    });
  });
});

describe('serverless cache (settings cdk-nag does not inspect)', () => {
  it('creates a Valkey cache in the private subnets behind its own security group', () => {
    scheduled.template.hasResourceProperties('AWS::ElastiCache::ServerlessCache', {
      Engine: 'valkey',
      SubnetIds: [
        { Ref: Match.stringLikeRegexp('VpcprivateSubnet1') },
        { Ref: Match.stringLikeRegexp('VpcprivateSubnet2') },
      ],
      SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('CacheSecurityGroup'), 'GroupId'] }],
    });
  });

  it('lets only the consume function’s security group reach the cache ports', () => {
    const cacheGroup = scheduled.stack.getLogicalId(
      scheduled.warmer.cacheSecurityGroup?.node.defaultChild as ec2.CfnSecurityGroup,
    );
    const functionGroup = scheduled.stack.getLogicalId(
      scheduled.warmer.functionSecurityGroup?.node.defaultChild as ec2.CfnSecurityGroup,
    );
    const ingress = Object.values(scheduled.template.findResources('AWS::EC2::SecurityGroupIngress')).filter(
      (rule) => rule.Properties.GroupId['Fn::GetAtt'][0] === cacheGroup,
    );
    expect(ingress.map((rule) => rule.Properties)).toEqual(
      SERVERLESS_CACHE_PORTS.map((port) =>
        expect.objectContaining({
          IpProtocol: 'tcp',
          FromPort: port,
          ToPort: port,
          SourceSecurityGroupId: { 'Fn::GetAtt': [functionGroup, 'GroupId'] },
        }),
      ),
    );
    const cacheGroupResource = scheduled.template.findResources('AWS::EC2::SecurityGroup')[cacheGroup];
    expect(cacheGroupResource?.Properties.SecurityGroupIngress).toBeUndefined();
  });

  it('runs only the consume function in the VPC', () => {
    scheduled.template.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }) },
      1,
    );
    scheduled.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Cache warmer: consume',
      VpcConfig: {
        SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('FunctionSecurityGroup'), 'GroupId'] }],
        SubnetIds: [
          { Ref: Match.stringLikeRegexp('VpcprivateSubnet1') },
          { Ref: Match.stringLikeRegexp('VpcprivateSubnet2') },
        ],
      },
    });
  });

  it('imports an existing cache: no cache created, ingress on its port from the functions', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Existing');
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 2 });
    const securityGroup = new ec2.SecurityGroup(stack, 'RedisGroup', { vpc });
    new CacheWarmer(stack, 'Warmer', {
      cache: { existing: { url: 'rediss://redis.internal:6390', cluster: false, vpc, securityGroup } },
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ElastiCache::ServerlessCache', 0);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 6390,
      ToPort: 6390,
      SourceSecurityGroupId: {
        'Fn::GetAtt': [Match.stringLikeRegexp('WarmerFunctionSecurityGroup'), 'GroupId'],
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Cache warmer: consume',
      Environment: {
        Variables: Match.objectLike({
          [resourceVariable('cacheUrl')]: 'rediss://redis.internal:6390',
          [resourceVariable('cacheCluster')]: 'false',
        }),
      },
    });
  });
});

describe('alarms', () => {
  it('alarms when any dead-letter queue holds a message', () => {
    for (const queue of ['WarmDeadLetterQueue', 'AccessDeadLetterQueue', 'ScheduleDeadLetterQueue']) {
      scheduled.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Dimensions: [
          { Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp(queue), 'QueueName'] } },
        ],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
  });

  it('alarms on consumer errors and throttles, the oldest warm message and the failure rate', () => {
    for (const metricName of ['Errors', 'Throttles']) {
      scheduled.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: metricName,
        Namespace: 'AWS/Lambda',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('consumeFunction') } }],
      });
    }
    scheduled.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 600,
    });
    scheduled.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 5,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: Match.stringLikeRegexp('failed / \\(warmed \\+ failed\\)') }),
      ]),
    });
  });
});

describe('cdk-nag', () => {
  it.each([
    ['AwsSolutions', () => new AwsSolutionsChecks()],
    ['Serverless', () => new ServerlessChecks()],
  ])('finds nothing unacknowledged in the %s pack', (_name, createPack) => {
    const report = createPack().validateScope(scheduled.stack);
    expect(
      report.violations.map((violation) => ({
        rule: violation.ruleName,
        resources: violation.violatingResources.map((resource) => resource.resourceLogicalId),
      })),
    ).toEqual([]);
  });

  it('finds nothing unacknowledged for LAZY either (no schedule, warm function without a DLQ)', () => {
    const { stack } = synthesize({ warming: { strategy: WarmingStrategy.LAZY } }, false);
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      expect(pack.validateScope(stack).violations.map((violation) => violation.ruleName)).toEqual([]);
    }
  });

  it('does report what is not acknowledged (the check is not vacuous)', () => {
    const stack = new Stack(new App(), 'Bare');
    new sqs.Queue(stack, 'Queue');
    const rules = new AwsSolutionsChecks()
      .validateScope(stack)
      .violations.map((violation) => violation.ruleName);
    expect(rules).toContain('AwsSolutions-SQS3');
  });

  it('outputs the function names, queue URLs and table names', () => {
    const outputs = Object.keys(scheduled.template.findOutputs('*'));
    for (const name of [
      'WarmFunctionName',
      'ConsumeFunctionName',
      'TrackFunctionName',
      'ControlFunctionName',
      'WarmQueueUrl',
      'WarmDeadLetterQueueUrl',
      'AccessQueueUrl',
      'AccessDeadLetterQueueUrl',
      'RunsTableName',
      'TrackerTableName',
    ]) {
      expect(outputs.some((output) => output.includes(name))).toBe(true);
    }
  });
});
