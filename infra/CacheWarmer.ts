import { fileURLToPath } from 'node:url';
import { CfnOutput, type CfnResource, Duration, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import type { KeySourceConfig, ValueSourceConfig } from '../functions/adapters/sourceConfig';
import { KEY_SOURCES_VARIABLE, VALUE_SOURCE_VARIABLE } from '../functions/adapters/sourceConfig';
import { type KeyAttribute, RUNS_TABLE, type TableDesign, TRACKER_TABLE } from '../functions/adapters/tables';
import {
  environmentVariableFor,
  resolveWarmingConfig,
  type WarmingConfig,
  WarmingStrategy,
} from '../functions/core';
import { type ResourceName, resourceVariable } from '../functions/handlers/environment';

/** Ports of an ElastiCache Serverless endpoint: 6379 for the primary, 6380 for reads from replicas. */
export const SERVERLESS_CACHE_PORTS = [6379, 6380] as const;

/** The largest message SQS accepts on a standard queue without raising its limit. */
const DEFAULT_MAX_MESSAGE_BYTES = 262_144;

/** Create an ElastiCache Serverless cache for Valkey in a VPC. */
export interface CreatedCacheProps {
  /**
   * The VPC of the cache and of the consume function (private subnets with egress).
   * @default a new VPC: two AZs, one NAT gateway, gateway endpoints for DynamoDB and S3, flow logs
   */
  vpc?: ec2.IVpc;
}

/** Use a Redis/Valkey endpoint that already exists. */
export interface ExistingCacheProps {
  /** `redis://host:port` or `rediss://host:port` (TLS). */
  url: string;
  /** `true` for a cluster-mode cache. @default false */
  cluster?: boolean;
  /**
   * The VPC the cache lives in; the consume function runs in its private subnets.
   * @default none: the consume function runs outside a VPC (a cache reachable from the internet)
   */
  vpc?: ec2.IVpc;
  /**
   * The cache's security group: an ingress rule on the URL's port from the consume function's security
   * group is added to it. Requires `vpc`.
   * @default no rule is added
   */
  securityGroup?: ec2.ISecurityGroup;
}

/** The cache the consume function writes to: create one, or bring your own. */
export type CacheProps = { create: CreatedCacheProps } | { existing: ExistingCacheProps };

/** Settings of the `CacheWarmer` construct. Every field is optional. */
export interface CacheWarmerProps {
  /**
   * The engine's options, set on every function as `CODOMYRMEX_WARMING_*` variables. `strategy` also
   * decides the schedule: SCHEDULED and ADAPTIVE run every `refreshIntervalSeconds` (a whole number of
   * minutes), LAZY and EAGER have no schedule.
   * @default defaultWarmingConfig()
   */
  warming?: Partial<WarmingConfig>;
  /**
   * Where the warm function gets its keys (`CODOMYRMEX_WARMING_KEY_SOURCES`); S3, DynamoDB and Lambda
   * sources are granted read / invoke on exactly the named object, table or function.
   * @default none: only the keys a payload names (and the adaptive ones) are warmed
   */
  keySources?: KeySourceConfig[];
  /**
   * Where the consume function loads values from (`CODOMYRMEX_WARMING_VALUE_SOURCE`); Lambda and
   * DynamoDB sources are granted invoke / read on exactly the named function or table.
   * @default none: the consume function fails at cold start until a value source is set
   */
  valueSource?: ValueSourceConfig;
  /** The cache. @default `{ create: {} }`: a new ElastiCache Serverless cache for Valkey in a new VPC */
  cache?: CacheProps;
  /** Deletion protection of the runs and tracker tables. @default true */
  deletionProtection?: boolean;
  /** Retention of the functions' log groups. @default logs.RetentionDays.ONE_MONTH */
  logRetention?: logs.RetentionDays;
  /** Timeout of the consume function; the warm queue's visibility timeout is six times it. @default 60 s */
  consumerTimeout?: Duration;
  /** Warm-queue messages one consume invocation gets. @default 10 */
  consumerBatchSize?: number;
  /** How long the event source mapping gathers messages before it invokes. @default 1 s */
  consumerBatchingWindow?: Duration;
  /** The warm queue's MaximumMessageSize, bytes. @default 262144 */
  maxMessageBytes?: number;
  /** Memory of every function, MB. @default 512 */
  memorySize?: number;
  /** Field of a loaded value that holds its version (`CODOMYRMEX_WARMING_VERSION_FIELD`). @default none */
  versionField?: string;
}

type Handler = 'warm' | 'consume' | 'track' | 'control';

const handlerEntry = (name: Handler): string =>
  fileURLToPath(new URL(`../functions/handlers/${name}.ts`, import.meta.url));

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

const attributeType = (attribute: KeyAttribute): dynamodb.Attribute => ({
  name: attribute.name,
  type: attribute.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
});

/** The `rate(…)` interval of a schedule: EventBridge Scheduler counts in whole minutes. */
const scheduleInterval = (refreshIntervalSeconds: number): Duration => {
  if (refreshIntervalSeconds < 60 || refreshIntervalSeconds % 60 !== 0) {
    throw new Error(
      `warming.refreshIntervalSeconds must be a whole number of minutes (60, 120, …) for a scheduled strategy, got ${refreshIntervalSeconds}`,
    );
  }
  return Duration.seconds(refreshIntervalSeconds);
};

/** Records why a cdk-nag finding is accepted on `scope` (and everything under it). */
const acknowledge = (scope: IConstruct, id: string, reason: string): void =>
  Validations.of(scope).acknowledge({ id, reason });

/** How cdk-nag names the ARN of a construct's CloudFormation resource in a finding: `<LogicalId.Arn>`. */
const arnFinding = (construct: IConstruct): string =>
  `<${Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnResource)}.Arn>`;

/** The port of a `redis://host:port` URL (6379 when it names none). */
const portOf = (url: string): number => {
  const match = /^rediss?:\/\/[^/\s]*?:(\d+)/.exec(url);
  return match?.[1] ? Number(match[1]) : 6379;
};

/**
 * The whole serverless cache warmer in one construct: the warm (fan-out), consume, track and control
 * functions, the warm and access queues with their DLQs, the runs and tracker tables, the schedule, and
 * the cache (created or imported). Secure by default: encrypted queues that refuse plain HTTP,
 * point-in-time recovery, least-privilege grants, the cache reachable only from the consume function.
 *
 * @example
 * new CacheWarmer(stack, 'Warmer', {
 *   warming: { strategy: WarmingStrategy.SCHEDULED, refreshIntervalSeconds: 300 },
 *   keySources: [{ type: 's3', bucket: 'warm-lists', key: 'keys.txt' }],
 *   valueSource: { type: 'http', urlTemplate: 'https://api.example.com/items/{key}' },
 * });
 */
export class CacheWarmer extends Construct {
  public readonly config: WarmingConfig;
  public readonly warmQueue: sqs.Queue;
  public readonly warmDeadLetterQueue: sqs.Queue;
  public readonly accessQueue: sqs.Queue;
  public readonly accessDeadLetterQueue: sqs.Queue;
  public readonly runsTable: dynamodb.Table;
  public readonly trackerTable: dynamodb.Table;
  public readonly warmFunction: nodejs.NodejsFunction;
  public readonly consumeFunction: nodejs.NodejsFunction;
  public readonly trackFunction: nodejs.NodejsFunction;
  public readonly controlFunction: nodejs.NodejsFunction;
  public readonly logGroups: Record<Handler, logs.LogGroup>;
  /** The VPC the consume function runs in; `undefined` for an existing cache given without one. */
  public readonly vpc: ec2.IVpc | undefined;
  /** The consume function's security group; `undefined` when it runs outside a VPC. */
  public readonly functionSecurityGroup: ec2.SecurityGroup | undefined;
  /** The created cache, its security group, and the URL the consume function writes to. */
  public readonly cache: elasticache.CfnServerlessCache | undefined;
  public readonly cacheSecurityGroup: ec2.SecurityGroup | undefined;
  public readonly cacheUrl: string;
  /** The schedule (SCHEDULED and ADAPTIVE only) and the queue of invocations it could not deliver. */
  public readonly schedule: scheduler.Schedule | undefined;
  public readonly scheduleDeadLetterQueue: sqs.Queue | undefined;
  /**
   * Alarms (no actions: add yours with `alarm.addAlarmAction`): a dead-letter queue holds messages,
   * the warm failure rate is above 5 %, the consume function errs or is throttled, the oldest warm
   * message waits longer than one refresh interval.
   */
  public readonly alarms: Record<string, cloudwatch.Alarm>;

  public constructor(scope: Construct, id: string, props: CacheWarmerProps = {}) {
    super(scope, id);
    this.config = resolveWarmingConfig(props.warming);
    const consumerTimeout = props.consumerTimeout ?? Duration.seconds(60);
    const consumerBatchSize = props.consumerBatchSize ?? 10;
    const maxMessageBytes = props.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const deletionProtection = props.deletionProtection ?? true;

    this.warmDeadLetterQueue = this.createQueue('WarmDeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      maxMessageSizeBytes: maxMessageBytes,
    });
    this.warmQueue = this.createQueue('WarmQueue', {
      visibilityTimeout: Duration.seconds(6 * consumerTimeout.toSeconds()),
      maxMessageSizeBytes: maxMessageBytes,
      deadLetterQueue: { queue: this.warmDeadLetterQueue, maxReceiveCount: 5 },
    });
    const trackTimeout = Duration.seconds(60);
    this.accessDeadLetterQueue = this.createQueue('AccessDeadLetterQueue', {
      retentionPeriod: Duration.days(14),
    });
    this.accessQueue = this.createQueue('AccessQueue', {
      visibilityTimeout: Duration.seconds(6 * trackTimeout.toSeconds()),
      deadLetterQueue: { queue: this.accessDeadLetterQueue, maxReceiveCount: 5 },
    });

    for (const deadLetterQueue of [this.warmDeadLetterQueue, this.accessDeadLetterQueue]) {
      acknowledge(
        deadLetterQueue,
        'Serverless-SQSRedrivePolicy',
        'a dead-letter queue is the end of the line: its messages are redriven by the control function',
      );
    }

    this.runsTable = this.createTable('RunsTable', RUNS_TABLE, deletionProtection);
    this.trackerTable = this.createTable('TrackerTable', TRACKER_TABLE, deletionProtection);

    const cache = props.cache ?? { create: {} };
    if ('create' in cache) {
      this.vpc = cache.create.vpc ?? this.createVpc();
      this.functionSecurityGroup = new ec2.SecurityGroup(this, 'FunctionSecurityGroup', {
        vpc: this.vpc,
        description: 'The consume function: reaches the cache and the AWS APIs',
        allowAllOutbound: true,
      });
      this.cacheSecurityGroup = new ec2.SecurityGroup(this, 'CacheSecurityGroup', {
        vpc: this.vpc,
        description: 'The cache: only the consume function may connect',
        allowAllOutbound: false,
      });
      for (const port of SERVERLESS_CACHE_PORTS) {
        this.cacheSecurityGroup.addIngressRule(
          this.functionSecurityGroup,
          ec2.Port.tcp(port),
          `Valkey (TLS) from the consume function, port ${port}`,
        );
      }
      this.cache = new elasticache.CfnServerlessCache(this, 'Cache', {
        engine: 'valkey',
        majorEngineVersion: '8',
        serverlessCacheName: Names.uniqueResourceName(this, { maxLength: 40, separator: '-' }).toLowerCase(),
        description: 'Cache kept warm by the cache warmer',
        subnetIds: this.vpc.selectSubnets().subnetIds,
        securityGroupIds: [this.cacheSecurityGroup.securityGroupId],
        snapshotRetentionLimit: 1,
      });
      this.cacheUrl = `rediss://${this.cache.attrEndpointAddress}:${this.cache.attrEndpointPort}`;
    } else {
      this.vpc = cache.existing.vpc;
      this.cacheUrl = cache.existing.url;
      if (this.vpc) {
        this.functionSecurityGroup = new ec2.SecurityGroup(this, 'FunctionSecurityGroup', {
          vpc: this.vpc,
          description: 'The consume function: reaches the cache and the AWS APIs',
          allowAllOutbound: true,
        });
        cache.existing.securityGroup?.addIngressRule(
          this.functionSecurityGroup,
          ec2.Port.tcp(portOf(cache.existing.url)),
          'Redis/Valkey from the cache warmer consume function',
        );
      } else if (cache.existing.securityGroup) {
        throw new Error('cache.existing.securityGroup needs cache.existing.vpc, the VPC the cache lives in');
      }
    }
    const cacheCluster = 'create' in cache ? true : (cache.existing.cluster ?? false);

    const shared: Partial<Record<ResourceName, string>> = {
      warmQueueUrl: this.warmQueue.queueUrl,
      runsTable: this.runsTable.tableName,
      maxMessageBytes: String(maxMessageBytes),
    };
    this.logGroups = {
      warm: this.createLogGroup('WarmLogGroup', props.logRetention),
      consume: this.createLogGroup('ConsumeLogGroup', props.logRetention),
      track: this.createLogGroup('TrackLogGroup', props.logRetention),
      control: this.createLogGroup('ControlLogGroup', props.logRetention),
    };
    const memorySize = props.memorySize ?? 512;
    const scheduled =
      this.config.strategy === WarmingStrategy.SCHEDULED || this.config.strategy === WarmingStrategy.ADAPTIVE;
    // Holds the schedule's undeliverable invocations and the warm runs that failed after Lambda's retries.
    this.scheduleDeadLetterQueue = scheduled
      ? this.createQueue('ScheduleDeadLetterQueue', { retentionPeriod: Duration.days(14) })
      : undefined;
    if (this.scheduleDeadLetterQueue) {
      acknowledge(
        this.scheduleDeadLetterQueue,
        'AwsSolutions-SQS3',
        'this queue is itself a dead-letter queue: of the schedule target and of the warm function',
      );
      acknowledge(
        this.scheduleDeadLetterQueue,
        'Serverless-SQSRedrivePolicy',
        'a dead-letter queue is the end of the line; nothing consumes it automatically',
      );
    }

    this.warmFunction = this.createFunction('warm', {
      timeout: Duration.minutes(5),
      memorySize,
      resources: {
        ...shared,
        trackerTable: this.trackerTable.tableName,
        consumerBatchSize: String(consumerBatchSize),
      },
      extra: props.keySources ? { [KEY_SOURCES_VARIABLE]: JSON.stringify(props.keySources) } : {},
      deadLetterQueue: this.scheduleDeadLetterQueue,
    });
    this.consumeFunction = this.createFunction('consume', {
      timeout: consumerTimeout,
      memorySize,
      resources: {
        ...shared,
        warmDlqUrl: this.warmDeadLetterQueue.queueUrl,
        cacheUrl: this.cacheUrl,
        cacheCluster: String(cacheCluster),
        ...(props.versionField ? { versionField: props.versionField } : {}),
      },
      extra: props.valueSource ? { [VALUE_SOURCE_VARIABLE]: JSON.stringify(props.valueSource) } : {},
      vpc: this.vpc,
      securityGroup: this.functionSecurityGroup,
    });
    this.trackFunction = this.createFunction('track', {
      timeout: trackTimeout,
      memorySize,
      resources: {
        trackerTable: this.trackerTable.tableName,
        accessDlqUrl: this.accessDeadLetterQueue.queueUrl,
      },
      extra: {},
    });
    this.controlFunction = this.createFunction('control', {
      timeout: Duration.seconds(30),
      memorySize,
      resources: {
        ...shared,
        warmDlqUrl: this.warmDeadLetterQueue.queueUrl,
        trackerTable: this.trackerTable.tableName,
      },
      extra: {},
    });

    // warm: records runs, reads hot keys, sends warm messages.
    this.runsTable.grantReadWriteData(this.warmFunction);
    this.trackerTable.grantReadData(this.warmFunction);
    this.warmQueue.grantSendMessages(this.warmFunction);
    // consume: the event source mapping grants the receive side; failed keys are re-enqueued or dead-lettered.
    this.consumeFunction.addEventSource(
      new SqsEventSource(this.warmQueue, {
        batchSize: consumerBatchSize,
        maxBatchingWindow: props.consumerBatchingWindow ?? Duration.seconds(1),
        maxConcurrency: Math.min(1_000, Math.max(2, this.config.maxWorkers)),
        reportBatchItemFailures: true,
      }),
    );
    this.warmQueue.grantSendMessages(this.consumeFunction);
    this.warmDeadLetterQueue.grantSendMessages(this.consumeFunction);
    this.runsTable.grantReadWriteData(this.consumeFunction);
    // track: access events in, tracker counts out, malformed events to the DLQ.
    this.trackFunction.addEventSource(
      new SqsEventSource(this.accessQueue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(5),
        maxConcurrency: 2,
        reportBatchItemFailures: true,
      }),
    );
    this.trackerTable.grantReadWriteData(this.trackFunction);
    this.accessDeadLetterQueue.grantSendMessages(this.trackFunction);
    // control: run status and cancel, hot keys, DLQ peek and redrive into the warm queue.
    this.runsTable.grantReadWriteData(this.controlFunction);
    this.trackerTable.grantReadData(this.controlFunction);
    this.warmDeadLetterQueue.grantConsumeMessages(this.controlFunction);
    this.warmQueue.grantSendMessages(this.controlFunction);

    const indexReason =
      'grantReadData / grantReadWriteData cover the indexes of this table only (index/*); they are queried by name';
    for (const [handler, tables] of [
      [this.warmFunction, [this.runsTable, this.trackerTable]],
      [this.consumeFunction, [this.runsTable]],
      [this.trackFunction, [this.trackerTable]],
      [this.controlFunction, [this.runsTable, this.trackerTable]],
    ] as const) {
      for (const table of tables) {
        acknowledge(
          handler.role ?? handler,
          `AwsSolutions-IAM5[Resource::${arnFinding(table)}/index/*]`,
          indexReason,
        );
      }
    }
    for (const [handler, source] of [
      [this.consumeFunction, 'warm'],
      [this.trackFunction, 'access'],
    ] as const) {
      acknowledge(
        handler,
        'Serverless-LambdaEventSourceMappingDestination',
        `SQS event sources take no on-failure destination; the ${source} queue's redrive policy dead-letters after 5 receives`,
      );
    }

    for (const source of props.keySources ?? []) this.grantKeySource(source, this.warmFunction);
    if (props.valueSource) this.grantValueSource(props.valueSource, this.consumeFunction);

    if (this.scheduleDeadLetterQueue) {
      const scheduleRole = new iam.Role(this, 'ScheduleRole', {
        assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
        description: 'EventBridge Scheduler: invokes the cache warmer warm function',
      });
      acknowledge(
        scheduleRole,
        `AwsSolutions-IAM5[Resource::${arnFinding(this.warmFunction)}:*]`,
        "grantInvoke also covers the warm function's versions and aliases (ARN:*); no other function",
      );
      this.schedule = new scheduler.Schedule(this, 'Schedule', {
        description: `Warms the cache every ${this.config.refreshIntervalSeconds} s`,
        schedule: scheduler.ScheduleExpression.rate(scheduleInterval(this.config.refreshIntervalSeconds)),
        timeWindow: scheduler.TimeWindow.off(),
        target: new targets.LambdaInvoke(this.warmFunction, {
          input: scheduler.ScheduleTargetInput.fromObject({ trigger: 'schedule' }),
          retryAttempts: 3,
          // A run older than one interval is superseded by the next one.
          maxEventAge: Duration.seconds(Math.max(60, this.config.refreshIntervalSeconds)),
          deadLetterQueue: this.scheduleDeadLetterQueue,
          role: scheduleRole,
        }),
      });
    }

    this.alarms = this.createAlarms();

    const outputs: Record<string, string> = {
      WarmFunctionName: this.warmFunction.functionName,
      ConsumeFunctionName: this.consumeFunction.functionName,
      TrackFunctionName: this.trackFunction.functionName,
      ControlFunctionName: this.controlFunction.functionName,
      WarmQueueUrl: this.warmQueue.queueUrl,
      WarmDeadLetterQueueUrl: this.warmDeadLetterQueue.queueUrl,
      AccessQueueUrl: this.accessQueue.queueUrl,
      AccessDeadLetterQueueUrl: this.accessDeadLetterQueue.queueUrl,
      RunsTableName: this.runsTable.tableName,
      TrackerTableName: this.trackerTable.tableName,
    };
    for (const [name, value] of Object.entries(outputs)) new CfnOutput(this, name, { value });
  }

  private createAlarms(): Record<string, cloudwatch.Alarm> {
    const alarms: Record<string, cloudwatch.Alarm> = {};
    const deadLetterQueues: Record<string, sqs.Queue | undefined> = {
      WarmDeadLetterQueueNotEmpty: this.warmDeadLetterQueue,
      AccessDeadLetterQueueNotEmpty: this.accessDeadLetterQueue,
      ScheduleDeadLetterQueueNotEmpty: this.scheduleDeadLetterQueue,
    };
    for (const [id, queue] of Object.entries(deadLetterQueues)) {
      if (!queue) continue;
      alarms[id] = queue
        .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' })
        .createAlarm(this, id, {
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescription: 'Messages wait in a cache warmer dead-letter queue: peek and redrive them',
        });
    }
    alarms.ConsumeErrors = this.consumeFunction
      .metricErrors({ period: Duration.minutes(5), statistic: 'Sum' })
      .createAlarm(this, 'ConsumeErrors', {
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: 'The consume function failed whole batches (not single keys)',
      });
    alarms.ConsumeThrottles = this.consumeFunction
      .metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' })
      .createAlarm(this, 'ConsumeThrottles', {
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription:
          'The consume function was throttled: raise the account concurrency or lower maxWorkers',
      });
    alarms.WarmQueueOldestMessage = this.warmQueue
      .metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' })
      .createAlarm(this, 'WarmQueueOldestMessage', {
        threshold: Math.max(300, this.config.refreshIntervalSeconds),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: 'Warm messages wait longer than one refresh interval: the consumers fall behind',
      });
    // The handlers' EMF metrics (namespace CacheWarmers, dimension service = cache-warmers).
    const warmingMetric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'CacheWarmers',
        metricName,
        dimensionsMap: { service: 'cache-warmers' },
        statistic: 'Sum',
        period: Duration.minutes(5),
      });
    alarms.WarmFailureRate = new cloudwatch.MathExpression({
      expression: 'IF(warmed + failed > 0, 100 * failed / (warmed + failed), 0)',
      usingMetrics: { warmed: warmingMetric('KeysWarmed'), failed: warmingMetric('KeysFailed') },
      label: 'Warm failure rate (%)',
      period: Duration.minutes(5),
    }).createAlarm(this, 'WarmFailureRate', {
      threshold: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: 'More than 5 % of the keys loaded in 5 minutes failed: see the warm DLQ for reasons',
    });
    return alarms;
  }

  private createQueue(id: string, props: sqs.QueueProps): sqs.Queue {
    return new sqs.Queue(this, id, {
      ...props,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
  }

  private createTable(id: string, design: TableDesign, deletionProtection: boolean): dynamodb.Table {
    const table = new dynamodb.Table(this, id, {
      partitionKey: attributeType(design.partitionKey),
      ...(design.sortKey ? { sortKey: attributeType(design.sortKey) } : {}),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: design.timeToLiveAttribute,
      deletionProtection,
      removalPolicy: deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    for (const index of design.globalSecondaryIndexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attributeType(index.partitionKey),
        ...(index.sortKey ? { sortKey: attributeType(index.sortKey) } : {}),
        projectionType:
          index.projection === 'ALL' ? dynamodb.ProjectionType.ALL : dynamodb.ProjectionType.KEYS_ONLY,
      });
    }
    return table;
  }

  private createVpc(): ec2.Vpc {
    const flowLogs = new logs.LogGroup(this, 'VpcFlowLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    return new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      ],
      // DynamoDB and S3 traffic stays off the NAT gateway (gateway endpoints are free).
      gatewayEndpoints: {
        dynamodb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
        s3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
      },
      flowLogs: { all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs) } },
    });
  }

  private createLogGroup(id: string, retention: logs.RetentionDays | undefined): logs.LogGroup {
    return new logs.LogGroup(this, id, {
      retention: retention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  private createFunction(
    name: Handler,
    options: {
      timeout: Duration;
      memorySize: number;
      resources: Partial<Record<ResourceName, string>>;
      extra: Record<string, string>;
      vpc?: ec2.IVpc | undefined;
      securityGroup?: ec2.ISecurityGroup | undefined;
      /** Where failed asynchronous invocations go. */
      deadLetterQueue?: sqs.IQueue | undefined;
    },
  ): nodejs.NodejsFunction {
    const logGroup = this.logGroups[name];
    // Our own role, so the function gets write access to its own log group only (no managed policy).
    const role = new iam.Role(this, `${name}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `The cache warmer ${name} function`,
    });
    logGroup.grantWrite(role);
    if (options.vpc) {
      // What AWSLambdaVPCAccessExecutionRole grants: Lambda manages the function's network interfaces.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      );
    }
    const environment: Record<string, string> = { NODE_OPTIONS: '--enable-source-maps', ...options.extra };
    for (const setting of Object.keys(this.config) as (keyof WarmingConfig)[]) {
      environment[environmentVariableFor(setting)] = String(this.config[setting]);
    }
    for (const [resource, value] of Object.entries(options.resources)) {
      if (value !== undefined) environment[resourceVariable(resource as ResourceName)] = value;
    }
    acknowledge(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      options.vpc
        ? 'X-Ray (PutTraceSegments, PutTelemetryRecords) and ec2:DescribeNetworkInterfaces offer no resource-level permissions; the ENI actions are those of AWSLambdaVPCAccessExecutionRole'
        : 'X-Ray PutTraceSegments and PutTelemetryRecords offer no resource-level permissions',
    );
    const handlerFunction = new nodejs.NodejsFunction(this, `${name}Function`, {
      ...(options.deadLetterQueue ? { deadLetterQueue: options.deadLetterQueue } : {}),
      entry: handlerEntry(name),
      handler: 'handler',
      projectRoot,
      depsLockFilePath: `${projectRoot}package-lock.json`,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: options.timeout,
      memorySize: options.memorySize,
      role,
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment,
      description: `Cache warmer: ${name}`,
      ...(options.vpc
        ? {
            vpc: options.vpc,
            // The VPC's private subnets: with egress if it has them, else isolated (then it needs endpoints).
            vpcSubnets: options.vpc.selectSubnets(),
            securityGroups: options.securityGroup ? [options.securityGroup] : [],
          }
        : {}),
      bundling: {
        format: nodejs.OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        target: 'node24',
        mainFields: ['module', 'main'],
        // Bundle the AWS SDK too: a minified bundle cold-starts faster than the runtime's copy.
        externalModules: [],
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });
    if (!options.deadLetterQueue) {
      acknowledge(
        handlerFunction,
        'Serverless-LambdaDLQ',
        name === 'warm'
          ? 'without a schedule the warm function is only invoked synchronously (console, CLI), which returns its errors'
          : `the ${name} function is invoked synchronously (${name === 'control' ? 'console, CLI' : 'by its SQS event source mapping'}); a DLQ only applies to asynchronous invocations`,
      );
    }
    return handlerFunction;
  }

  private grantKeySource(source: KeySourceConfig, grantee: iam.IGrantable): void {
    switch (source.type) {
      case 's3':
        s3.Bucket.fromBucketName(this, `KeySourceBucket-${source.bucket}`, source.bucket).grantRead(
          grantee,
          source.key,
        );
        return;
      case 'dynamodb':
        dynamodb.Table.fromTableName(
          this,
          `KeySourceTable-${source.tableName}`,
          source.tableName,
        ).grantReadData(grantee);
        return;
      case 'lambda':
        lambda.Function.fromFunctionName(
          this,
          `KeySourceFunction-${source.functionName}`,
          source.functionName,
        ).grantInvoke(grantee);
        return;
      case 'static':
      case 'adaptive':
        return;
    }
  }

  private grantValueSource(source: ValueSourceConfig, grantee: iam.IGrantable): void {
    switch (source.type) {
      case 'dynamodb':
        dynamodb.Table.fromTableName(this, 'ValueSourceTable', source.tableName).grantReadData(grantee);
        return;
      case 'lambda':
        lambda.Function.fromFunctionName(this, 'ValueSourceFunction', source.functionName).grantInvoke(
          grantee,
        );
        return;
      case 'http':
      case 'module':
        return;
    }
  }
}
