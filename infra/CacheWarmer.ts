import { existsSync } from 'node:fs';
import { CfnOutput, type CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as triggers from 'aws-cdk-lib/triggers';
import { Construct, type IConstruct } from 'constructs';
import type { RedisCompression, RedisEncoding, RedisValueType } from '../functions/adapters/redisValueCodec';
import type { KeySourceConfig, ValueSourceConfig } from '../functions/adapters/sourceConfig';
import { KEY_SOURCES_VARIABLE, VALUE_SOURCE_VARIABLE } from '../functions/adapters/sourceConfig';
import { type KeyAttribute, RUNS_TABLE, type TableDesign, TRACKER_TABLE } from '../functions/adapters/tables';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../functions/adapters/warmMessage';
import { DEPLOY_PAYLOAD, SCHEDULE_PAYLOAD } from '../functions/adapters/warmTriggers';
import {
  ConfigurationError,
  resolveWarmingConfig,
  type WarmingConfig,
  WarmingStrategy,
} from '../functions/core';
import {
  functionEnvironment,
  type ResourceName,
  readResources,
  resourceVariables,
} from '../functions/handlers/environment';
import {
  type CacheConnection,
  type CacheProps,
  connectExistingCache,
  createServerlessCache,
  grantCacheAccess,
} from './cacheConnection';
import { type FunctionHandler, VALUE_MODULE_FILE } from './functionBundling';
import { functionCode } from './functionCode';
import { restrictFunctionEgress } from './functionEgress';
import { createAlarms, createDashboard, dashboardUrl } from './monitoring';
import { grantRunStore } from './runStoreGrants';
import { keySourceStatement, valueSourceSecretArns, valueSourceStatement } from './sourceGrants';
import { CACHE_WARMER_OUTPUTS, type CacheWarmerOutput } from './stackOutputs';

/** The largest message SQS accepts on a standard queue without raising its limit. */

export {
  type CacheProps,
  type CreatedCacheProps,
  type ExistingCacheAuth,
  type ExistingCacheProps,
  SERVERLESS_CACHE_PORTS,
} from './cacheConnection';

/**
 * How the functions in the VPC reach the AWS APIs they call.
 * - `endpoints`: VPC endpoints for exactly those APIs, and no route to the internet: interface endpoints
 *   for SQS, Secrets Manager (token auth, header secrets), ElastiCache (endpoint discovery) and Lambda
 *   (a user Lambda source); gateway endpoints for DynamoDB and S3 (an S3 key source).
 * - `nat`: a NAT gateway, in a VPC the construct creates; reaches any API and the internet (an HTTP
 *   origin). The gateway endpoints are added too: they are free, and spare the NAT gateway that traffic.
 * - `none`: nothing is added; your VPC already routes to the APIs (its own NAT or endpoints).
 */
export type VpcEgress = 'endpoints' | 'nat' | 'none';

/** Settings of the `CacheWarmer` construct. Every field is optional. */
export interface CacheWarmerProps {
  /**
   * The engine's options, set on every function as `CODOMYRMEX_WARMING_*` variables. `strategy` also
   * decides when the warm function runs: SCHEDULED and ADAPTIVE every `refreshIntervalSeconds` (a whole
   * number of minutes), EAGER on that schedule and once after each deploy that changes the warm
   * function, LAZY only when invoked.
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
   * DynamoDB sources are granted invoke / read on exactly the named function or table, an HTTP source
   * `GetSecretValue` on exactly the secrets its headers name. A `module` source is set with
   * `valueModuleEntry` instead.
   * @default none: the consume function fails at cold start until a value source is set
   */
  valueSource?: ValueSourceConfig;
  /**
   * A module of yours that exports `loadValues(keys)`, as the value source: a path on this machine
   * (TypeScript or JavaScript) that is bundled with its imports beside the consume function's handler,
   * which then loads it as a `module` value source. Excludes `valueSource`.
   * @default none
   */
  valueModuleEntry?: string;
  /** The cache. @default `{ create: {} }`: a new ElastiCache Serverless cache for Valkey in a new VPC */
  cache?: CacheProps;
  /**
   * How the functions in the VPC reach AWS APIs: see {@link VpcEgress}.
   * @default `endpoints` in a VPC the construct creates (`nat` there when the value source is an HTTP
   * origin, which is on the internet); `none` in your VPC
   */
  vpcEgress?: VpcEgress;
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
  /**
   * How values are laid out in the cache, as your application reads them (the README's "What the cache
   * holds"): `keyTemplate` (`app:v3:{key}`), `encoding` (`json`, `msgpack`), `compression` (`gzip`,
   * `brotli`, `zstd`), `valueType` (`string`, `hash`). Checked when the functions start.
   * @default `{ keyTemplate: '{key}', encoding: 'json', compression: 'none', valueType: 'string' }`
   */
  cacheValues?: CacheValueLayout;
}

/** See {@link CacheWarmerProps.cacheValues}. */
export interface CacheValueLayout {
  keyTemplate?: string;
  encoding?: RedisEncoding;
  compression?: RedisCompression;
  valueType?: RedisValueType;
}

const CACHE_VALUE_RESOURCES: Record<keyof CacheValueLayout, ResourceName> = {
  keyTemplate: 'cacheKeyTemplate',
  encoding: 'cacheEncoding',
  compression: 'cacheCompression',
  valueType: 'cacheValueType',
};

/** Checks `cacheValues` at synth time as the functions check its variables at cold start. */
const checkCacheValues = (layout: CacheValueLayout = {}): void => {
  for (const [prop, resource] of Object.entries(CACHE_VALUE_RESOURCES) as [
    keyof CacheValueLayout,
    ResourceName,
  ][]) {
    try {
      readResources(resourceVariables({ [resource]: layout[prop] }), [], [resource]);
    } catch (error) {
      throw new ConfigurationError(
        `cacheValues.${prop}`,
        (error as ConfigurationError).problem ?? String(error),
      );
    }
  }
  const encoded = (layout.encoding ?? 'json') !== 'json' || (layout.compression ?? 'none') !== 'none';
  if (layout.valueType === 'hash' && encoded) {
    throw new ConfigurationError('cacheValues.valueType', 'hash takes no encoding or compression');
  }
};

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

/**
 * The whole serverless cache warmer in one construct: the warm (fan-out), consume, track and control
 * functions, the warm and access queues with their DLQs, the runs and tracker tables, the schedule (and
 * the deploy trigger for EAGER), the cache (created or imported), alarms and a dashboard. Secure by
 * default: encrypted queues that refuse plain HTTP, point-in-time recovery, least-privilege grants, IAM
 * auth to the cache, the cache reachable only from the functions that write to or read from it.
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
  public readonly warmFunction: lambda.Function;
  public readonly consumeFunction: lambda.Function;
  public readonly trackFunction: lambda.Function;
  public readonly controlFunction: lambda.Function;
  public readonly logGroups: Record<FunctionHandler, logs.LogGroup>;
  /**
   * The functions that connect to the cache: consume always, warm too when `ttlSeconds` > 0 (a
   * TTL-aware scheduled run asks the cache which keys are due).
   */
  public readonly cacheFunctions: lambda.Function[];
  /** The VPC the cache functions run in; `undefined` for an existing cache given without one. */
  public readonly vpc: ec2.IVpc | undefined;
  /** How the functions in the VPC reach AWS APIs; `none` when they run outside a VPC. */
  public readonly vpcEgress: VpcEgress;
  /** The cache functions' security group; `undefined` when they run outside a VPC. */
  public readonly functionSecurityGroup: ec2.SecurityGroup | undefined;
  /** The interface endpoints' security group: HTTPS from the cache functions only. */
  public readonly endpointSecurityGroup: ec2.SecurityGroup | undefined;
  /** The created cache and its security group. */
  public readonly cache: elasticache.CfnServerlessCache | undefined;
  public readonly cacheSecurityGroup: ec2.SecurityGroup | undefined;
  /** The created cache's IAM-enabled user, the one the functions connect as (`auth: 'iam'`). */
  public readonly cacheUser: elasticache.CfnUser | undefined;
  /** The schedule (SCHEDULED, ADAPTIVE, EAGER) and the queue of invocations it could not deliver. */
  public readonly schedule: scheduler.Schedule | undefined;
  public readonly scheduleDeadLetterQueue: sqs.Queue | undefined;
  /** EAGER only: the function a CDK trigger runs after each deploy; it starts a warm run. */
  public readonly deployWarmFunction: triggers.TriggerFunction | undefined;
  /**
   * Alarms (no actions: add yours with `alarm.addAlarmAction`): a dead-letter queue holds messages,
   * the warm failure rate is above 5 %, the consume function errs or is throttled, the oldest warm
   * message waits longer than one refresh interval.
   */
  public readonly alarms: Record<string, cloudwatch.Alarm>;
  public readonly dashboard: cloudwatch.Dashboard;

  public constructor(scope: Construct, id: string, props: CacheWarmerProps = {}) {
    super(scope, id);
    this.config = resolveWarmingConfig(props.warming);
    if (props.valueSource && props.valueModuleEntry) {
      throw new Error(
        'set valueSource or valueModuleEntry, not both: each is the consume function’s value source',
      );
    }
    if (props.valueSource?.type === 'module') {
      throw new Error(
        'a module value source runs only the module the construct bundles: set valueModuleEntry to its path on this machine',
      );
    }
    if (props.valueModuleEntry && !existsSync(props.valueModuleEntry)) {
      throw new Error(`valueModuleEntry ${props.valueModuleEntry} does not exist`);
    }
    checkCacheValues(props.cacheValues);
    const consumerTimeout = props.consumerTimeout ?? Duration.seconds(60);
    const consumerBatchSize = props.consumerBatchSize ?? 10;
    const maxMessageBytes = props.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const deletionProtection = props.deletionProtection ?? true;
    const ttlAware = this.config.ttlSeconds > 0;
    const valueSource: ValueSourceConfig | undefined = props.valueModuleEntry
      ? // Lambda starts a function in its code's directory, where the module is bundled.
        { type: 'module', path: `./${VALUE_MODULE_FILE}` }
      : props.valueSource;

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

    // The cache, the VPC its functions run in, and how they reach the AWS APIs from there.
    const cache = props.cache ?? { create: {} };
    this.vpcEgress = this.chooseVpcEgress(props, cache, valueSource);
    let connection: CacheConnection;
    /** What the functions' egress to the cache goes to. */
    let cachePeer: ec2.IPeer | undefined;
    if ('create' in cache) {
      const vpc = cache.create.vpc ?? this.createVpc(this.vpcEgress);
      const functionSecurityGroup = this.createFunctionSecurityGroup(vpc);
      const cacheSecurityGroup = new ec2.SecurityGroup(this, 'CacheSecurityGroup', {
        vpc,
        description: 'The cache: only the cache warmer functions may connect',
        allowAllOutbound: false,
      });
      const created = createServerlessCache(this, vpc, cacheSecurityGroup, cache.create.auth ?? 'iam');
      connection = created.connection;
      for (const port of connection.ports) {
        cacheSecurityGroup.addIngressRule(
          functionSecurityGroup,
          ec2.Port.tcp(port),
          `Valkey (TLS) from the cache warmer functions, port ${port}`,
        );
      }
      this.vpc = vpc;
      this.functionSecurityGroup = functionSecurityGroup;
      this.cacheSecurityGroup = cacheSecurityGroup;
      cachePeer = cacheSecurityGroup;
      this.cache = created.cache;
      this.cacheUser = created.user;
    } else {
      const { securityGroup, vpc } = cache.existing;
      if (securityGroup && !vpc) {
        throw new Error('cache.existing.securityGroup needs cache.existing.vpc, the VPC the cache lives in');
      }
      connection = connectExistingCache(this, cache.existing);
      const functionSecurityGroup = vpc && this.createFunctionSecurityGroup(vpc);
      if (functionSecurityGroup) {
        for (const port of connection.ports) {
          securityGroup?.addIngressRule(
            functionSecurityGroup,
            ec2.Port.tcp(port),
            `Redis/Valkey from the cache warmer functions, port ${port}`,
          );
        }
      }
      this.vpc = vpc;
      this.functionSecurityGroup = functionSecurityGroup;
      cachePeer = securityGroup ?? (vpc && ec2.Peer.ipv4(vpc.vpcCidrBlock));
    }

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
    const scheduled = this.config.strategy !== WarmingStrategy.LAZY;
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

    const network = { vpc: this.vpc, securityGroup: this.functionSecurityGroup };
    this.warmFunction = this.createFunction('warm', {
      timeout: Duration.minutes(5),
      memorySize,
      resources: {
        ...shared,
        trackerTable: this.trackerTable.tableName,
        consumerBatchSize: String(consumerBatchSize),
        ...(ttlAware ? { ...connection.variables, cacheKeyTemplate: props.cacheValues?.keyTemplate } : {}),
      },
      extra: props.keySources ? { [KEY_SOURCES_VARIABLE]: JSON.stringify(props.keySources) } : {},
      deadLetterQueue: this.scheduleDeadLetterQueue,
      ...(ttlAware ? network : {}),
    });
    this.consumeFunction = this.createFunction('consume', {
      timeout: consumerTimeout,
      memorySize,
      resources: {
        ...shared,
        warmDlqUrl: this.warmDeadLetterQueue.queueUrl,
        ...connection.variables,
        ...(props.versionField ? { versionField: props.versionField } : {}),
        cacheKeyTemplate: props.cacheValues?.keyTemplate,
        cacheEncoding: props.cacheValues?.encoding,
        cacheCompression: props.cacheValues?.compression,
        cacheValueType: props.cacheValues?.valueType,
      },
      extra: valueSource ? { [VALUE_SOURCE_VARIABLE]: JSON.stringify(valueSource) } : {},
      ...network,
      ...(props.valueModuleEntry ? { valueModuleEntry: props.valueModuleEntry } : {}),
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
    this.cacheFunctions = ttlAware ? [this.consumeFunction, this.warmFunction] : [this.consumeFunction];

    // warm: records runs, reads hot keys, sends warm messages.
    grantRunStore(this.runsTable, this.warmFunction);
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
    grantRunStore(this.runsTable, this.consumeFunction);
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
    grantRunStore(this.runsTable, this.controlFunction);
    this.trackerTable.grantReadData(this.controlFunction);
    this.warmDeadLetterQueue.grantConsumeMessages(this.controlFunction);
    this.warmQueue.grantSendMessages(this.controlFunction);
    // The cache functions: the auth secret, IAM auth to the cache, describing it to find its endpoint.
    for (const cacheFunction of this.cacheFunctions) grantCacheAccess(connection, cacheFunction);

    const indexReason =
      'grantReadData / grantReadWriteData cover the indexes of this table only (index/*); they are queried by name';
    for (const [handler, tables] of [
      [this.warmFunction, [this.trackerTable]],
      [this.trackFunction, [this.trackerTable]],
      [this.controlFunction, [this.trackerTable]],
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

    // Sources: exactly the calls their providers and loaders make.
    for (const source of props.keySources ?? []) {
      const statement = keySourceStatement(this, source);
      if (statement) this.warmFunction.addToRolePolicy(statement);
    }
    const valueStatement = valueSource && valueSourceStatement(this, valueSource);
    if (valueStatement) this.consumeFunction.addToRolePolicy(valueStatement);

    const s3FromVpc = ttlAware && (props.keySources ?? []).some((source) => source.type === 's3');
    if (this.vpc && this.functionSecurityGroup && this.vpcEgress !== 'none') {
      this.endpointSecurityGroup = this.addVpcEndpoints(this.vpc, this.functionSecurityGroup, {
        interfaceEndpoints: this.vpcEgress === 'endpoints',
        secretsManager: connection.secret !== undefined || valueSourceSecretArns(valueSource).length > 0,
        elastiCache: connection.describe !== undefined,
        lambda:
          valueSource?.type === 'lambda' ||
          (ttlAware && (props.keySources ?? []).some((source) => source.type === 'lambda')),
        s3: s3FromVpc,
      });
    }
    if (this.functionSecurityGroup && cachePeer) {
      restrictFunctionEgress(this, this.functionSecurityGroup, {
        cache: cachePeer,
        cachePorts: connection.ports,
        endpoints: this.endpointSecurityGroup,
        gateways: ['dynamodb', ...(s3FromVpc ? (['s3'] as const) : [])],
        https: this.vpcEgress !== 'endpoints',
      });
    }

    if (this.scheduleDeadLetterQueue) {
      this.schedule = this.createSchedule(this.scheduleDeadLetterQueue);
    }
    if (this.config.strategy === WarmingStrategy.EAGER) {
      this.deployWarmFunction = this.createDeployWarm(props.logRetention);
    }

    const monitored = {
      warmQueue: this.warmQueue,
      warmDeadLetterQueue: this.warmDeadLetterQueue,
      accessDeadLetterQueue: this.accessDeadLetterQueue,
      scheduleDeadLetterQueue: this.scheduleDeadLetterQueue,
      warmFunction: this.warmFunction,
      consumeFunction: this.consumeFunction,
      refreshIntervalSeconds: this.config.refreshIntervalSeconds,
    };
    this.alarms = createAlarms(this, monitored);
    this.dashboard = createDashboard(this, monitored, this.alarms);

    const outputs: Record<CacheWarmerOutput, string> = {
      warmFunctionName: this.warmFunction.functionName,
      consumeFunctionName: this.consumeFunction.functionName,
      trackFunctionName: this.trackFunction.functionName,
      controlFunctionName: this.controlFunction.functionName,
      warmQueueUrl: this.warmQueue.queueUrl,
      warmDeadLetterQueueUrl: this.warmDeadLetterQueue.queueUrl,
      accessQueueUrl: this.accessQueue.queueUrl,
      accessDeadLetterQueueUrl: this.accessDeadLetterQueue.queueUrl,
      runsTableName: this.runsTable.tableName,
      trackerTableName: this.trackerTable.tableName,
      dashboardUrl: dashboardUrl(this.dashboard),
    };
    for (const [output, value] of Object.entries(outputs)) {
      new CfnOutput(this, CACHE_WARMER_OUTPUTS[output as CacheWarmerOutput], { value });
    }
  }

  /** See {@link VpcEgress}; @throws Error for a choice that cannot work with the cache's VPC. */
  private chooseVpcEgress(
    props: CacheWarmerProps,
    cache: CacheProps,
    valueSource: ValueSourceConfig | undefined,
  ): VpcEgress {
    const createsVpc = 'create' in cache && !cache.create.vpc;
    const hasVpc = 'create' in cache || cache.existing.vpc !== undefined;
    if (!hasVpc) {
      if (props.vpcEgress) {
        throw new Error(
          'vpcEgress applies to functions in a VPC, and this cache has none (cache.existing.vpc)',
        );
      }
      return 'none';
    }
    if (props.vpcEgress === 'nat' && !createsVpc) {
      throw new Error(
        "vpcEgress 'nat' adds a NAT gateway to the VPC the construct creates; your VPC routes through its own: use 'none'",
      );
    }
    if (props.vpcEgress === 'none' && createsVpc) {
      throw new Error(
        "vpcEgress 'none' leaves the functions in the new VPC without any route to AWS APIs: use 'endpoints' or 'nat'",
      );
    }
    if (props.vpcEgress) return props.vpcEgress;
    if (!createsVpc) return 'none';
    return valueSource?.type === 'http' ? 'nat' : 'endpoints';
  }

  private createFunctionSecurityGroup(vpc: ec2.IVpc): ec2.SecurityGroup {
    return new ec2.SecurityGroup(this, 'FunctionSecurityGroup', {
      vpc,
      description: 'The cache warmer functions that reach the cache: the cache, and AWS APIs over HTTPS',
      // Egress is what restrictFunctionEgress opens.
      allowAllOutbound: false,
    });
  }

  /**
   * The VPC endpoints the cache functions need: gateway endpoints for DynamoDB (and S3), and with
   * `interfaceEndpoints` the interface endpoints behind a security group that admits HTTPS from the
   * functions only. @returns that security group, when there are interface endpoints.
   */
  private addVpcEndpoints(
    vpc: ec2.IVpc,
    functionSecurityGroup: ec2.ISecurityGroup,
    needs: {
      interfaceEndpoints: boolean;
      secretsManager: boolean;
      elastiCache: boolean;
      lambda: boolean;
      s3: boolean;
    },
  ): ec2.SecurityGroup | undefined {
    const subnets = [vpc.selectSubnets()];
    vpc.addGatewayEndpoint('DynamoDbEndpoint', {
      service: ec2.GatewayVpcEndpointAwsService.DYNAMODB,
      subnets,
    });
    if (needs.s3)
      vpc.addGatewayEndpoint('S3Endpoint', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets });
    if (!needs.interfaceEndpoints) return undefined;
    const securityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc,
      description: 'The cache warmer VPC endpoints: HTTPS from the cache warmer functions only',
      allowAllOutbound: false,
    });
    securityGroup.addIngressRule(
      functionSecurityGroup,
      ec2.Port.tcp(443),
      'HTTPS from the cache warmer functions',
    );
    const services: Record<string, ec2.InterfaceVpcEndpointAwsService | false> = {
      SqsEndpoint: ec2.InterfaceVpcEndpointAwsService.SQS,
      SecretsManagerEndpoint: needs.secretsManager && ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      ElastiCacheEndpoint: needs.elastiCache && ec2.InterfaceVpcEndpointAwsService.ELASTICACHE,
      LambdaEndpoint: needs.lambda && ec2.InterfaceVpcEndpointAwsService.LAMBDA,
    };
    for (const [id, service] of Object.entries(services)) {
      if (!service) continue;
      new ec2.InterfaceVpcEndpoint(this, id, {
        vpc,
        service,
        subnets: vpc.selectSubnets(),
        securityGroups: [securityGroup],
        open: false,
        privateDnsEnabled: true,
      });
    }
    return securityGroup;
  }

  private createSchedule(deadLetterQueue: sqs.IQueue): scheduler.Schedule {
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
    return new scheduler.Schedule(this, 'Schedule', {
      description: `Warms the cache every ${this.config.refreshIntervalSeconds} s`,
      schedule: scheduler.ScheduleExpression.rate(scheduleInterval(this.config.refreshIntervalSeconds)),
      timeWindow: scheduler.TimeWindow.off(),
      target: new targets.LambdaInvoke(this.warmFunction, {
        input: scheduler.ScheduleTargetInput.fromObject(SCHEDULE_PAYLOAD),
        retryAttempts: 3,
        // A run older than one interval is superseded by the next one.
        maxEventAge: Duration.seconds(Math.max(60, this.config.refreshIntervalSeconds)),
        deadLetterQueue,
        role: scheduleRole,
      }),
    });
  }

  /**
   * EAGER: a CDK trigger runs a small function after the deploy, which starts a warm run with
   * {@link DEPLOY_PAYLOAD} (CDK triggers invoke with no payload of their own). It invokes the warm
   * function's current version, so a deploy that changes the warm function (its code or settings, key
   * sources among them) warms again. The invocation is asynchronous: the deploy does not wait for the
   * run, and a run that fails lands in the schedule DLQ like a scheduled one.
   */
  private createDeployWarm(logRetention: logs.RetentionDays | undefined): triggers.TriggerFunction {
    const scope = new Construct(this, 'DeployWarm');
    const logGroup = new logs.LogGroup(scope, 'LogGroup', {
      retention: logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = this.createRole(scope, 'deploy trigger', logGroup, false);
    const warmVersion = this.warmFunction.currentVersion;
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
    deployWarm.executeAfter(...this.node.children.filter((child) => child !== scope));
    acknowledge(
      deployWarm,
      'Serverless-LambdaDLQ',
      'the deploy trigger invokes this function synchronously and fails the deploy when it fails; a DLQ only applies to asynchronous invocations',
    );
    return deployWarm;
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

  /**
   * Two AZs of private subnets with flow logs: isolated ones (the functions reach AWS through VPC
   * endpoints) or, for `nat`, ones that route through one NAT gateway in a public subnet.
   */
  private createVpc(egress: VpcEgress): ec2.Vpc {
    const flowLogs = new logs.LogGroup(this, 'VpcFlowLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const nat = egress === 'nat';
    return new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: nat ? 1 : 0,
      subnetConfiguration: nat
        ? [
            { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
            { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
          ]
        : [{ name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
      flowLogs: { all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs) } },
    });
  }

  private createLogGroup(id: string, retention: logs.RetentionDays | undefined): logs.LogGroup {
    return new logs.LogGroup(this, id, {
      retention: retention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /**
   * A function's own role: write access to its own log group only (no managed policy), and in a VPC
   * what AWSLambdaVPCAccessExecutionRole grants, so Lambda can manage the function's network interfaces.
   */
  private createRole(scope: Construct, name: string, logGroup: logs.ILogGroup, inVpc: boolean): iam.Role {
    const role = new iam.Role(scope, `${name.replaceAll(' ', '')}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `The cache warmer ${name} function`,
    });
    logGroup.grantWrite(role);
    if (inVpc) {
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
    acknowledge(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      inVpc
        ? 'X-Ray (PutTraceSegments, PutTelemetryRecords) and ec2:DescribeNetworkInterfaces offer no resource-level permissions; the ENI actions are those of AWSLambdaVPCAccessExecutionRole'
        : 'X-Ray PutTraceSegments and PutTelemetryRecords offer no resource-level permissions',
    );
    return role;
  }

  private createFunction(
    name: FunctionHandler,
    options: {
      timeout: Duration;
      memorySize: number;
      resources: Partial<Record<ResourceName, string>>;
      extra: Record<string, string>;
      vpc?: ec2.IVpc | undefined;
      securityGroup?: ec2.ISecurityGroup | undefined;
      /** Where failed asynchronous invocations go. */
      deadLetterQueue?: sqs.IQueue | undefined;
      /** A user module bundled beside the handler as {@link VALUE_MODULE_FILE}. */
      valueModuleEntry?: string;
    },
  ): lambda.Function {
    const logGroup = this.logGroups[name];
    const role = this.createRole(this, name, logGroup, options.vpc !== undefined);
    const environment: Record<string, string> = {
      NODE_OPTIONS: '--enable-source-maps',
      ...functionEnvironment(this.config, options.resources, options.extra),
    };
    const handlerFunction = new lambda.Function(this, `${name}Function`, {
      ...(options.deadLetterQueue ? { deadLetterQueue: options.deadLetterQueue } : {}),
      code: functionCode(name, environment, options.valueModuleEntry),
      handler: 'index.handler',
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
            // The VPC's private subnets: with egress if it has them, else isolated (reached through endpoints).
            vpcSubnets: options.vpc.selectSubnets(),
            securityGroups: options.securityGroup ? [options.securityGroup] : [],
          }
        : {}),
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
}
