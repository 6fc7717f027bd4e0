import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  AdaptiveKeyProvider,
  ConfigurationError,
  ENV_PREFIX,
  type HotKeySource,
  type KeyProvider,
  StaticKeyProvider,
  type ValueLoader,
} from '../core';
import {
  CombinedKeyProvider,
  DynamoKeyProvider,
  LambdaKeyProvider,
  S3KeyProvider,
  type SkippedItemsReport,
} from './keySources';
import {
  DynamoValueLoader,
  HttpBatchValueLoader,
  HttpValueLoader,
  LambdaValueLoader,
  loadModuleValueLoader,
} from './valueSources';
import { describeIssues } from './warmMessage';

/** Where the warm Lambda's key providers are configured: a JSON array of key sources. */
export const KEY_SOURCES_VARIABLE = `${ENV_PREFIX}KEY_SOURCES`;

/** Where the consume Lambda's value loader is configured: one JSON value source. */
export const VALUE_SOURCE_VARIABLE = `${ENV_PREFIX}VALUE_SOURCE`;

const text = z.string().min(1, 'must not be empty');
const positiveInteger = z.number().int().min(1);
/** How much a source's keys count against the other sources' (see `CombinedKeyProvider`). */
const weight = z.number().min(0).optional();
const httpUrl = text.regex(/^https?:\/\//i, 'must be an http:// or https:// URL');

/** Names the accepted types when `type` is wrong; other problems keep zod's own message. */
const unknownTypeError = (accepted: string) => (issue: { code?: string }) =>
  issue.code === 'invalid_union' ? `type must be one of ${accepted}` : undefined;

const keySourceSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('static'), keys: z.array(text).min(1), weight }),
    z.strictObject({ type: z.literal('s3'), bucket: text, key: text, weight }),
    z.strictObject({
      type: z.literal('dynamodb'),
      tableName: text,
      attribute: text,
      indexName: text.optional(),
      query: z
        .strictObject({
          keyConditionExpression: text,
          expressionAttributeValues: z.record(z.string(), z.unknown()),
          expressionAttributeNames: z.record(z.string(), z.string()).optional(),
        })
        .optional(),
      weight,
    }),
    z.strictObject({ type: z.literal('lambda'), functionName: text, weight }),
    z.strictObject({
      type: z.literal('adaptive'),
      // The defaults of AccessTracker.getHotKeys, so a bare { "type": "adaptive" } behaves like the library.
      threshold: z.number().int().min(0).default(5),
      limit: positiveInteger.default(100),
      recentSeconds: positiveInteger.optional(),
      weight,
    }),
  ],
  { error: unknownTypeError('static, s3, dynamodb, lambda, adaptive') },
);

const keySourcesSchema = z.array(keySourceSchema).min(1, 'list at least one key source');

/** One key source of `CODOMYRMEX_WARMING_KEY_SOURCES`. */
export type KeySourceConfig = z.infer<typeof keySourceSchema>;

const httpValueSourceSchema = z
  .strictObject({
    type: z.literal('http'),
    urlTemplate: httpUrl.includes('{key}', { message: 'must contain the {key} placeholder' }).optional(),
    batchUrl: httpUrl.optional(),
    headers: z.record(z.string(), z.string()).optional(),
  })
  // Narrowed to one shape or the other, so the factory needs no "maybe both" case.
  .transform(({ urlTemplate, batchUrl, ...rest }, context) => {
    if (urlTemplate !== undefined && batchUrl === undefined) return { ...rest, urlTemplate };
    if (batchUrl !== undefined && urlTemplate === undefined) return { ...rest, batchUrl };
    context.addIssue({
      code: 'custom',
      message: 'set exactly one of urlTemplate (GET per key) or batchUrl (POST per batch)',
    });
    return z.NEVER;
  });

const valueSourceSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('lambda'), functionName: text }),
    httpValueSourceSchema,
    z.strictObject({
      type: z.literal('dynamodb'),
      tableName: text,
      keyAttribute: text,
      valueAttribute: text.optional(),
    }),
    z.strictObject({ type: z.literal('module'), path: text }),
  ],
  { error: unknownTypeError('lambda, http, dynamodb, module') },
);

/** The value source of `CODOMYRMEX_WARMING_VALUE_SOURCE`. */
export type ValueSourceConfig = z.infer<typeof valueSourceSchema>;

type Environment = Readonly<Record<string, string | undefined>>;

const parseJsonVariable = <T>(
  env: Environment,
  variable: string,
  schema: z.ZodType<T>,
  example: string,
): T | undefined => {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new ConfigurationError(
      variable,
      `is not valid JSON (${error instanceof Error ? error.message : String(error)}); expected e.g. ${example}`,
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ConfigurationError(variable, describeIssues(parsed.error));
  return parsed.data;
};

/**
 * Reads the key sources of the warm Lambda from `CODOMYRMEX_WARMING_KEY_SOURCES`, a JSON array.
 * Unset means none: the warm Lambda then warms only the keys it is invoked with (or the adaptive ones).
 *
 * @throws ConfigurationError naming the variable and the JSON path of the first problem.
 *
 * @example
 * const sources = parseKeySources({
 *   CODOMYRMEX_WARMING_KEY_SOURCES: '[{ "type": "s3", "bucket": "b", "key": "keys.txt", "weight": 2 }]',
 * });
 */
export const parseKeySources = (env: Environment): KeySourceConfig[] =>
  parseJsonVariable(
    env,
    KEY_SOURCES_VARIABLE,
    keySourcesSchema,
    '[{ "type": "static", "keys": ["home"] }, { "type": "s3", "bucket": "b", "key": "keys.txt" }]',
  ) ?? [];

/**
 * Reads the consume Lambda's value source from `CODOMYRMEX_WARMING_VALUE_SOURCE`, a JSON object.
 *
 * @throws ConfigurationError when the variable is unset, or naming the JSON path of the first problem.
 *
 * @example
 * const source = parseValueSource({
 *   CODOMYRMEX_WARMING_VALUE_SOURCE: '{ "type": "http", "urlTemplate": "https://api.example.com/items/{key}" }',
 * });
 */
export const parseValueSource = (env: Environment): ValueSourceConfig => {
  const example = '{ "type": "lambda", "functionName": "load-values" }';
  const source = parseJsonVariable(env, VALUE_SOURCE_VARIABLE, valueSourceSchema, example);
  if (!source) throw new ConfigurationError(VALUE_SOURCE_VARIABLE, `is not set; expected e.g. ${example}`);
  return source;
};

/** The AWS clients sources use, created once per container by the caller. */
export interface SourceClients {
  s3?: S3Client;
  dynamodb?: DynamoDBDocumentClient;
  lambda?: LambdaClient;
}

export interface KeyProviderDependencies {
  /** The tracker behind `adaptive` sources; `undefined` when the deployment has none. */
  adaptive: HotKeySource<string> | undefined;
  /** Told when a DynamoDB source skipped items without a string key attribute. */
  onSkippedItems?: (report: SkippedItemsReport) => void;
}

const requireClient = <C>(client: C | undefined, variable: string, where: string, name: string): C => {
  if (!client) throw new ConfigurationError(variable, `${where} needs ${name} client, and none was given`);
  return client;
};

const createOneKeyProvider = (
  config: KeySourceConfig,
  index: number,
  clients: SourceClients,
  dependencies: KeyProviderDependencies,
): KeyProvider<string> => {
  const where = `${index} (${config.type})`;
  switch (config.type) {
    case 'static':
      return new StaticKeyProvider(config.keys);
    case 's3':
      return new S3KeyProvider({
        client: requireClient(clients.s3, KEY_SOURCES_VARIABLE, where, 'an S3'),
        bucket: config.bucket,
        key: config.key,
      });
    case 'dynamodb':
      return new DynamoKeyProvider({
        client: requireClient(clients.dynamodb, KEY_SOURCES_VARIABLE, where, 'a DynamoDB document'),
        tableName: config.tableName,
        attribute: config.attribute,
        indexName: config.indexName,
        query: config.query,
        onSkippedItems: dependencies.onSkippedItems,
      });
    case 'lambda':
      return new LambdaKeyProvider({
        client: requireClient(clients.lambda, KEY_SOURCES_VARIABLE, where, 'a Lambda'),
        functionName: config.functionName,
      });
    case 'adaptive': {
      const tracker = dependencies.adaptive;
      if (!tracker) {
        throw new ConfigurationError(
          KEY_SOURCES_VARIABLE,
          `${where}: an adaptive source needs the access tracker table, and this deployment has none`,
        );
      }
      return new AdaptiveKeyProvider(tracker, {
        threshold: config.threshold,
        limit: config.limit,
        recentSeconds: config.recentSeconds,
      });
    }
  }
};

/**
 * Builds the warm Lambda's key provider from parsed key sources: every source combined, each with its
 * weight (default 1), in a `CombinedKeyProvider`.
 *
 * @throws ConfigurationError when a source needs a client or a tracker that was not given.
 *
 * @example
 * const provider = createKeyProvider(parseKeySources(process.env), { s3: new S3Client({}) }, { adaptive: undefined });
 */
export const createKeyProvider = (
  configs: readonly KeySourceConfig[],
  clients: SourceClients,
  dependencies: KeyProviderDependencies,
): KeyProvider<string> =>
  new CombinedKeyProvider(
    configs.map((config, index) => ({
      provider: createOneKeyProvider(config, index, clients, dependencies),
      weight: config.weight,
    })),
  );

/**
 * Builds the consume Lambda's value loader from a parsed value source. Async because a `module`
 * source imports the user's module.
 *
 * @throws ConfigurationError when the source needs a client that was not given, or the module has no
 * `loadValues` export.
 *
 * @example
 * const loader = await createValueLoader(parseValueSource(process.env), { lambda: new LambdaClient({}) });
 */
export const createValueLoader = async (
  config: ValueSourceConfig,
  clients: SourceClients,
): Promise<ValueLoader<string, unknown>> => {
  const where = config.type;
  switch (config.type) {
    case 'lambda':
      return new LambdaValueLoader({
        client: requireClient(clients.lambda, VALUE_SOURCE_VARIABLE, where, 'a Lambda'),
        functionName: config.functionName,
      });
    case 'http':
      return 'urlTemplate' in config
        ? new HttpValueLoader({ urlTemplate: config.urlTemplate, headers: config.headers })
        : new HttpBatchValueLoader({ url: config.batchUrl, headers: config.headers });
    case 'dynamodb':
      return new DynamoValueLoader({
        client: requireClient(clients.dynamodb, VALUE_SOURCE_VARIABLE, where, 'a DynamoDB document'),
        tableName: config.tableName,
        keyAttribute: config.keyAttribute,
        valueAttribute: config.valueAttribute,
      });
    case 'module':
      return loadModuleValueLoader(config.path);
  }
};
