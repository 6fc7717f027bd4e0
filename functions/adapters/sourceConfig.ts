import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  AdaptiveKeyProvider,
  ConfigurationError,
  ENV_PREFIX,
  type HotKeySource,
  type KeyProvider,
  StaticKeyProvider,
  type ValueLoader,
} from '../core';
import { omittedFromBundle } from './bundleParts';
import { type HeaderValue, headersWithSecrets, isPlainHeaders } from './headerSecrets';
import {
  CombinedKeyProvider,
  DynamoKeyProvider,
  LambdaKeyProvider,
  MAX_PARALLEL_READS,
  MAX_SCAN_SEGMENTS,
  S3KeyProvider,
  type SkippedItemsReport,
} from './keySources';
import type { KeySourceConfig, ValueSourceConfig } from './sourceTypes';
import {
  DynamoValueLoader,
  HttpBatchValueLoader,
  type HttpHeaders,
  HttpValueLoader,
  isModuleFilePath,
  LambdaValueLoader,
  loadModuleValueLoader,
} from './valueSources';
import { describeIssues } from './warmMessage';
import * as z from './zod';

/** Where the warm Lambda's key providers are configured: a JSON array of key sources. */
export const KEY_SOURCES_VARIABLE = `${ENV_PREFIX}KEY_SOURCES`;

/** Where the consume Lambda's value loader is configured: one JSON value source. */
export const VALUE_SOURCE_VARIABLE = `${ENV_PREFIX}VALUE_SOURCE`;

const text = z.string().check(z.minLength(1, 'must not be empty'));
const positiveInteger = z.int().check(z.gte(1));
/** How much a source's keys count against the other sources' (see `CombinedKeyProvider`). */
const weight = z.optional(z.number().check(z.gte(0)));
const httpUrl = text.check(z.regex(/^https?:\/\//i, 'must be an http:// or https:// URL'));

/** Parts of a source read at once: objects under an S3 prefix, segments of a DynamoDB scan. */
const parallelReads = z.optional(z.int().check(z.gte(1), z.lte(MAX_PARALLEL_READS)));

const s3KeySourceSchema = z.pipe(
  z.strictObject({
    type: z.literal('s3'),
    bucket: text,
    key: z.optional(text),
    prefix: z.optional(text),
    parallelReads,
    weight,
  }),
  // Narrowed to one shape or the other, so the factory needs no "maybe both" case.
  z.transform(({ key, prefix, parallelReads, ...rest }, context) => {
    if (prefix !== undefined && key === undefined) {
      return { ...rest, prefix, ...(parallelReads === undefined ? {} : { parallelReads }) };
    }
    if (key !== undefined && prefix === undefined && parallelReads === undefined) return { ...rest, key };
    // zod/mini's transform context has no addIssue: the issue is pushed as classic zod's addIssue would.
    context.issues.push({
      code: 'custom',
      message:
        key !== undefined && prefix === undefined
          ? 'parallelReads applies to a prefix (several objects), not to one key'
          : 'set exactly one of key (one object) or prefix (every object under it)',
      input: context.value,
    });
    return z.NEVER;
  }),
);

/** Names the accepted types when `type` is wrong; other problems keep zod's own message. */
const unknownTypeError = (accepted: string) => (issue: { code?: string }) =>
  issue.code === 'invalid_union' ? `type must be one of ${accepted}` : undefined;

const keySourceSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('static'), keys: z.array(text).check(z.minLength(1)), weight }),
    s3KeySourceSchema,
    z
      .strictObject({
        type: z.literal('dynamodb'),
        tableName: text,
        attribute: text,
        indexName: z.optional(text),
        query: z.optional(
          z.strictObject({
            keyConditionExpression: text,
            expressionAttributeValues: z.record(z.string(), z.unknown()),
            expressionAttributeNames: z.optional(z.record(z.string(), z.string())),
          }),
        ),
        segments: z.optional(z.int().check(z.gte(1), z.lte(MAX_SCAN_SEGMENTS))),
        parallelReads,
        weight,
      })
      .check(
        z.refine(({ query, segments = 1 }) => query === undefined || segments === 1, {
          message: 'segments split a Scan; a query reads one partition and takes none',
          path: ['segments'],
        }),
      ),
    z.strictObject({ type: z.literal('lambda'), functionName: text, weight }),
    z.strictObject({
      type: z.literal('adaptive'),
      // The defaults of AccessTracker.getHotKeys, so a bare { "type": "adaptive" } behaves like the library.
      threshold: z._default(z.int().check(z.gte(0)), 5),
      limit: z._default(positiveInteger, 100),
      recentSeconds: z.optional(positiveInteger),
      weight,
    }),
  ],
  { error: unknownTypeError('static, s3, dynamodb, lambda, adaptive') },
);

const keySourcesSchema = z.array(keySourceSchema).check(z.minLength(1, 'list at least one key source'));

export type { KeySourceConfig, ValueSourceConfig } from './sourceTypes';

/** True when each type is assignable to the other. */
type SameShape<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type MustHold<Check extends true> = Check;
/** Does not compile when the schemas and the types of sourceTypes.ts disagree. */
export type SourceTypesMatchSchemas = MustHold<
  [
    SameShape<z.infer<typeof keySourceSchema>, KeySourceConfig>,
    SameShape<z.infer<typeof valueSourceSchema>, ValueSourceConfig>,
  ] extends [true, true]
    ? true
    : false
>;

/** The largest `maxBodyBytes`: Redis's own limit on a string value. */
const MAX_BODY_BYTES_LIMIT = 512 * 1_048_576;

/** A header's value: the text itself (for what is not secret), or a reference to a Secrets Manager secret. */
const headerValueSchema = z.union([
  z.string(),
  z.strictObject({
    secretArn: z
      .string()
      .check(
        z.regex(
          /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/,
          'expected the full ARN of a Secrets Manager secret (ending in its 6-character suffix)',
        ),
      ),
    jsonField: z.optional(text),
    prefix: z.optional(z.string()),
  }),
]);

const httpValueSourceSchema = z.pipe(
  z.strictObject({
    type: z.literal('http'),
    urlTemplate: z.optional(
      httpUrl.check(z.includes('{key}', { message: 'must contain the {key} placeholder' })),
    ),
    batchUrl: z.optional(httpUrl),
    headers: z.optional(z.record(z.string(), headerValueSchema)),
    maxBodyBytes: z.optional(z.int().check(z.gte(1), z.lte(MAX_BODY_BYTES_LIMIT))),
  }),
  // Narrowed to one shape or the other, so the factory needs no "maybe both" case.
  z.transform(({ urlTemplate, batchUrl, ...rest }, context) => {
    if (urlTemplate !== undefined && batchUrl === undefined) return { ...rest, urlTemplate };
    if (batchUrl !== undefined && urlTemplate === undefined) return { ...rest, batchUrl };
    // zod/mini's transform context has no addIssue: the issue is pushed as classic zod's addIssue would.
    context.issues.push({
      code: 'custom',
      message: 'set exactly one of urlTemplate (GET per key) or batchUrl (POST per batch)',
      input: context.value,
    });
    return z.NEVER;
  }),
);

const valueSourceSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('lambda'), functionName: text }),
    httpValueSourceSchema,
    z.strictObject({
      type: z.literal('dynamodb'),
      tableName: text,
      keyAttribute: text,
      valueAttribute: z.optional(text),
    }),
    z.strictObject({
      type: z.literal('module'),
      path: text.check(
        z.refine(
          isModuleFilePath,
          'must be the path of a file (./…, ../… or absolute), not a URL or a package name',
        ),
      ),
    }),
  ],
  { error: unknownTypeError('lambda, http, dynamodb, module') },
);

type Environment = Readonly<Record<string, string | undefined>>;

const parseJsonVariable = <T>(
  env: Environment,
  variable: string,
  schema: z.ZodMiniType<T>,
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

/**
 * The AWS clients sources use, shared by every source of a container. The caller gives the DynamoDB
 * client it holds anyway; the S3 and Lambda clients, which only some sources need, are created on first
 * need when not given, so a function builds (and its bundle carries) only the clients its sources call.
 */
export interface SourceClients {
  s3?: S3Client;
  dynamodb?: DynamoDBDocumentClient;
  lambda?: LambdaClient;
  secretsManager?: SecretsManagerClient;
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
      if (process.env.CODOMYRMEX_BUNDLE_S3 !== 'omitted') {
        clients.s3 ??= new S3Client({});
        const { bucket } = config;
        return new S3KeyProvider(
          'key' in config
            ? { client: clients.s3, bucket, key: config.key }
            : { client: clients.s3, bucket, prefix: config.prefix, parallelReads: config.parallelReads },
        );
      }
      throw omittedFromBundle(KEY_SOURCES_VARIABLE, `${where} needs the S3 client`);
    case 'dynamodb':
      return new DynamoKeyProvider({
        client: requireClient(clients.dynamodb, KEY_SOURCES_VARIABLE, where, 'a DynamoDB document'),
        tableName: config.tableName,
        attribute: config.attribute,
        indexName: config.indexName,
        query: config.query,
        segments: config.segments,
        parallelReads: config.parallelReads,
        onSkippedItems: dependencies.onSkippedItems,
      });
    case 'lambda':
      if (process.env.CODOMYRMEX_BUNDLE_LAMBDA !== 'omitted') {
        clients.lambda ??= new LambdaClient({});
        return new LambdaKeyProvider({ client: clients.lambda, functionName: config.functionName });
      }
      throw omittedFromBundle(KEY_SOURCES_VARIABLE, `${where} needs the Lambda client`);
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
 * @throws ConfigurationError when a source needs the DynamoDB client or the tracker and it was not
 * given, or a client the function's bundle omits.
 *
 * @example
 * const provider = createKeyProvider(parseKeySources(process.env), { dynamodb }, { adaptive: undefined });
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

/** An HTTP source's headers: as given, or read from their secrets (once per container) when some are. */
const httpHeaders = (
  headers: Record<string, HeaderValue> | undefined,
  clients: SourceClients,
): HttpHeaders | undefined => {
  if (headers === undefined || isPlainHeaders(headers)) return headers;
  if (process.env.CODOMYRMEX_BUNDLE_HEADER_SECRETS !== 'omitted') {
    clients.secretsManager ??= new SecretsManagerClient({});
    return headersWithSecrets(headers, clients.secretsManager);
  }
  throw omittedFromBundle(VALUE_SOURCE_VARIABLE, 'http headers from secrets need the Secrets Manager client');
};

/**
 * Builds the consume Lambda's value loader from a parsed value source. Async because a `module`
 * source imports the user's module.
 *
 * @throws ConfigurationError when the source needs the DynamoDB client and it was not given, a client
 * the function's bundle omits, or the module has no `loadValues` export.
 *
 * @example
 * const loader = await createValueLoader(parseValueSource(process.env), { dynamodb });
 */
export const createValueLoader = async (
  config: ValueSourceConfig,
  clients: SourceClients,
): Promise<ValueLoader<string, unknown>> => {
  const where = config.type;
  switch (config.type) {
    case 'lambda':
      if (process.env.CODOMYRMEX_BUNDLE_LAMBDA !== 'omitted') {
        clients.lambda ??= new LambdaClient({});
        return new LambdaValueLoader({ client: clients.lambda, functionName: config.functionName });
      }
      throw omittedFromBundle(VALUE_SOURCE_VARIABLE, `${where} needs the Lambda client`);
    case 'http': {
      const options = { headers: httpHeaders(config.headers, clients), maxBodyBytes: config.maxBodyBytes };
      return 'urlTemplate' in config
        ? new HttpValueLoader({ urlTemplate: config.urlTemplate, ...options })
        : new HttpBatchValueLoader({ url: config.batchUrl, ...options });
    }
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
