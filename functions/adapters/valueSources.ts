import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from '@aws-sdk/client-lambda';
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type BackoffOptions,
  BatchValueLoader,
  CacheWarmersError,
  ConfigurationError,
  describeError,
  retryWithBackoff,
} from '../core';
import { isRetryableAwsError } from './awsErrors';
import { parseLambdaPayload } from './keySources';

/** A value loader's source answered with an error or with something that is not a set of values. */
export class ValueSourceError extends CacheWarmersError {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ValueSourceError';
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The values of the requested keys in a key → value object or Map. Keys that were not asked for are
 * ignored (never cached by mistake); a key mapped to `null` or `undefined` has no value, because JSON
 * cannot say "absent" any other way.
 */
const valuesOfRequestedKeys = (
  keys: readonly string[],
  values: unknown,
  where: string,
): Map<string, unknown> => {
  const lookup: ((key: string) => unknown) | undefined =
    values instanceof Map
      ? (key) => values.get(key)
      : isPlainObject(values)
        ? (key) => (Object.hasOwn(values, key) ? values[key] : undefined)
        : undefined;
  if (!lookup) {
    const got = values === null ? 'null' : Array.isArray(values) ? 'an array' : typeof values;
    throw new ValueSourceError(`${where} returned ${got}, expected an object of key → value`);
  }
  const found = new Map<string, unknown>();
  for (const key of keys) {
    const value = lookup(key);
    if (value !== undefined && value !== null) found.set(key, value);
  }
  return found;
};

export interface LambdaValueLoaderOptions {
  client: LambdaClient;
  /** Name, ARN or alias ARN of the function that loads values. */
  functionName: string;
}

/**
 * Loads a batch of values with a user's Lambda function: invoked with `{ "keys": [...] }`, it returns
 * a JSON object of key → value; keys left out (or `null`) have no value. A function error fails the
 * batch with the function's own message, and the warmer retries it.
 *
 * @example
 * const loader = new LambdaValueLoader({ client: new LambdaClient({}), functionName: 'load-products' });
 */
export class LambdaValueLoader {
  public readonly kind = 'batch';
  readonly #options: LambdaValueLoaderOptions;

  public constructor(options: LambdaValueLoaderOptions) {
    this.#options = options;
  }

  public async loadMany(keys: readonly string[], signal: AbortSignal): Promise<Map<string, unknown>> {
    const { client, functionName } = this.#options;
    const where = `value source Lambda ${functionName}`;
    let output: InvokeCommandOutput;
    try {
      output = await client.send(
        new InvokeCommand({
          FunctionName: functionName,
          Payload: new TextEncoder().encode(JSON.stringify({ keys })),
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      throw new ValueSourceError(`${where}: invoke failed: ${describeError(error)}`, { cause: error });
    }
    const payload = parseLambdaPayload(output.Payload, output.FunctionError, where, ValueSourceError);
    return valuesOfRequestedKeys(keys, payload, where);
  }
}

const isJsonContentType = (contentType: string | null): boolean =>
  contentType !== null && /^application\/([\w.+-]+\+)?json\b/i.test(contentType);

const readJson = async (response: Response, where: string): Promise<unknown> => {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new ValueSourceError(`${where} answered a body that is not JSON: ${text.slice(0, 80)}`);
  }
};

/** `fetch` that names the request when the origin cannot be reached ("fetch failed" alone says nothing). */
const request = async (url: string, init: RequestInit & { signal: AbortSignal }, where: string) => {
  try {
    return await fetch(url, init);
  } catch (error) {
    // An aborted attempt keeps its reason (a timeout, a cancel), which the warmer reports as such.
    if (init.signal.aborted) throw error;
    const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
    throw new ValueSourceError(`${where} failed: ${describeError(cause)}`, { cause: error });
  }
};

const failOnStatus = async (response: Response, where: string): Promise<void> => {
  if (response.ok) return;
  const body = await response.text().catch(() => '');
  throw new ValueSourceError(
    `${where} answered ${response.status} ${response.statusText}${body ? `: ${body.slice(0, 200)}` : ''}`,
  );
};

/** The placeholder a URL template must contain. */
const KEY_PLACEHOLDER = '{key}';

export interface HttpValueLoaderOptions {
  /** A URL with `{key}` where the URL-encoded key goes, e.g. `https://api.example.com/products/{key}`. */
  urlTemplate: string;
  /** Sent with every request, e.g. an `authorization` header. */
  headers?: Record<string, string>;
}

/**
 * Loads one value per key with `GET` from an HTTP origin. `404` (and `204`) mean the key has no
 * value; any other status outside 2xx fails the key, naming the status. A JSON body
 * (`application/json` or `…+json`) is parsed; any other body is kept as text.
 *
 * @example
 * const loader = new HttpValueLoader({ urlTemplate: 'https://api.example.com/products/{key}' });
 */
export class HttpValueLoader {
  public readonly kind = 'single';
  readonly #options: HttpValueLoaderOptions;

  public constructor(options: HttpValueLoaderOptions) {
    if (!options.urlTemplate.includes(KEY_PLACEHOLDER)) {
      throw new ConfigurationError(
        'urlTemplate',
        `"${options.urlTemplate}" has no ${KEY_PLACEHOLDER} placeholder`,
      );
    }
    this.#options = options;
  }

  public async loadOne(key: string, signal: AbortSignal): Promise<unknown> {
    const url = this.#options.urlTemplate.replaceAll(KEY_PLACEHOLDER, encodeURIComponent(key));
    const where = `GET ${url}`;
    const response = await request(url, { headers: this.#options.headers, signal }, where);
    if (response.status === 404 || response.status === 204) {
      await response.body?.cancel();
      return undefined;
    }
    await failOnStatus(response, where);
    return isJsonContentType(response.headers.get('content-type'))
      ? readJson(response, where)
      : response.text();
  }
}

export interface HttpBatchValueLoaderOptions {
  /** The batch endpoint: it receives `POST { "keys": [...] }` and answers a JSON object of key → value. */
  url: string;
  headers?: Record<string, string>;
}

/**
 * Loads a batch of values with one `POST { "keys": [...] }` to an HTTP endpoint that answers a JSON
 * object of key → value; keys left out (or `null`) have no value. A status outside 2xx fails the batch.
 *
 * @example
 * const loader = new HttpBatchValueLoader({ url: 'https://api.example.com/products:batchGet' });
 */
export class HttpBatchValueLoader {
  public readonly kind = 'batch';
  readonly #options: HttpBatchValueLoaderOptions;

  public constructor(options: HttpBatchValueLoaderOptions) {
    this.#options = options;
  }

  public async loadMany(keys: readonly string[], signal: AbortSignal): Promise<Map<string, unknown>> {
    const { url, headers } = this.#options;
    const where = `POST ${url}`;
    const response = await request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
        body: JSON.stringify({ keys }),
        signal,
      },
      where,
    );
    await failOnStatus(response, where);
    const values = await readJson(response, where);
    return valuesOfRequestedKeys(keys, values, where);
  }
}

/** Keys BatchGetItem accepts per call. */
const BATCH_GET_LIMIT = 100;

/** Retries of the keys DynamoDB leaves unprocessed (throttled, or past the 16 MB response limit). */
export const DEFAULT_UNPROCESSED_KEYS_RETRY: BackoffOptions = {
  maxRetries: 8,
  baseDelayMs: 50,
  maxDelayMs: 2_000,
};

/** DynamoDB still left keys unprocessed when the retries were spent. */
export class UnprocessedKeysError extends ValueSourceError {
  public constructor(tableName: string, unprocessed: number, requested: number, retries: number) {
    super(
      `DynamoDB table ${tableName} left ${unprocessed} of ${requested} keys unprocessed after ${retries} retries`,
    );
    this.name = 'UnprocessedKeysError';
  }
}

export interface DynamoValueLoaderOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** The table's partition key; it holds the cache key. Tables with a sort key are not supported. */
  keyAttribute: string;
  /** The attribute to cache; default the whole item. An item without it has no value. */
  valueAttribute?: string;
  retry?: BackoffOptions;
}

/**
 * Loads a batch of values from a DynamoDB table with BatchGetItem, 100 keys per call, retrying the
 * keys DynamoDB leaves unprocessed with backoff. Keys still unprocessed after the retries fail the
 * batch. The value is the whole item, or one attribute of it.
 *
 * @example
 * const loader = new DynamoValueLoader({
 *   client: DynamoDBDocumentClient.from(new DynamoDBClient({})),
 *   tableName: 'products',
 *   keyAttribute: 'id',
 *   valueAttribute: 'document',
 * });
 */
export class DynamoValueLoader {
  public readonly kind = 'batch';
  readonly #options: DynamoValueLoaderOptions;

  public constructor(options: DynamoValueLoaderOptions) {
    this.#options = options;
  }

  public async loadMany(keys: readonly string[], signal: AbortSignal): Promise<Map<string, unknown>> {
    // BatchGetItem rejects a request that names a key twice.
    const distinct = [...new Set(keys)];
    const values = new Map<string, unknown>();
    for (let start = 0; start < distinct.length; start += BATCH_GET_LIMIT) {
      await this.#loadChunk(distinct.slice(start, start + BATCH_GET_LIMIT), values, signal);
    }
    return values;
  }

  async #loadChunk(keys: string[], values: Map<string, unknown>, signal: AbortSignal): Promise<void> {
    const { client, tableName, keyAttribute, valueAttribute } = this.#options;
    const retry = this.#options.retry ?? DEFAULT_UNPROCESSED_KEYS_RETRY;
    let pending: Record<string, unknown>[] = keys.map((key) => ({ [keyAttribute]: key }));
    await retryWithBackoff(
      async (attempt) => {
        const output = await client.send(
          new BatchGetCommand({
            RequestItems: {
              [tableName]: {
                Keys: pending,
                // Placeholders, because either attribute may be a reserved word.
                ...(valueAttribute && {
                  ProjectionExpression: '#key, #value',
                  ExpressionAttributeNames: { '#key': keyAttribute, '#value': valueAttribute },
                }),
              },
            },
          }),
          { abortSignal: signal },
        );
        for (const item of output.Responses?.[tableName] ?? []) {
          const key: unknown = item[keyAttribute];
          const value: unknown = valueAttribute ? item[valueAttribute] : item;
          if (typeof key === 'string' && value !== undefined) values.set(key, value);
        }
        pending = output.UnprocessedKeys?.[tableName]?.Keys ?? [];
        if (pending.length > 0)
          throw new UnprocessedKeysError(tableName, pending.length, keys.length, attempt);
      },
      {
        ...retry,
        signal,
        shouldRetry: (error) => error instanceof UnprocessedKeysError || isRetryableAwsError(error),
      },
    ).catch((error: unknown) => {
      if (error instanceof ValueSourceError) throw error;
      throw new ValueSourceError(
        `DynamoDB table ${tableName}: BatchGetItem failed: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    });
  }
}

/** What a user's value module must export. */
type LoadValues = (
  keys: string[],
  signal: AbortSignal,
) => Promise<Record<string, unknown> | Map<string, unknown>>;

const findLoadValues = (module: unknown): LoadValues | undefined => {
  if (!isPlainObjectOrModule(module)) return undefined;
  const candidate = module.loadValues ?? (isPlainObjectOrModule(module.default) && module.default.loadValues);
  return typeof candidate === 'function' ? (candidate as LoadValues) : undefined;
};

const isPlainObjectOrModule = (value: unknown): value is Record<string, unknown> =>
  (typeof value === 'object' || typeof value === 'function') && value !== null;

/**
 * Imports a user module that exports `loadValues(keys)` (returning a key → value object or Map; keys
 * left out have no value) and wraps it in a `BatchValueLoader`. A relative path is resolved from the
 * working directory (the function's root in Lambda); a bare name is imported as a package.
 * `loadValues` also receives the attempt's AbortSignal as a second argument.
 *
 * @throws ConfigurationError when the module cannot be imported or has no `loadValues` function.
 *
 * @example
 * const loader = await loadModuleValueLoader('./loaders/products.mjs');
 */
export const loadModuleValueLoader = async (
  modulePath: string,
): Promise<BatchValueLoader<string, unknown>> => {
  const setting = `value module ${modulePath}`;
  const specifier =
    modulePath.startsWith('.') || isAbsolute(modulePath)
      ? pathToFileURL(resolve(modulePath)).href
      : modulePath;
  let module: unknown;
  try {
    module = await import(specifier);
  } catch (error) {
    throw new ConfigurationError(setting, `cannot be imported: ${describeError(error)}`);
  }
  const loadValues = findLoadValues(module);
  if (!loadValues) {
    const exported = isPlainObjectOrModule(module) ? Object.keys(module).join(', ') || 'nothing' : 'nothing';
    throw new ConfigurationError(
      setting,
      `does not export a loadValues(keys) function (it exports ${exported})`,
    );
  }
  const where = `loadValues of ${modulePath}`;
  return new BatchValueLoader<string, unknown>(async (keys, signal) =>
    valuesOfRequestedKeys(keys, await loadValues([...keys], signal), where),
  );
};
