import { existsSync } from 'node:fs';
import { CfnOutput, Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as elasticache from 'aws-cdk-lib/aws-elasticache';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as triggers from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';
import type { RedisCompression, RedisEncoding, RedisValueType } from '../functions/adapters/redisValueCodec';
import type { KeySourceConfig, ValueSourceConfig } from '../functions/adapters/sourceConfig';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../functions/adapters/warmMessage';
import { ConfigurationError, resolveWarmingConfig, type WarmingConfig } from '../functions/core';
import { type ResourceName, readResources, resourceVariables } from '../functions/handlers/environment';
import type { CacheProps } from './cacheConnection';
import { CacheNetwork, type VpcEgress } from './cacheNetwork';
import {
  ENCODER_MODULE_FILE,
  type FunctionHandler,
  type UserModule,
  VALUE_MODULE_FILE,
} from './functionBundling';
import { createAlarms, createDashboard, dashboardUrl } from './monitoring';
import { CACHE_WARMER_OUTPUTS, type CacheWarmerOutput } from './stackOutputs';
import { type FunctionTimeouts, WarmerFunctions } from './warmerFunctions';
import { WarmerQueues } from './warmerQueues';
import { WarmerTables } from './warmerTables';
import { isScheduled, WarmSchedule } from './warmSchedule';

export {
  type CacheProps,
  type CreatedCacheProps,
  type ExistingCacheAuth,
  type ExistingCacheProps,
  SERVERLESS_CACHE_PORTS,
} from './cacheConnection';
export type { VpcEgress } from './cacheNetwork';

/** Settings of the `ServerlessCacheWarmer` construct. Every field is optional. */
export interface ServerlessCacheWarmerProps {
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
   * sources are granted read / invoke on exactly the named object (or the objects under a prefix),
   * table or function.
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
  /**
   * A module of yours that exports `encode(key, value)` (returning the bytes or string to store, and
   * optionally `decode(key, bytes)`), as the cache encoding: a path on this machine (TypeScript or
   * JavaScript) that is bundled with its imports beside the consume function's handler, which then
   * encodes every value with it (`CODOMYRMEX_WARMING_CACHE_ENCODING=module`). Excludes
   * `cacheValues.encoding`; `cacheValues.compression` still applies after it.
   * @default none: values are encoded as `cacheValues.encoding` says
   */
  encoderModuleEntry?: string;
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
  /**
   * The most consume invocations the warm queue's event source runs at once (its maximum concurrency,
   * 2 to 1,000), apart from `warming.maxWorkers`, the loads in flight within one invocation: your
   * origin sees up to `consumerMaxConcurrency × maxWorkers` loads at once. The default warms
   * 10 million keys in about 20 minutes at 50 ms per load (docs/operations.md, "Time and cost of a
   * run"); lower it for an origin that cannot take that, raise it (and the account's Lambda
   * concurrency) for a faster one.
   * @default 100
   */
  consumerMaxConcurrency?: number;
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

/** See {@link ServerlessCacheWarmerProps.cacheValues}. */
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

/** See {@link ServerlessCacheWarmerProps.consumerMaxConcurrency}. */
export const DEFAULT_CONSUMER_MAX_CONCURRENCY = 100;

/** The bounds of an SQS event source mapping's maximum concurrency (ScalingConfig.MaximumConcurrency). */
const CONSUMER_MAX_CONCURRENCY_RANGE = { min: 2, max: 1_000 } as const;

/** @throws ConfigurationError naming the prop, for a value the event source mapping does not take. */
const checkConsumerMaxConcurrency = (value: number): number => {
  const { min, max } = CONSUMER_MAX_CONCURRENCY_RANGE;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(
      'consumerMaxConcurrency',
      `must be a whole number from ${min} to ${max} (the SQS event source mapping's maximum concurrency), got ${value}`,
    );
  }
  return value;
};

/** @throws Error when the module a `…ModuleEntry` prop names is not there to bundle. */
const requireModuleFile = (prop: string, entry: string | undefined): void => {
  if (entry !== undefined && !existsSync(entry)) throw new Error(`${prop} ${entry} does not exist`);
};

/**
 * The user's modules bundled beside the consume handler, and the encoding variables an encoder module
 * sets. @throws Error when the encoder module contradicts `cacheValues`.
 */
const consumeModules = (
  props: ServerlessCacheWarmerProps,
): { modules: UserModule[]; encoding: Partial<Record<ResourceName, string>> } => {
  const { valueModuleEntry, encoderModuleEntry, cacheValues } = props;
  if (encoderModuleEntry !== undefined) {
    if (cacheValues?.encoding !== undefined) {
      throw new ConfigurationError(
        'encoderModuleEntry',
        'set cacheValues.encoding or encoderModuleEntry, not both: each is how the consume function encodes values',
      );
    }
    if (cacheValues?.valueType === 'hash') {
      throw new ConfigurationError(
        'encoderModuleEntry',
        'a hash value type writes each field as it is: it takes no encoder module',
      );
    }
    requireModuleFile('encoderModuleEntry', encoderModuleEntry);
  }
  return {
    modules: [
      ...(valueModuleEntry
        ? [{ entry: valueModuleEntry, file: VALUE_MODULE_FILE, prop: 'valueModuleEntry' }]
        : []),
      ...(encoderModuleEntry
        ? [{ entry: encoderModuleEntry, file: ENCODER_MODULE_FILE, prop: 'encoderModuleEntry' }]
        : []),
    ],
    // Lambda starts a function in its code's directory, where the module is bundled.
    encoding: encoderModuleEntry
      ? { cacheEncoding: 'module', cacheEncoderModule: `./${ENCODER_MODULE_FILE}` }
      : {},
  };
};

/**
 * The value source the consume function is given: a `valueModuleEntry` becomes a `module` source of
 * the bundled file. @throws Error for props that contradict each other.
 */
const consumeValueSource = (props: ServerlessCacheWarmerProps): ValueSourceConfig | undefined => {
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
  requireModuleFile('valueModuleEntry', props.valueModuleEntry);
  return props.valueModuleEntry
    ? // Lambda starts a function in its code's directory, where the module is bundled.
      { type: 'module', path: `./${VALUE_MODULE_FILE}` }
    : props.valueSource;
};

/**
 * The whole serverless cache warmer in one construct: the warm (fan-out), consume, track and control
 * functions, the warm, continuation and access queues with their DLQs, the runs and tracker tables, the schedule (and
 * the deploy trigger for EAGER), the cache (created or imported), alarms and a dashboard. Secure by
 * default: encrypted queues that refuse plain HTTP, point-in-time recovery, least-privilege grants, IAM
 * auth to the cache, the cache reachable only from the functions that write to or read from it.
 *
 * Named apart from the engine's `CacheWarmer` class, which loads values into a cache in one process;
 * this construct deploys that engine behind queues and functions.
 *
 * @example
 * new ServerlessCacheWarmer(stack, 'Warmer', {
 *   warming: { strategy: WarmingStrategy.SCHEDULED, refreshIntervalSeconds: 300 },
 *   keySources: [{ type: 's3', bucket: 'warm-lists', key: 'keys.txt' }],
 *   valueSource: { type: 'http', urlTemplate: 'https://api.example.com/items/{key}' },
 * });
 */
export class ServerlessCacheWarmer extends Construct {
  public readonly config: WarmingConfig;
  public readonly warmQueue: sqs.Queue;
  public readonly warmDeadLetterQueue: sqs.Queue;
  public readonly accessQueue: sqs.Queue;
  public readonly accessDeadLetterQueue: sqs.Queue;
  /** Continuations of runs larger than one warm invocation, and those that failed five times. */
  public readonly continuationQueue: sqs.Queue;
  public readonly continuationDeadLetterQueue: sqs.Queue;
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

  /**
   * The parts add their resources to this construct itself, not to child constructs of their own: a
   * construct's path names its resources' logical ids, so these stay those of stacks already deployed.
   */
  public constructor(scope: Construct, id: string, props: ServerlessCacheWarmerProps = {}) {
    super(scope, id);
    this.config = resolveWarmingConfig(props.warming);
    const valueSource = consumeValueSource(props);
    checkCacheValues(props.cacheValues);
    const userModules = consumeModules(props);
    const maxMessageBytes = props.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const consumerBatchSize = props.consumerBatchSize ?? 10;
    const warmReachesCache = this.config.ttlSeconds > 0;
    const timeouts: FunctionTimeouts = {
      warm: Duration.minutes(5),
      consume: props.consumerTimeout ?? Duration.seconds(60),
      track: Duration.seconds(60),
      control: Duration.seconds(30),
    };

    const queues = new WarmerQueues(this, {
      consumerTimeout: timeouts.consume,
      warmTimeout: timeouts.warm,
      trackTimeout: timeouts.track,
      maxMessageBytes,
      scheduled: isScheduled(this.config),
    });
    const tables = new WarmerTables(this, props.deletionProtection ?? true);
    const network = new CacheNetwork(this, {
      cache: props.cache ?? { create: {} },
      vpcEgress: props.vpcEgress,
      keySources: props.keySources ?? [],
      valueSource,
      warmInVpc: warmReachesCache,
    });
    const functions = new WarmerFunctions(this, {
      config: this.config,
      timeouts,
      memorySize: props.memorySize ?? 512,
      logRetention: props.logRetention,
      consumerBatchSize,
      consumerBatchingWindow: props.consumerBatchingWindow ?? Duration.seconds(1),
      consumerMaxConcurrency: checkConsumerMaxConcurrency(
        props.consumerMaxConcurrency ?? DEFAULT_CONSUMER_MAX_CONCURRENCY,
      ),
      maxMessageBytes,
      keySources: props.keySources,
      valueSource,
      consumeModules: userModules.modules,
      consumeCacheResources: {
        ...(props.versionField ? { versionField: props.versionField } : {}),
        cacheKeyTemplate: props.cacheValues?.keyTemplate,
        cacheEncoding: props.cacheValues?.encoding,
        cacheCompression: props.cacheValues?.compression,
        cacheValueType: props.cacheValues?.valueType,
        ...userModules.encoding,
      },
      warmCacheResources: warmReachesCache
        ? { ...network.connection.variables, cacheKeyTemplate: props.cacheValues?.keyTemplate }
        : undefined,
      queues,
      tables,
      network,
    });
    const schedule =
      queues.scheduleDeadLetterQueue &&
      new WarmSchedule(this, {
        config: this.config,
        warmFunction: functions.warmFunction,
        deadLetterQueue: queues.scheduleDeadLetterQueue,
        logRetention: props.logRetention,
      });

    ({
      warmQueue: this.warmQueue,
      warmDeadLetterQueue: this.warmDeadLetterQueue,
      accessQueue: this.accessQueue,
      accessDeadLetterQueue: this.accessDeadLetterQueue,
      continuationQueue: this.continuationQueue,
      continuationDeadLetterQueue: this.continuationDeadLetterQueue,
      scheduleDeadLetterQueue: this.scheduleDeadLetterQueue,
    } = queues);
    ({ runsTable: this.runsTable, trackerTable: this.trackerTable } = tables);
    ({
      vpc: this.vpc,
      vpcEgress: this.vpcEgress,
      functionSecurityGroup: this.functionSecurityGroup,
      endpointSecurityGroup: this.endpointSecurityGroup,
      cache: this.cache,
      cacheSecurityGroup: this.cacheSecurityGroup,
      cacheUser: this.cacheUser,
    } = network);
    ({
      logGroups: this.logGroups,
      warmFunction: this.warmFunction,
      consumeFunction: this.consumeFunction,
      trackFunction: this.trackFunction,
      controlFunction: this.controlFunction,
      cacheFunctions: this.cacheFunctions,
    } = functions);
    this.schedule = schedule?.schedule;
    this.deployWarmFunction = schedule?.deployWarmFunction;

    const monitored = {
      ...queues,
      warmFunction: this.warmFunction,
      consumeFunction: this.consumeFunction,
      refreshIntervalSeconds: this.config.refreshIntervalSeconds,
    };
    this.alarms = createAlarms(this, monitored);
    this.dashboard = createDashboard(this, monitored, this.alarms);
    this.addOutputs();
  }

  /** What you need next, as stack outputs: see {@link CACHE_WARMER_OUTPUTS}. */
  private addOutputs(): void {
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
}
