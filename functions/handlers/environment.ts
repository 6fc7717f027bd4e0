import * as z from '../adapters/zod';
import { ConfigurationError, ENV_PREFIX, environmentVariableFor, type WarmingConfig } from '../core';

const tableName = z
  .string()
  .check(z.regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'expected a DynamoDB table name (3–255 of a-z A-Z 0-9 _ . -)'));
const url = z.url({ message: 'expected a URL' });
const trueOrFalse = z.pipe(
  z.enum(['true', 'false'], { message: 'expected true or false' }),
  z.transform((text) => text === 'true'),
);
const positiveInteger = (min: number, max: number) =>
  z.pipe(
    z.pipe(
      z.string().check(z.regex(/^\s*\d+\s*$/, `expected a whole number from ${min} to ${max}`)),
      z.transform(Number),
    ),
    z
      .number()
      .check(
        z.gte(min, `expected a whole number from ${min} to ${max}`),
        z.lte(max, `expected a whole number from ${min} to ${max}`),
      ),
  );

/**
 * The resource variables the CDK construct (and the local runtime) set on the functions, beside the
 * `WarmingConfig` options. Every name starts with `CODOMYRMEX_WARMING_`.
 */
const RESOURCES = {
  warmQueueUrl: { variable: 'WARM_QUEUE_URL', schema: url },
  /** The queue of continuation messages that invokes the warm function again to carry a long run on. */
  continuationQueueUrl: { variable: 'CONTINUATION_QUEUE_URL', schema: url },
  warmDlqUrl: { variable: 'WARM_DLQ_URL', schema: url },
  accessDlqUrl: { variable: 'ACCESS_DLQ_URL', schema: url },
  runsTable: { variable: 'RUNS_TABLE', schema: tableName },
  trackerTable: { variable: 'TRACKER_TABLE', schema: tableName },
  /** The warm queue's MaximumMessageSize. */
  maxMessageBytes: { variable: 'MAX_MESSAGE_BYTES', schema: positiveInteger(1_024, 1_048_576) },
  /** Messages the consumer's event source mapping hands one invocation. */
  consumerBatchSize: { variable: 'CONSUMER_BATCH_SIZE', schema: positiveInteger(1, 10_000) },
  /**
   * The cache: `redis://host:port` or `rediss://host:port` (TLS, as ElastiCache Serverless requires);
   * `memory://` is the local runtime's in-process store.
   */
  cacheUrl: {
    variable: 'CACHE_URL',
    schema: z
      .string()
      .check(
        z.regex(
          /^(rediss?:\/\/[^\s/]+|memory:\/\/\S*$)/,
          'expected redis://host:port, rediss://host:port or memory:// (local runtime only)',
        ),
      ),
  },
  /** `true` for a cluster-mode cache (ElastiCache Serverless is one). */
  cacheCluster: {
    variable: 'CACHE_CLUSTER',
    schema: trueOrFalse,
  },
  /**
   * The cache by name (serverless cache or replication group id): its endpoint is looked up, unless
   * CACHE_URL gives it; IAM tokens are signed for it.
   */
  cacheName: {
    variable: 'CACHE_NAME',
    schema: z
      .string()
      .check(
        z.regex(
          /^[A-Za-z][A-Za-z0-9-]{0,39}$/,
          'expected an ElastiCache serverless cache name or replication group id (a letter, then up to 39 letters, digits or hyphens)',
        ),
      ),
  },
  /** `true` when CACHE_NAME is a serverless cache: IAM tokens say so. Looked up when CACHE_URL is not set. */
  cacheServerless: {
    variable: 'CACHE_SERVERLESS',
    schema: trueOrFalse,
  },
  /** How the functions authenticate to the cache: `none`, `token` (from CACHE_SECRET_ARN) or `iam`. */
  cacheAuth: {
    variable: 'CACHE_AUTH',
    schema: z.enum(['none', 'token', 'iam'], { message: 'expected none, token or iam' }),
  },
  /** The Secrets Manager secret that holds the AUTH token (CACHE_AUTH=token). */
  cacheSecretArn: {
    variable: 'CACHE_SECRET_ARN',
    schema: z
      .string()
      .check(
        z.regex(
          /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+$/,
          'expected a Secrets Manager secret ARN',
        ),
      ),
  },
  /** The ElastiCache user id for IAM auth, or the ACL user name for token auth (default: `default`). */
  cacheUser: {
    variable: 'CACHE_USER',
    schema: z
      .string()
      .check(z.regex(/^[^\s]{1,128}$/, 'expected a user name (up to 128 characters, no spaces)')),
  },
  /** The cache key of each warm key, `{key}` marking where it goes (e.g. `app:v3:{key}`). Default `{key}`. */
  cacheKeyTemplate: {
    variable: 'CACHE_KEY_TEMPLATE',
    schema: z
      .string()
      .check(
        z.regex(
          /\{key\}/,
          'expected a key template holding {key} where the warm key goes, e.g. app:v3:{key}',
        ),
      ),
  },
  /** How values are encoded: `json` (default: strings and bytes as they are, else JSON), `msgpack` or `module`. */
  cacheEncoding: {
    variable: 'CACHE_ENCODING',
    schema: z.enum(['json', 'msgpack', 'module'], { message: 'expected json, msgpack or module' }),
  },
  /** With CACHE_ENCODING=module: the path of the module exporting `encode(key, value)` (and `decode`). */
  cacheEncoderModule: {
    variable: 'CACHE_ENCODER_MODULE',
    schema: z
      .string()
      .check(
        z.regex(
          /^(\.{1,2}\/|\/)\S+$/,
          'expected a file path starting with ./, ../ or / (the module bundled beside the handler)',
        ),
      ),
  },
  /** Compression of the encoded values: `none` (default), `gzip`, `brotli` or `zstd` (where Node has it). */
  cacheCompression: {
    variable: 'CACHE_COMPRESSION',
    schema: z.enum(['none', 'gzip', 'brotli', 'zstd'], { message: 'expected none, gzip, brotli or zstd' }),
  },
  /** `string` (default): one Redis string per value; `hash`: an object's fields as a Redis hash. */
  cacheValueType: {
    variable: 'CACHE_VALUE_TYPE',
    schema: z.enum(['string', 'hash'], { message: 'expected string or hash' }),
  },
  /** Field of a loaded value that holds its version; when set, writes never replace a newer version. */
  versionField: {
    variable: 'VERSION_FIELD',
    schema: z.string().check(z.regex(/^[A-Za-z_$][\w$]*$/, 'expected a field name')),
  },
} as const;

type Resources = { [Name in keyof typeof RESOURCES]: z.output<(typeof RESOURCES)[Name]['schema']> };
export type ResourceName = keyof Resources;

/** `warmQueueUrl` → `CODOMYRMEX_WARMING_WARM_QUEUE_URL`. */
export const resourceVariable = (name: ResourceName): string => ENV_PREFIX + RESOURCES[name].variable;

/**
 * Reads the resource variables a function needs (`required`) and may use (`optional`), once, at
 * cold start. @throws ConfigurationError naming the variable that is missing or malformed.
 *
 * @example
 * const { warmQueueUrl, runsTable } = readResources(process.env, ['warmQueueUrl', 'runsTable']);
 */
export const readResources = <Required extends ResourceName, Optional extends ResourceName = never>(
  env: Record<string, string | undefined>,
  required: readonly Required[],
  optional: readonly Optional[] = [],
): Pick<Resources, Required> & Partial<Pick<Resources, Optional>> => {
  const resources: Partial<Resources> = {};
  for (const name of [...required, ...optional]) {
    const variable = resourceVariable(name);
    const text = env[variable];
    if (text === undefined || text.trim() === '') {
      if ((required as readonly ResourceName[]).includes(name))
        throw new ConfigurationError(variable, 'is required but not set');
      continue;
    }
    const parsed = RESOURCES[name].schema.safeParse(text.trim());
    if (!parsed.success) {
      throw new ConfigurationError(
        variable,
        `${parsed.error.issues[0]?.message ?? 'is malformed'}, got ${JSON.stringify(text)}`,
      );
    }
    Object.assign(resources, { [name]: parsed.data });
  }
  return resources as Pick<Resources, Required> & Partial<Pick<Resources, Optional>>;
};

/** The variables that name these resources, e.g. `{ cacheUrl }` → `CODOMYRMEX_WARMING_CACHE_URL`. */
export const resourceVariables = (
  resources: Partial<Record<ResourceName, string>>,
): Record<string, string> => {
  const variables: Record<string, string> = {};
  for (const [resource, value] of Object.entries(resources))
    if (value !== undefined) variables[resourceVariable(resource as ResourceName)] = value;
  return variables;
};

/**
 * The variables a function is given, by the construct and by the local runtime alike: every engine
 * option, the resources it uses, and `extra` (its sources).
 */
export const functionEnvironment = (
  config: WarmingConfig,
  resources: Partial<Record<ResourceName, string>>,
  extra: Record<string, string>,
): Record<string, string> => {
  const environment: Record<string, string> = { ...extra };
  for (const setting of Object.keys(config) as (keyof WarmingConfig)[])
    environment[environmentVariableFor(setting)] = String(config[setting]);
  return { ...environment, ...resourceVariables(resources) };
};
