import type { RedisCompression, RedisEncoding, RedisValueType } from '../adapters/redisValueCodec';
import {
  KEY_SOURCES_VARIABLE,
  type KeySourceConfig,
  VALUE_SOURCE_VARIABLE,
  type ValueSourceConfig,
} from '../adapters/sourceConfig';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../adapters/warmMessage';
import { ConfigurationError, resolveWarmingConfig, type WarmingConfig } from '../core';
import { functionEnvironment, readResources } from '../handlers/environment';

/** The four functions of a deployment, as the CDK construct creates them. */
export const FUNCTION_KINDS = ['warm', 'consume', 'track', 'control'] as const;
export type FunctionKind = (typeof FUNCTION_KINDS)[number];

/**
 * What the local runtime deploys: the `ServerlessCacheWarmer` construct's props that matter offline, with the
 * construct's defaults. Durations are seconds.
 */
export interface LocalDeploymentOptions {
  /** The engine's options, set on every function as `CODOMYRMEX_WARMING_*`. @default defaultWarmingConfig() */
  warming?: Partial<WarmingConfig>;
  /** `CODOMYRMEX_WARMING_KEY_SOURCES` of the warm function. @default none */
  keySources?: KeySourceConfig[];
  /** `CODOMYRMEX_WARMING_VALUE_SOURCE` of the consume function. @default none: consume fails at start */
  valueSource?: ValueSourceConfig;
  /** `memory://` (an in-process store), `redis://host:port` or `rediss://host:port`. */
  cacheUrl: string;
  /** The cache is in cluster mode. @default false */
  cacheCluster?: boolean;
  /** The consume function's timeout; the warm queue's visibility timeout is six times it. @default 60 */
  consumerTimeoutSeconds?: number;
  /** Warm-queue messages per consume invocation. @default 10 */
  consumerBatchSize?: number;
  /** How long the consume event source gathers messages before it invokes. @default 1 */
  consumerBatchingWindowSeconds?: number;
  /** The warm queue's MaximumMessageSize. @default 262144 */
  maxMessageBytes?: number;
  /** `CODOMYRMEX_WARMING_VERSION_FIELD` of the consume function. @default none */
  versionField?: string;
  /** How values are laid out in the cache, as the construct's `cacheValues`. @default the store's defaults */
  cacheValues?: LocalCacheValues;
}

/**
 * The cache's value layout (`CODOMYRMEX_WARMING_CACHE_KEY_TEMPLATE`, `_ENCODING`, `_ENCODER_MODULE`,
 * `_COMPRESSION`, `_VALUE_TYPE`), checked by the functions as they start.
 */
export interface LocalCacheValues {
  /** e.g. `app:v3:{key}`. */
  keyTemplate?: string;
  /** `module` takes the encoder in `encoderModule`. */
  encoding?: RedisEncoding | 'module';
  /** With `encoding: 'module'`: the path of the module exporting `encode(key, value)` (and `decode`). */
  encoderModule?: string;
  compression?: RedisCompression;
  valueType?: RedisValueType;
}

/**
 * The value layout `CODOMYRMEX_WARMING_CACHE_*` variables set, for the local runtime to give its
 * functions as the construct would. @throws ConfigurationError naming the variable that is malformed.
 */
export const readCacheValues = (env: Record<string, string | undefined>): LocalCacheValues => {
  const { cacheKeyTemplate, cacheEncoding, cacheEncoderModule, cacheCompression, cacheValueType } =
    readResources(
      env,
      [],
      ['cacheKeyTemplate', 'cacheEncoding', 'cacheEncoderModule', 'cacheCompression', 'cacheValueType'],
    );
  return {
    keyTemplate: cacheKeyTemplate,
    encoding: cacheEncoding,
    encoderModule: cacheEncoderModule,
    compression: cacheCompression,
    valueType: cacheValueType,
  };
};

/** A queue and its DLQ, as the construct creates them. */
export interface QueuePlan {
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
  /** MaximumMessageSize of the queue and its DLQ; SQS's default when undefined. */
  maxMessageBytes: number | undefined;
  dlqRetentionSeconds: number;
}

/** An SQS event source mapping, as the construct creates it (always with ReportBatchItemFailures). */
export interface EventSourcePlan {
  batchSize: number;
  maximumBatchingWindowSeconds: number;
  maximumConcurrency: number;
}

/** Everything the construct decides that the local runtime reproduces. */
export interface LocalDeploymentPlan {
  config: WarmingConfig;
  options: LocalDeploymentOptions;
  functionTimeoutSeconds: Record<FunctionKind, number>;
  queues: { warm: QueuePlan; access: QueuePlan; continuation: QueuePlan };
  eventSources: { consume: EventSourcePlan; track: EventSourcePlan; continuation: EventSourcePlan };
}

/** The resources a deployment's functions are told about. */
export interface LocalResources {
  warmQueueUrl: string;
  warmDlqUrl: string;
  accessDlqUrl: string;
  continuationQueueUrl: string;
  runsTable: string;
  trackerTable: string;
}

/** The construct's fixed settings (infra/ServerlessCacheWarmer.ts); a unit test checks them against a synthesized stack. */
const MAX_RECEIVE_COUNT = 5;
const VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT = 6;
const DLQ_RETENTION_SECONDS = 14 * 24 * 3_600;
const WARM_TIMEOUT_SECONDS = 300;
const TRACK_TIMEOUT_SECONDS = 60;
const CONTROL_TIMEOUT_SECONDS = 30;
const TRACK_EVENT_SOURCE: EventSourcePlan = {
  batchSize: 10,
  maximumBatchingWindowSeconds: 5,
  maximumConcurrency: 2,
};
/** One continuation per warm invocation; the construct sets no maximum concurrency, this is Lambda's least. */
const CONTINUATION_EVENT_SOURCE: EventSourcePlan = {
  batchSize: 1,
  maximumBatchingWindowSeconds: 0,
  maximumConcurrency: 2,
};
const DEFAULTS = {
  consumerTimeoutSeconds: 60,
  consumerBatchSize: 10,
  consumerBatchingWindowSeconds: 1,
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
};

const requireWholeNumber = (setting: string, value: number, min: number, max: number): number => {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new ConfigurationError(setting, `expected a whole number from ${min} to ${max}, got ${value}`);
  return value;
};

/**
 * Resolves the options into the settings the construct would deploy: function timeouts, queue
 * attributes and event source mappings. The consume event source's maximum concurrency is
 * `maxWorkers`, within Lambda's 2–1,000.
 * @throws ConfigurationError naming the option that is out of range.
 */
export const planLocalDeployment = (options: LocalDeploymentOptions): LocalDeploymentPlan => {
  const config = resolveWarmingConfig(options.warming);
  const consumerTimeoutSeconds = requireWholeNumber(
    'consumerTimeoutSeconds',
    options.consumerTimeoutSeconds ?? DEFAULTS.consumerTimeoutSeconds,
    1,
    900,
  );
  return {
    config,
    options,
    functionTimeoutSeconds: {
      warm: WARM_TIMEOUT_SECONDS,
      consume: consumerTimeoutSeconds,
      track: TRACK_TIMEOUT_SECONDS,
      control: CONTROL_TIMEOUT_SECONDS,
    },
    queues: {
      warm: {
        visibilityTimeoutSeconds: VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT * consumerTimeoutSeconds,
        maxReceiveCount: MAX_RECEIVE_COUNT,
        maxMessageBytes: requireWholeNumber(
          'maxMessageBytes',
          options.maxMessageBytes ?? DEFAULTS.maxMessageBytes,
          1_024,
          1_048_576,
        ),
        dlqRetentionSeconds: DLQ_RETENTION_SECONDS,
      },
      access: {
        visibilityTimeoutSeconds: VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT * TRACK_TIMEOUT_SECONDS,
        maxReceiveCount: MAX_RECEIVE_COUNT,
        maxMessageBytes: undefined,
        dlqRetentionSeconds: DLQ_RETENTION_SECONDS,
      },
      continuation: {
        visibilityTimeoutSeconds: VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT * WARM_TIMEOUT_SECONDS,
        maxReceiveCount: MAX_RECEIVE_COUNT,
        maxMessageBytes: undefined,
        dlqRetentionSeconds: DLQ_RETENTION_SECONDS,
      },
    },
    eventSources: {
      consume: {
        batchSize: requireWholeNumber(
          'consumerBatchSize',
          options.consumerBatchSize ?? DEFAULTS.consumerBatchSize,
          1,
          10_000,
        ),
        maximumBatchingWindowSeconds: requireWholeNumber(
          'consumerBatchingWindowSeconds',
          options.consumerBatchingWindowSeconds ?? DEFAULTS.consumerBatchingWindowSeconds,
          0,
          300,
        ),
        maximumConcurrency: Math.min(1_000, Math.max(2, config.maxWorkers)),
      },
      track: TRACK_EVENT_SOURCE,
      continuation: CONTINUATION_EVENT_SOURCE,
    },
  };
};

/**
 * The `CODOMYRMEX_WARMING_*` variables of each function, as the construct sets them: every engine
 * option on every function, and to each function the resources it uses.
 *
 * @example
 * const { consume } = functionEnvironments(planLocalDeployment({ cacheUrl: 'memory://' }), resources);
 */
export const functionEnvironments = (
  plan: LocalDeploymentPlan,
  resources: LocalResources,
): Record<FunctionKind, Record<string, string>> => {
  const { config, options } = plan;
  // How the construct connects a cache given by URL: no AUTH (the local caches have none).
  const cacheConnection = {
    cacheUrl: options.cacheUrl,
    cacheCluster: String(options.cacheCluster ?? false),
    cacheAuth: 'none',
  };
  const { keyTemplate, encoding, encoderModule, compression, valueType } = options.cacheValues ?? {};
  const shared = {
    warmQueueUrl: resources.warmQueueUrl,
    runsTable: resources.runsTable,
    maxMessageBytes: String(plan.queues.warm.maxMessageBytes),
  };
  return {
    warm: functionEnvironment(
      config,
      {
        ...shared,
        trackerTable: resources.trackerTable,
        consumerBatchSize: String(plan.eventSources.consume.batchSize),
        continuationQueueUrl: resources.continuationQueueUrl,
        // A TTL-aware warm asks the cache which keys are due, under their cache keys.
        ...(config.ttlSeconds > 0 ? { ...cacheConnection, cacheKeyTemplate: keyTemplate } : {}),
      },
      options.keySources ? { [KEY_SOURCES_VARIABLE]: JSON.stringify(options.keySources) } : {},
    ),
    consume: functionEnvironment(
      config,
      {
        ...shared,
        warmDlqUrl: resources.warmDlqUrl,
        ...cacheConnection,
        versionField: options.versionField,
        cacheKeyTemplate: keyTemplate,
        cacheEncoding: encoding,
        cacheEncoderModule: encoderModule,
        cacheCompression: compression,
        cacheValueType: valueType,
      },
      options.valueSource ? { [VALUE_SOURCE_VARIABLE]: JSON.stringify(options.valueSource) } : {},
    ),
    track: functionEnvironment(
      config,
      { trackerTable: resources.trackerTable, accessDlqUrl: resources.accessDlqUrl },
      {},
    ),
    control: functionEnvironment(
      config,
      { ...shared, warmDlqUrl: resources.warmDlqUrl, trackerTable: resources.trackerTable },
      {},
    ),
  };
};
