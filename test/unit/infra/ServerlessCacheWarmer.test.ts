import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { KEY_SOURCES_VARIABLE, VALUE_SOURCE_VARIABLE } from '../../../functions/adapters/sourceConfig';
import { RUNS_TABLE, TRACKER_TABLE, TTL_ATTRIBUTE } from '../../../functions/adapters/tables';
import { loadModuleValueLoader } from '../../../functions/adapters/valueSources';
import { environmentVariableFor, WarmingStrategy } from '../../../functions/core';
import { loadCacheEncoder } from '../../../functions/handlers/cacheStore';
import { resourceVariable } from '../../../functions/handlers/environment';
import { CacheWarmerStack } from '../../../infra/CacheWarmerStack';
import type { ExistingCacheProps } from '../../../infra/cacheConnection';
import { ENCODER_MODULE_FILE, VALUE_MODULE_FILE } from '../../../infra/functionBundling';
import { HANDLER_METRICS } from '../../../infra/monitoring';
import { RUN_STORE_ACTIONS } from '../../../infra/runStoreGrants';
import {
  DEFAULT_CONSUMER_MAX_CONCURRENCY,
  SERVERLESS_CACHE_PORTS,
  ServerlessCacheWarmer,
  type ServerlessCacheWarmerProps,
} from '../../../infra/ServerlessCacheWarmer';
import { CACHE_WARMER_OUTPUTS } from '../../../infra/stackOutputs';

/** Synthesis (with esbuild even more) is slow on a small machine; the assertions themselves are not. */
const SYNTH_TIMEOUT_MS = 60_000;
const BUNDLING_TIMEOUT_MS = 240_000;

interface Synthesized {
  app: App;
  stack: Stack;
  warmer: ServerlessCacheWarmer;
  template: Template;
}

/**
 * A stack with one warmer; props may be built from the stack (to bring a VPC, a secret). `bundle: false`
 * skips esbuild for stacks that only check settings.
 */
const synthesize = (
  props: ServerlessCacheWarmerProps | ((stack: Stack) => ServerlessCacheWarmerProps),
  bundle = false,
): Synthesized => {
  const app = new App(bundle ? {} : { context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test');
  const warmer = new ServerlessCacheWarmer(
    stack,
    'Warmer',
    typeof props === 'function' ? props(stack) : props,
  );
  return { app, stack, warmer, template: Template.fromStack(stack) };
};

/** Synthesizes with a cache you bring, in a VPC of its own and behind its own security group. */
const synthesizeWithExistingCache = (existing: Omit<ExistingCacheProps, 'vpc' | 'securityGroup'>) =>
  synthesize((stack) => {
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 2 });
    const securityGroup = new ec2.SecurityGroup(stack, 'RedisGroup', { vpc });
    return { cache: { existing: { ...existing, vpc, securityGroup } } };
  });

/** The environment variables of the function described as `Cache warmer: <name>`. */
const environmentOf = (template: Template, name: string): Record<string, unknown> => {
  const functions = Object.values(template.findResources('AWS::Lambda::Function')).filter(
    (resource) => resource.Properties.Description === `Cache warmer: ${name}`,
  );
  expect(functions).toHaveLength(1);
  return functions[0]?.Properties.Environment.Variables;
};

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Effect: string;
  Condition?: unknown;
}

/** Every IAM statement granted to the roles whose logical id matches `role`. */
const statementsOf = (template: Template, role: RegExp): Statement[] =>
  Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => policy.Properties.Roles.some((ref: { Ref: string }) => role.test(ref.Ref)))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);

const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

/** The cdk-nag findings (AwsSolutions and Serverless) that no acknowledgement covers. */
const unacknowledgedFindings = (stack: Stack): string[] =>
  [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    pack
      .validateScope(stack)
      .violations.map(
        (violation) =>
          `${violation.ruleName} on ${violation.violatingResources.map((resource) => resource.resourceLogicalId).join(', ')}`,
      ),
  );

const CONSUMER_TIMEOUT_SECONDS = 45;

/** The example stack's warmer (HTTP origin: behind a NAT gateway), with non-default settings; shared by the file. */
const scheduled = (() => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
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
  return { stack, warmer: stack.warmer, template: Template.fromStack(stack) };
})();

/**
 * Everything switched on: EAGER, TTL-aware (so warm reaches the cache too), Lambda and S3 sources, and
 * the default VPC endpoints of a created VPC.
 */
const eager = synthesize({
  warming: { strategy: WarmingStrategy.EAGER, refreshIntervalSeconds: 300, ttlSeconds: 3_600 },
  keySources: [
    { type: 's3', bucket: 'warm-lists', key: 'keys.txt' },
    { type: 'lambda', functionName: 'list-keys' },
  ],
  valueSource: { type: 'lambda', functionName: 'load-values' },
});

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

  it('has no deploy trigger for SCHEDULED', () => {
    scheduled.template.resourceCountIs('Custom::Trigger', 0);
  });

  it(
    'derives hours for ADAPTIVE too',
    () => {
      const { template } = synthesize({
        warming: { strategy: WarmingStrategy.ADAPTIVE, refreshIntervalSeconds: 3_600 },
      });
      template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(1 hour)' });
      template.resourceCountIs('Custom::Trigger', 0);
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'has no schedule, no schedule DLQ and no deploy trigger for LAZY',
    () => {
      const { template } = synthesize({ warming: { strategy: WarmingStrategy.LAZY } });
      template.resourceCountIs('AWS::Scheduler::Schedule', 0);
      template.resourceCountIs('Custom::Trigger', 0);
      template.resourceCountIs('AWS::SQS::Queue', 6);
    },
    SYNTH_TIMEOUT_MS,
  );

  it('rejects an interval that is not a whole number of minutes, naming the option', () => {
    expect(() =>
      synthesize({ warming: { strategy: WarmingStrategy.SCHEDULED, refreshIntervalSeconds: 90 } }),
    ).toThrow(/refreshIntervalSeconds must be a whole number of minutes/);
  });

  it('rejects a bad warming option at synth time', () => {
    expect(() => synthesize({ warming: { maxWorkers: 0 } })).toThrow(/maxWorkers/);
  });
});

describe('EAGER: a warm run after each deploy', () => {
  it('keeps the schedule of SCHEDULED', () => {
    eager.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
    });
  });

  it('runs a CDK trigger that invokes the deploy function synchronously', () => {
    eager.template.resourceCountIs('Custom::Trigger', 1);
    eager.template.hasResourceProperties('Custom::Trigger', {
      HandlerArn: { Ref: Match.stringLikeRegexp('DeployWarmFunctionCurrentVersion') },
      InvocationType: 'RequestResponse',
      ExecuteOnHandlerChange: true,
    });
  });

  it('starts the run asynchronously, with the deploy payload, on the current warm function version', () => {
    const deployFunction = Object.values(eager.template.findResources('AWS::Lambda::Function')).find(
      (resource) => resource.Properties.Description === 'Cache warmer: warm after deploy (EAGER)',
    );
    expect(deployFunction?.Properties.Environment.Variables).toEqual({
      WARM_FUNCTION: { Ref: expect.stringMatching(/warmFunctionCurrentVersion/) },
      PAYLOAD: JSON.stringify({ trigger: 'deploy' }),
    });
    expect(deployFunction?.Properties.Code.ZipFile).toContain("InvocationType: 'Event'");
    expect(deployFunction?.Properties.Runtime).toBe('nodejs24.x');
    expect(statementsOf(eager.template, /deploytriggerRole/)).toContainEqual(
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        Resource: { Ref: expect.stringMatching(/warmFunctionCurrentVersion/) },
      }),
    );
  });

  it('runs after the functions, the event source mapping, the queues, the tables and the cache exist', () => {
    const [trigger] = Object.values(eager.template.findResources('Custom::Trigger'));
    const dependsOn: string[] = trigger?.DependsOn ?? [];
    for (const resource of [
      'warmFunction',
      'warmRoleDefaultPolicy',
      'consumeFunctionSqsEventSource',
      'WarmQueue',
      'RunsTable',
      'WarmerCache',
    ]) {
      expect(dependsOn.some((logicalId) => logicalId.includes(resource))).toBe(true);
    }
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
    expect(Object.keys(queues)).toHaveLength(7);
    for (const queue of Object.values(queues)) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    }
    const policies = Object.values(scheduled.template.findResources('AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(7);
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

describe('continuation queue: a run goes on in a fresh warm invocation', () => {
  /** The logical id of the (one) resource of `type` whose id matches `pattern`. */
  const logicalIdOf = (template: Template, type: string, pattern: RegExp): string => {
    const ids = Object.keys(template.findResources(type)).filter((id) => pattern.test(id));
    expect(ids).toHaveLength(1);
    return ids[0] as string;
  };
  const queueId = logicalIdOf(scheduled.template, 'AWS::SQS::Queue', /^WarmerContinuationQueue/);
  const deadLetterId = logicalIdOf(
    scheduled.template,
    'AWS::SQS::Queue',
    /^WarmerContinuationDeadLetterQueue/,
  );
  const warmTimeout = Object.values(scheduled.template.findResources('AWS::Lambda::Function')).find(
    (resource) => resource.Properties.Description === 'Cache warmer: warm',
  )?.Properties.Timeout as number;

  it('hides a continuation for longer than a warm invocation may run, and dead-letters it after 5 receives', () => {
    const queue = scheduled.template.findResources('AWS::SQS::Queue')[queueId]?.Properties;
    expect(queue.VisibilityTimeout).toBeGreaterThan(warmTimeout);
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterId, 'Arn'] },
      maxReceiveCount: 5,
    });
    expect(queue.SqsManagedSseEnabled).toBe(true);
  });

  it('feeds the warm function one continuation at a time, with item failures', () => {
    scheduled.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: Match.stringLikeRegexp('^WarmerwarmFunction') },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('lets the warm function alone send to and receive from it, and tells it the URL', () => {
    const onQueue = (role: RegExp) =>
      statementsOf(scheduled.template, role)
        .filter((statement) => JSON.stringify(statement.Resource).includes(queueId))
        .flatMap(actionsOf);
    expect(onQueue(/^WarmerwarmRole/)).toEqual(
      expect.arrayContaining(['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage']),
    );
    for (const other of [/^WarmerconsumeRole/, /^WarmertrackRole/, /^WarmercontrolRole/]) {
      expect(onQueue(other)).toEqual([]);
    }
    expect(environmentOf(scheduled.template, 'warm')[resourceVariable('continuationQueueUrl')]).toEqual({
      Ref: queueId,
    });
  });
});

describe('event source mappings', () => {
  it('feeds the consumer batchSize messages, with a window, item failures and its own concurrency, not maxWorkers', () => {
    scheduled.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('WarmQueue'), 'Arn'] },
      FunctionName: { Ref: Match.stringLikeRegexp('consumeFunction') },
      BatchSize: 5,
      MaximumBatchingWindowInSeconds: 1,
      ScalingConfig: { MaximumConcurrency: DEFAULT_CONSUMER_MAX_CONCURRENCY },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(scheduled.warmer.config.maxWorkers).not.toBe(DEFAULT_CONSUMER_MAX_CONCURRENCY);
  });

  it.each([2, 1_000])(
    'runs at most consumerMaxConcurrency (%i) consume invocations at once',
    (consumerMaxConcurrency) => {
      const { template } = synthesize({ consumerMaxConcurrency, warming: { maxWorkers: 16 } });
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: Match.stringLikeRegexp('consumeFunction') },
        ScalingConfig: { MaximumConcurrency: consumerMaxConcurrency },
      });
      expect(environmentOf(template, 'consume')[environmentVariableFor('maxWorkers')]).toBe('16');
    },
    SYNTH_TIMEOUT_MS,
  );

  it.each([1, 1_001, 2.5, Number.NaN])(
    'rejects a consumerMaxConcurrency of %s, naming the prop and the range',
    (value) => {
      expect(() => synthesize({ consumerMaxConcurrency: value })).toThrow(
        /^consumerMaxConcurrency: must be a whole number from 2 to 1000 .*, got/,
      );
    },
  );

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

  it(
    'switches deletion protection off on request',
    () => {
      const { template } = synthesize({ deletionProtection: false });
      template.allResourcesProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
    },
    SYNTH_TIMEOUT_MS,
  );
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
    expect(environmentOf(scheduled.template, 'warm')).toMatchObject({
      [environmentVariableFor('strategy')]: 'SCHEDULED',
      [environmentVariableFor('refreshIntervalSeconds')]: '600',
      [environmentVariableFor('batchSize')]: '50',
      [environmentVariableFor('maxWorkers')]: '8',
      [resourceVariable('warmQueueUrl')]: { Ref: expect.stringMatching(/WarmQueue/) },
      [resourceVariable('runsTable')]: { Ref: expect.stringMatching(/RunsTable/) },
      [resourceVariable('trackerTable')]: { Ref: expect.stringMatching(/TrackerTable/) },
      [resourceVariable('consumerBatchSize')]: '5',
      [KEY_SOURCES_VARIABLE]: JSON.stringify([{ type: 'static', keys: ['home'] }]),
    });
    expect(environmentOf(scheduled.template, 'consume')).toMatchObject({
      [resourceVariable('warmDlqUrl')]: { Ref: expect.stringMatching(/WarmDeadLetterQueue/) },
      [VALUE_SOURCE_VARIABLE]: expect.stringContaining('"type":"http"'),
    });
  });

  it('lays values out as cacheValues says: the key template to both cache users, the encoding to consume', () => {
    const { template } = synthesize({
      warming: { ttlSeconds: 300 },
      cacheValues: {
        keyTemplate: 'app:v3:{key}',
        encoding: 'msgpack',
        compression: 'gzip',
        valueType: 'string',
      },
    });
    expect(environmentOf(template, 'warm')).toMatchObject({
      [resourceVariable('cacheKeyTemplate')]: 'app:v3:{key}',
    });
    expect(environmentOf(template, 'warm')).not.toHaveProperty(resourceVariable('cacheEncoding'));
    expect(environmentOf(template, 'consume')).toMatchObject({
      [resourceVariable('cacheKeyTemplate')]: 'app:v3:{key}',
      [resourceVariable('cacheEncoding')]: 'msgpack',
      [resourceVariable('cacheCompression')]: 'gzip',
      [resourceVariable('cacheValueType')]: 'string',
    });
    expect(environmentOf(scheduled.template, 'consume')).not.toHaveProperty(
      resourceVariable('cacheEncoding'),
    );
  });

  it('rejects a cacheValues setting the functions could not use, naming it', () => {
    expect(() => synthesize({ cacheValues: { keyTemplate: 'app:v3:' } })).toThrow(
      /cacheValues.keyTemplate: .*\{key\}/,
    );
    expect(() => synthesize({ cacheValues: { encoding: 'protobuf' as 'json' } })).toThrow(
      /cacheValues.encoding/,
    );
    expect(() => synthesize({ cacheValues: { valueType: 'hash', compression: 'gzip' } })).toThrow(
      /cacheValues.valueType/,
    );
  });

  it('dead-letters failed asynchronous warm runs into the schedule DLQ', () => {
    scheduled.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Cache warmer: warm',
      DeadLetterConfig: {
        TargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ScheduleDeadLetterQueue'), 'Arn'] },
      },
    });
  });

  it('grants a Lambda value source invoke on that function only', () => {
    expect(statementsOf(eager.template, /consumeRole/)).toContainEqual(
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        Resource: { 'Fn::Join': ['', expect.arrayContaining([':function:load-values'])] },
      }),
    );
  });
});

describe('source grants: exactly the calls each source makes, on exactly its resource', () => {
  const sources = synthesize({
    keySources: [
      { type: 'dynamodb', tableName: 'catalog', attribute: 'id', indexName: 'by-category' },
      { type: 's3', bucket: 'warm-lists', key: 'keys/today.txt' },
      { type: 's3', bucket: 'warm-lists', prefix: 'daily/', parallelReads: 4 },
      { type: 'lambda', functionName: 'list-keys:live' },
    ],
    valueSource: { type: 'dynamodb', tableName: 'products', keyAttribute: 'id' },
  });
  /** An ARN as text, its pseudo parameters as `<Partition>`, `<Region>`, `<AccountId>`. */
  const renderArn = (arn: unknown): string => {
    const join = (arn as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
    if (!join) return JSON.stringify(arn);
    return join[1]
      .map((part) => {
        const ref = (part as { Ref?: string }).Ref;
        return typeof part === 'string' ? part : `<${ref?.replace(/^AWS::/, '')}>`;
      })
      .join(join[0]);
  };
  /** The resources of the statements granting `action` to `role`, rendered. */
  const grantsOf = (role: RegExp, action: string): string[] =>
    statementsOf(sources.template, role)
      .filter((statement) => actionsOf(statement).includes(action))
      .flatMap((statement) => (Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource]))
      .map(renderArn);

  it('lets the warm function query or scan only the key table’s index, read only the key object, invoke only the key function', () => {
    // The runs and tracker tables aside, the key table is reachable through the named index only.
    expect(grantsOf(/warmRole/, 'dynamodb:Scan').filter((arn) => arn.includes('catalog'))).toEqual([
      'arn:<Partition>:dynamodb:<Region>:<AccountId>:table/catalog/index/by-category',
    ]);
    expect(grantsOf(/warmRole/, 's3:GetObject')).toEqual([
      'arn:<Partition>:s3:::warm-lists/keys/today.txt',
      'arn:<Partition>:s3:::warm-lists/daily/*',
    ]);
    expect(grantsOf(/warmRole/, 'lambda:InvokeFunction')).toEqual([
      'arn:<Partition>:lambda:<Region>:<AccountId>:function:list-keys:live',
    ]);
  });

  it('lets the warm function list only the prefix it reads, in its bucket', () => {
    const listing = statementsOf(sources.template, /warmRole/).filter((statement) =>
      actionsOf(statement).includes('s3:ListBucket'),
    );
    expect(
      listing.map((statement) => [actionsOf(statement), renderArn(statement.Resource), statement.Condition]),
    ).toEqual([
      [['s3:ListBucket'], 'arn:<Partition>:s3:::warm-lists', { StringLike: { 's3:prefix': 'daily/*' } }],
    ]);
  });

  it('lets the consume function batch-get only from the value table', () => {
    expect(grantsOf(/consumeRole/, 'dynamodb:BatchGetItem')).toEqual([
      'arn:<Partition>:dynamodb:<Region>:<AccountId>:table/products',
    ]);
  });

  it('grants on the runs table exactly the calls the run store makes, on the table and its named index', () => {
    for (const name of ['warm', 'consume', 'control']) {
      const onRuns = statementsOf(sources.template, new RegExp(`${name}Role`)).filter((statement) =>
        JSON.stringify(statement.Resource).includes('RunsTable'),
      );
      expect(onRuns.flatMap(actionsOf).sort()).toEqual([...RUN_STORE_ACTIONS].sort());
      expect(onRuns.flatMap((statement) => statement.Resource as unknown[])).toEqual([
        { 'Fn::GetAtt': [expect.stringMatching(/RunsTable/), 'Arn'] },
        {
          'Fn::Join': [
            '',
            [{ 'Fn::GetAtt': [expect.stringMatching(/RunsTable/), 'Arn'] }, '/index/byStartedAt'],
          ],
        },
      ]);
    }
    expect(
      statementsOf(sources.template, /trackRole/).filter((statement) =>
        JSON.stringify(statement.Resource).includes('RunsTable'),
      ),
    ).toEqual([]);
  });

  it('leaves no cdk-nag finding unacknowledged: only the wildcard naming the objects under a prefix needs one', () => {
    expect(unacknowledgedFindings(sources.stack)).toEqual([]);
  });
});

describe('HTTP headers read from a secret', () => {
  const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:origin-api-key-AbCdEf';
  const valueSource = {
    type: 'http' as const,
    urlTemplate: 'https://api.example.com/items/{key}',
    headers: { accept: 'application/json', 'x-api-key': { secretArn } },
  };
  const { stack, template } = synthesize({ valueSource, vpcEgress: 'endpoints' });

  it('lets the consume function alone read exactly that secret', () => {
    expect(statementsOf(template, /consumeRole/)).toContainEqual(
      expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: secretArn }),
    );
    for (const name of ['warm', 'track', 'control']) {
      const secretActions = statementsOf(template, new RegExp(`${name}Role`))
        .flatMap(actionsOf)
        .filter((action) => action.startsWith('secretsmanager:'));
      expect(secretActions).toEqual([]);
    }
  });

  it('puts only the secret’s ARN in the template, and reaches Secrets Manager through an endpoint', () => {
    expect(JSON.parse(String(environmentOf(template, 'consume')[VALUE_SOURCE_VARIABLE]))).toEqual(
      valueSource,
    );
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.secretsmanager']] },
      VpcEndpointType: 'Interface',
    });
  });

  it('needs no cdk-nag acknowledgement for it', () => {
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });
});

describe('value source module', () => {
  it('rejects a module entry beside a value source, and one that does not exist', () => {
    const entry = fileURLToPath(new URL('fixtures/valueModule.ts', import.meta.url));
    expect(() =>
      synthesize({
        valueSource: { type: 'http', urlTemplate: 'https://x.example/{key}' },
        valueModuleEntry: entry,
      }),
    ).toThrow(/valueSource or valueModuleEntry, not both/);
    expect(() => synthesize({ valueModuleEntry: `${entry}.missing` })).toThrow(/does not exist/);
  });

  it('runs no module but the one it bundles: a module value source is refused', () => {
    expect(() => synthesize({ valueSource: { type: 'module', path: `./${VALUE_MODULE_FILE}` } })).toThrow(
      /a module value source runs only the module the construct bundles: set valueModuleEntry/,
    );
  });

  it(
    'bundles the module and its imports beside the consume handler, and points the value source at it',
    async () => {
      const { app, template } = synthesize(
        {
          valueModuleEntry: fileURLToPath(new URL('fixtures/valueModule.ts', import.meta.url)),
          cache: { create: { auth: 'none' } },
        },
        true,
      );
      const consume = Object.values(template.findResources('AWS::Lambda::Function')).find(
        (resource) => resource.Properties.Description === 'Cache warmer: consume',
      );
      expect(JSON.parse(consume?.Properties.Environment.Variables[VALUE_SOURCE_VARIABLE])).toEqual({
        type: 'module',
        path: `./${VALUE_MODULE_FILE}`,
      });
      const assetHash = String(consume?.Properties.Code.S3Key).replace(/\.zip$/, '');
      const assetDirectory = join(app.synth().directory, `asset.${assetHash}`);
      expect(readdirSync(assetDirectory).sort()).toEqual(
        ['index.mjs', 'index.mjs.map', VALUE_MODULE_FILE, `${VALUE_MODULE_FILE}.map`].sort(),
      );
      const bundled = readFileSync(join(assetDirectory, VALUE_MODULE_FILE), 'utf8');
      // Its dependency is inside, not imported at run time.
      expect(bundled).not.toMatch(/from\s*["']cluster-key-slot["']/);
      const loader = await loadModuleValueLoader(join(assetDirectory, VALUE_MODULE_FILE));
      expect(await loader.loadMany(['product:1', '{user}:2'], new AbortController().signal)).toEqual(
        new Map([
          ['product:1', { slot: calculateSlot('product:1') }],
          ['{user}:2', { slot: calculateSlot('{user}:2') }],
        ]),
      );
    },
    BUNDLING_TIMEOUT_MS,
  );
});

describe('encoder module', () => {
  const encoderEntry = fileURLToPath(new URL('fixtures/encoderModule.ts', import.meta.url));
  const valueEntry = fileURLToPath(new URL('fixtures/valueModule.ts', import.meta.url));

  it('rejects an encoder module beside cacheValues.encoding or a hash value type, and one that does not exist', () => {
    expect(() => synthesize({ encoderModuleEntry: encoderEntry, cacheValues: { encoding: 'json' } })).toThrow(
      /^encoderModuleEntry: set cacheValues.encoding or encoderModuleEntry, not both/,
    );
    expect(() =>
      synthesize({ encoderModuleEntry: encoderEntry, cacheValues: { valueType: 'hash' } }),
    ).toThrow(/^encoderModuleEntry: a hash value type .* takes no encoder module/);
    expect(() => synthesize({ encoderModuleEntry: `${encoderEntry}.missing` })).toThrow(
      /^encoderModuleEntry .*encoderModule\.ts\.missing does not exist$/,
    );
  });

  it('sets the module encoding on the consume function alone, with compression still after it', () => {
    const { template } = synthesize({
      encoderModuleEntry: encoderEntry,
      cacheValues: { compression: 'gzip' },
      warming: { ttlSeconds: 600 },
    });
    expect(environmentOf(template, 'consume')).toMatchObject({
      [resourceVariable('cacheEncoding')]: 'module',
      [resourceVariable('cacheEncoderModule')]: `./${ENCODER_MODULE_FILE}`,
      [resourceVariable('cacheCompression')]: 'gzip',
    });
    expect(environmentOf(template, 'warm')).not.toHaveProperty(resourceVariable('cacheEncoderModule'));
  });

  it(
    'bundles the encoder and its imports beside the consume handler and the value module, where the handler loads it',
    async () => {
      const { app, template } = synthesize(
        {
          valueModuleEntry: valueEntry,
          encoderModuleEntry: encoderEntry,
          cache: { create: { auth: 'none' } },
        },
        true,
      );
      const consume = Object.values(template.findResources('AWS::Lambda::Function')).find(
        (resource) => resource.Properties.Description === 'Cache warmer: consume',
      );
      const assetHash = String(consume?.Properties.Code.S3Key).replace(/\.zip$/, '');
      const assetDirectory = join(app.synth().directory, `asset.${assetHash}`);
      expect(readdirSync(assetDirectory).sort()).toEqual(
        [
          'index.mjs',
          'index.mjs.map',
          VALUE_MODULE_FILE,
          `${VALUE_MODULE_FILE}.map`,
          ENCODER_MODULE_FILE,
          `${ENCODER_MODULE_FILE}.map`,
        ].sort(),
      );
      expect(readFileSync(join(assetDirectory, ENCODER_MODULE_FILE), 'utf8')).not.toMatch(
        /from\s*["']cluster-key-slot["']/,
      );
      const variables = consume?.Properties.Environment.Variables as Record<string, string>;
      const encoder = await loadCacheEncoder({
        ...variables,
        // As Lambda would, from the code's directory.
        [resourceVariable('cacheEncoderModule')]: join(
          assetDirectory,
          variables[resourceVariable('cacheEncoderModule')] as string,
        ),
      });
      expect(encoder?.encode('{user}:2', { id: 2 })).toBe(`${calculateSlot('{user}:2')}|{"id":2}`);
    },
    BUNDLING_TIMEOUT_MS,
  );
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

  it('is reached over TLS only: a serverless cache has no plain-text port, and the URL says rediss', () => {
    // ElastiCache Serverless always encrypts in transit; a cache given by URL is used as given.
    const { template } = synthesize({ cache: { create: { auth: 'none' } } });
    expect(environmentOf(template, 'consume')[resourceVariable('cacheUrl')]).toEqual({
      'Fn::Join': ['', expect.arrayContaining(['rediss://'])],
    });
  });

  it('lets only the cache functions’ security group reach the cache ports, and nothing else', () => {
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

  it('runs only the consume function in the VPC when warm needs no cache', () => {
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
    expect(Object.keys(environmentOf(scheduled.template, 'warm'))).not.toContain(
      resourceVariable('cacheName'),
    );
  });

  it('puts warm in the VPC too, with the cache variables and grants, when ttlSeconds > 0', () => {
    for (const name of ['warm', 'consume']) {
      eager.template.hasResourceProperties('AWS::Lambda::Function', {
        Description: `Cache warmer: ${name}`,
        VpcConfig: {
          SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('FunctionSecurityGroup'), 'GroupId'] }],
          SubnetIds: Match.anyValue(),
        },
      });
      expect(environmentOf(eager.template, name)).toMatchObject({
        [resourceVariable('cacheName')]: expect.any(String),
        [resourceVariable('cacheAuth')]: 'iam',
        [resourceVariable('cacheUser')]: expect.any(String),
      });
      expect(
        statementsOf(eager.template, new RegExp(`${name}Role`)).some((statement) =>
          actionsOf(statement).includes('elasticache:Connect'),
        ),
      ).toBe(true);
    }
    for (const name of ['track', 'control']) {
      expect(environmentOf(eager.template, name)).not.toHaveProperty(resourceVariable('cacheAuth'));
    }
  });

  it(
    'imports an existing cache by URL: no cache created, ingress on its port from the functions',
    () => {
      const { template } = synthesizeWithExistingCache({
        url: 'rediss://redis.internal:6390',
        cluster: false,
      });
      template.resourceCountIs('AWS::ElastiCache::ServerlessCache', 0);
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        FromPort: 6390,
        ToPort: 6390,
        SourceSecurityGroupId: {
          'Fn::GetAtt': [Match.stringLikeRegexp('WarmerFunctionSecurityGroup'), 'GroupId'],
        },
      });
      expect(environmentOf(template, 'consume')).toMatchObject({
        [resourceVariable('cacheUrl')]: 'rediss://redis.internal:6390',
        [resourceVariable('cacheCluster')]: 'false',
        [resourceVariable('cacheAuth')]: 'none',
      });
      // Your VPC routes to AWS APIs itself: no endpoints added.
      template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'connects to an existing serverless cache given by URL in cluster mode, unless told otherwise',
    () => {
      const { template } = synthesizeWithExistingCache({
        url: 'rediss://orders.serverless.internal:6379',
        serverless: true,
      });
      expect(environmentOf(template, 'consume')).toMatchObject({
        [resourceVariable('cacheCluster')]: 'true',
      });
    },
    SYNTH_TIMEOUT_MS,
  );

  it('rejects an existing cache given by neither URL nor name', () => {
    expect(() => synthesize({ cache: { existing: {} } })).toThrow(/needs its url, or its name/);
  });
});

describe('cache auth', () => {
  it('creates an IAM-enabled user, a user group whose default user is off, and attaches it to the cache', () => {
    const user = eager.warmer.cacheUser;
    expect(user).toBeDefined();
    eager.template.hasResourceProperties('AWS::ElastiCache::User', {
      Engine: 'valkey',
      UserId: user?.userId,
      UserName: user?.userId,
      AuthenticationMode: { Type: 'iam' },
      AccessString: 'on ~* +@all',
    });
    eager.template.hasResourceProperties('AWS::ElastiCache::User', {
      UserName: 'default',
      AccessString: Match.stringLikeRegexp('^off '),
    });
    eager.template.hasResourceProperties('AWS::ElastiCache::UserGroup', {
      Engine: 'valkey',
      UserIds: [
        { Ref: Match.stringLikeRegexp('CacheDefaultUser') },
        { Ref: Match.stringLikeRegexp('CacheUser') },
      ],
    });
    eager.template.hasResourceProperties('AWS::ElastiCache::ServerlessCache', {
      UserGroupId: { Ref: Match.stringLikeRegexp('CacheUserGroup') },
    });
  });

  it('grants elasticache:Connect on the cache and the user ARNs only, and nothing to describe', () => {
    const statements = statementsOf(eager.template, /consumeRole/);
    expect(
      statements.filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('elasticache:')),
      ),
    ).toEqual([
      {
        Effect: 'Allow',
        Action: 'elasticache:Connect',
        Resource: [
          { 'Fn::GetAtt': [expect.stringMatching(/WarmerCache[0-9A-F]{8}$/), 'ARN'] },
          { 'Fn::GetAtt': [expect.stringMatching(/WarmerCacheUser[0-9A-F]{8}$/), 'Arn'] },
        ],
      },
    ]);
    // The token is signed for the cache by name; the URL beside it spares the endpoint lookup.
    expect(environmentOf(eager.template, 'consume')).toMatchObject({
      [resourceVariable('cacheUrl')]: expect.anything(),
      [resourceVariable('cacheName')]: expect.any(String),
    });
  });

  it(
    'connects without a user when asked for auth none: the URL, no user group, no elasticache:Connect',
    () => {
      const { template } = synthesize({ cache: { create: { auth: 'none' } } });
      template.resourceCountIs('AWS::ElastiCache::User', 0);
      template.resourceCountIs('AWS::ElastiCache::UserGroup', 0);
      expect(environmentOf(template, 'consume')).toMatchObject({
        [resourceVariable('cacheAuth')]: 'none',
        [resourceVariable('cacheCluster')]: 'true',
      });
      const elastiCacheActions = Object.values(template.findResources('AWS::IAM::Policy'))
        .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
        .flatMap(actionsOf)
        .filter((action) => action.startsWith('elasticache:'));
      expect(elastiCacheActions).toEqual([]);
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'reads a token from Secrets Manager: only the cache functions may read that secret',
    () => {
      const { template } = synthesize((stack) => {
        const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 2 });
        const secret = new secretsmanager.Secret(stack, 'CacheToken');
        return {
          warming: { ttlSeconds: 600 },
          cache: {
            existing: {
              url: 'rediss://redis.internal:6379',
              vpc,
              auth: { type: 'token', secret, username: 'warmer' },
            },
          },
          vpcEgress: 'endpoints',
        };
      });
      const secretArn = { Ref: expect.stringMatching(/^CacheToken/) };
      for (const name of ['warm', 'consume']) {
        expect(environmentOf(template, name)).toMatchObject({
          [resourceVariable('cacheAuth')]: 'token',
          [resourceVariable('cacheSecretArn')]: secretArn,
          [resourceVariable('cacheUser')]: 'warmer',
        });
        expect(statementsOf(template, new RegExp(`${name}Role`))).toContainEqual(
          expect.objectContaining({
            Action: expect.arrayContaining([
              'secretsmanager:DescribeSecret',
              'secretsmanager:GetSecretValue',
            ]),
            Resource: secretArn,
          }),
        );
      }
      for (const name of ['track', 'control']) {
        const secretActions = statementsOf(template, new RegExp(`${name}Role`))
          .flatMap(actionsOf)
          .filter((action) => action.startsWith('secretsmanager:'));
        expect(secretActions).toEqual([]);
      }
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.secretsmanager']] },
        VpcEndpointType: 'Interface',
      });
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'signs IAM tokens for an existing replication group: Connect on it and the user, describe it by name',
    () => {
      const { template } = synthesize((stack) => ({
        cache: {
          existing: {
            name: 'orders',
            vpc: new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 2 }),
            auth: { type: 'iam', userId: 'warmer' },
          },
        },
      }));
      const arn = (resource: string) => ({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':elasticache:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            `:${resource}`,
          ],
        ],
      });
      expect(statementsOf(template, /consumeRole/)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Action: 'elasticache:Connect',
            Resource: [arn('replicationgroup:orders'), arn('user:warmer')],
          }),
          expect.objectContaining({
            Action: 'elasticache:DescribeServerlessCaches',
            Resource: arn('serverlesscache:orders'),
          }),
          expect.objectContaining({
            Action: 'elasticache:DescribeReplicationGroups',
            Resource: arn('replicationgroup:orders'),
          }),
        ]),
      );
      expect(environmentOf(template, 'consume')).toMatchObject({
        [resourceVariable('cacheName')]: 'orders',
        [resourceVariable('cacheAuth')]: 'iam',
        [resourceVariable('cacheUser')]: 'warmer',
      });
    },
    SYNTH_TIMEOUT_MS,
  );

  it('rejects IAM auth for a cache given by URL alone: tokens are signed for its name', () => {
    expect(() =>
      synthesize({
        cache: { existing: { url: 'rediss://a:6379', auth: { type: 'iam', userId: 'warmer' } } },
      }),
    ).toThrow(/IAM auth signs its tokens for the cache by name: give cache.existing.name too/);
  });

  it(
    'signs IAM tokens for a cache given by URL and name: connects to the URL, describes nothing',
    () => {
      const { template } = synthesizeWithExistingCache({
        url: 'rediss://orders.internal:6379',
        name: 'orders',
        auth: { type: 'iam', userId: 'warmer' },
      });
      expect(environmentOf(template, 'consume')).toMatchObject({
        [resourceVariable('cacheUrl')]: 'rediss://orders.internal:6379',
        [resourceVariable('cacheName')]: 'orders',
        [resourceVariable('cacheAuth')]: 'iam',
      });
      const actions = statementsOf(template, /consumeRole/).flatMap(actionsOf);
      expect(actions).toContain('elasticache:Connect');
      expect(actions.filter((action) => action.startsWith('elasticache:Describe'))).toEqual([]);
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe('network: VPC endpoints or NAT', () => {
  const endpointServices = (template: Template, type: 'Interface' | 'Gateway'): string[] =>
    Object.values(template.findResources('AWS::EC2::VPCEndpoint'))
      .filter((endpoint) => endpoint.Properties.VpcEndpointType === type)
      .map((endpoint) => endpoint.Properties.ServiceName['Fn::Join'][1].at(-1).replace(/^\./, ''))
      .sort();

  it('reaches AWS through endpoints by default in a VPC it creates: isolated subnets, no NAT, no internet', () => {
    eager.template.resourceCountIs('AWS::EC2::NatGateway', 0);
    eager.template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    eager.template.resourcePropertiesCountIs('AWS::EC2::Subnet', { MapPublicIpOnLaunch: true }, 0);
    // SQS always; Lambda for the Lambda sources. No ElastiCache: the functions get the cache's URL.
    expect(endpointServices(eager.template, 'Interface')).toEqual(['lambda', 'sqs']);
    // DynamoDB always; S3 because the TTL-aware warm function reads an S3 key source from the VPC.
    expect(endpointServices(eager.template, 'Gateway')).toEqual(['dynamodb', 's3']);
    eager.template.allResourcesProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: Match.anyValue(),
      VpcId: { Ref: Match.stringLikeRegexp('WarmerVpc') },
    });
    eager.template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Interface',
      PrivateDnsEnabled: true,
      SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('EndpointSecurityGroup'), 'GroupId'] }],
    });
  });

  it('lets only the functions reach the endpoints, on HTTPS', () => {
    const endpointGroup = eager.stack.getLogicalId(
      eager.warmer.endpointSecurityGroup?.node.defaultChild as ec2.CfnSecurityGroup,
    );
    const rules = Object.values(eager.template.findResources('AWS::EC2::SecurityGroupIngress')).filter(
      (rule) => rule.Properties.GroupId['Fn::GetAtt'][0] === endpointGroup,
    );
    expect(rules.map((rule) => rule.Properties)).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
        SourceSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/FunctionSecurityGroup/), 'GroupId'] },
      }),
    ]);
    expect(
      eager.template.findResources('AWS::EC2::SecurityGroup')[endpointGroup]?.Properties.SecurityGroupIngress,
    ).toBeUndefined();
  });

  /** The functions' security group's egress rules, as `port → destination`. */
  const functionEgress = ({ stack, template, warmer }: Omit<Synthesized, 'app'>): string[] => {
    const group = stack.getLogicalId(warmer.functionSecurityGroup?.node.defaultChild as ec2.CfnSecurityGroup);
    const lookups = template.findResources('Custom::AWS');
    const destination = (rule: Record<string, unknown>): string => {
      if (rule.CidrIp) return String(rule.CidrIp);
      if (rule.DestinationSecurityGroupId) {
        const [id] = (rule.DestinationSecurityGroupId as { 'Fn::GetAtt': string[] })['Fn::GetAtt'];
        return `group ${id?.replace(/^Warmer/, '').replace(/[0-9A-F]{8}$/, '')}`;
      }
      const [lookup] = (rule.DestinationPrefixListId as { 'Fn::GetAtt': string[] })['Fn::GetAtt'];
      const filter = JSON.stringify(lookups[lookup ?? '']?.Properties.Create);
      return `prefix list of ${/\.(dynamodb|s3)\\"/.exec(filter)?.[1]}`;
    };
    const inline = (template.findResources('AWS::EC2::SecurityGroup')[group]?.Properties
      .SecurityGroupEgress ?? []) as Record<string, unknown>[];
    const separate = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress'))
      .map((rule) => rule.Properties)
      .filter((rule) => rule.GroupId['Fn::GetAtt'][0] === group);
    return [...inline, ...separate]
      .map((rule) => `${rule.IpProtocol}/${rule.FromPort} → ${destination(rule)}`)
      .sort();
  };

  it('lets the functions reach only the cache, the interface endpoints and the gateway endpoints’ prefix lists', () => {
    expect(functionEgress(eager)).toEqual(
      [
        ...SERVERLESS_CACHE_PORTS.map((port) => `tcp/${port} → group CacheSecurityGroup`),
        'tcp/443 → group EndpointSecurityGroup',
        'tcp/443 → prefix list of dynamodb',
        'tcp/443 → prefix list of s3',
      ].sort(),
    );
  });

  it('opens HTTPS to anywhere only with a NAT gateway', () => {
    expect(functionEgress(scheduled)).toEqual(
      [
        ...SERVERLESS_CACHE_PORTS.map((port) => `tcp/${port} → group CacheSecurityGroup`),
        'tcp/443 → 0.0.0.0/0',
      ].sort(),
    );
    scheduled.template.resourceCountIs('Custom::AWS', 0);
  });

  it('routes through one NAT gateway when the value source is an HTTP origin on the internet', () => {
    scheduled.template.resourceCountIs('AWS::EC2::NatGateway', 1);
    expect(endpointServices(scheduled.template, 'Interface')).toEqual([]);
    expect(endpointServices(scheduled.template, 'Gateway')).toEqual(['dynamodb']);
  });

  it('rejects egress choices that cannot work', () => {
    expect(() => synthesize({ vpcEgress: 'none' })).toThrow(/without any route to AWS APIs/);
    expect(() =>
      synthesize((stack) => ({
        cache: { existing: { url: 'rediss://a:6379', vpc: new ec2.Vpc(stack, 'Vpc') } },
        vpcEgress: 'nat',
      })),
    ).toThrow(/routes through its own/);
    expect(() =>
      synthesize({ cache: { existing: { url: 'rediss://a:6379' } }, vpcEgress: 'endpoints' }),
    ).toThrow(/this cache has none/);
  });
});

describe('alarms and dashboard', () => {
  it('alarms when any dead-letter queue holds a message', () => {
    for (const queue of [
      'WarmDeadLetterQueue',
      'AccessDeadLetterQueue',
      'ContinuationDeadLetterQueue',
      'ScheduleDeadLetterQueue',
    ]) {
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

  it('draws keys warmed and failed, run duration, load latency, queue depth and age, and the alarms', () => {
    scheduled.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const [dashboard] = Object.values(scheduled.template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    const { namespace } = HANDLER_METRICS;
    const [dimension, service] = Object.entries(HANDLER_METRICS.dimensionsMap)[0] ?? [];
    for (const metric of ['KeysWarmed', 'KeysFailed', 'RunDuration', 'LoadLatency']) {
      expect(body).toContain(`[\\"${namespace}\\",\\"${metric}\\",\\"${dimension}\\",\\"${service}\\"`);
    }
    for (const metric of ['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage']) {
      expect(body).toContain(`[\\"AWS/SQS\\",\\"${metric}\\",\\"QueueName\\"`);
    }
    expect(body).toContain('\\"type\\":\\"alarm\\"');
    expect(body).toContain('100 * failed / (warmed + failed)');
  });
});

describe('outputs', () => {
  it('outputs the function names, queue URLs, table names and the dashboard link', () => {
    const outputs = scheduled.template.findOutputs('*');
    for (const name of Object.values(CACHE_WARMER_OUTPUTS)) {
      expect(Object.keys(outputs).some((output) => output.startsWith(`Warmer${name}`))).toBe(true);
    }
    const [link] = Object.entries(outputs).filter(([id]) => id.startsWith('WarmerDashboardUrl'));
    expect(link?.[1].Value).toEqual({
      'Fn::Join': [
        '',
        [
          'https://console.aws.amazon.com/cloudwatch/home?region=',
          { Ref: 'AWS::Region' },
          '#dashboards/dashboard/',
          { Ref: expect.stringMatching(/WarmerDashboard/) },
        ],
      ],
    });
  });
});

describe('least privilege and cdk-nag', () => {
  /** The only actions granted on Resource `*`: services without resource-level permissions (docs/decisions.md). */
  const RESOURCE_STAR_ACTIONS = new Set([
    'xray:PutTraceSegments',
    'xray:PutTelemetryRecords',
    'ec2:CreateNetworkInterface',
    'ec2:DescribeNetworkInterfaces',
    'ec2:DescribeSubnets',
    'ec2:DeleteNetworkInterface',
    'ec2:AssignPrivateIpAddresses',
    'ec2:UnassignPrivateIpAddresses',
    // The deploy-time lookup of the gateway endpoints' prefix lists, for the functions' egress rules.
    'ec2:DescribePrefixLists',
  ]);

  it.each([
    ['the example stack', () => scheduled.template],
    ['everything switched on', () => eager.template],
  ])('grants on Resource * only what has no resource-level permission: %s', (_name, template) => {
    const starActions = Object.values(template().findResources('AWS::IAM::Policy'))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
      .filter(
        (statement) =>
          statement.Resource === '*' ||
          (Array.isArray(statement.Resource) && statement.Resource.includes('*')),
      )
      .flatMap(actionsOf);
    expect(starActions.length).toBeGreaterThan(0);
    expect(starActions.filter((action) => !RESOURCE_STAR_ACTIONS.has(action))).toEqual([]);
  });

  it('finds nothing unacknowledged in the example stack', () => {
    expect(unacknowledgedFindings(scheduled.stack)).toEqual([]);
  });

  it('finds nothing unacknowledged with everything switched on (EAGER, trigger, endpoints, IAM auth)', () => {
    expect(unacknowledgedFindings(eager.stack)).toEqual([]);
  });

  it(
    'finds nothing unacknowledged for LAZY either (no schedule, warm function without a DLQ)',
    () => {
      const { stack } = synthesize({ warming: { strategy: WarmingStrategy.LAZY } });
      expect(unacknowledgedFindings(stack)).toEqual([]);
    },
    SYNTH_TIMEOUT_MS,
  );

  it('does report what is not acknowledged (the check is not vacuous)', () => {
    const stack = new Stack(new App(), 'Bare');
    new sqs.Queue(stack, 'Queue');
    expect(unacknowledgedFindings(stack)).toContainEqual(expect.stringMatching(/^AwsSolutions-SQS3 /));
  });
});
