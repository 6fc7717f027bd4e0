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
import {
  DEFAULT_MAX_BODY_BYTES,
  type OriginRequest,
  OriginRequestError,
  type OriginResponse,
  redactSecrets,
  redactUrl,
  requestOrigin,
  urlSecrets,
} from './originRequest';

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

const parseJson = (body: Buffer, where: string): unknown => {
  const text = body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new ValueSourceError(`${where} answered a body that is not JSON: ${text.slice(0, 80)}`);
  }
};

/** Header values as the loader sends them: given, or resolved (from secrets) when first needed. */
export type HttpHeaders = Record<string, string> | (() => Promise<Record<string, string>>);

const resolveHeaders = async (headers: HttpHeaders | undefined): Promise<Record<string, string>> =>
  typeof headers === 'function' ? headers() : (headers ?? {});

/**
 * Sends a request and fails, naming it, on a status outside 2xx and `alsoAccepted`. The reason never
 * shows the URL's query string or credentials, nor a secret the origin's body may echo.
 */
const send = async (
  request: Omit<OriginRequest, 'headers'> & { headers: Record<string, string> },
  where: string,
  secrets: readonly string[],
  alsoAccepted: readonly number[] = [],
): Promise<OriginResponse> => {
  const allSecrets = [...secrets, ...Object.values(request.headers)];
  let response: OriginResponse;
  try {
    response = await requestOrigin(request, where);
  } catch (error) {
    if (error instanceof OriginRequestError)
      throw new ValueSourceError(redactSecrets(error.message, allSecrets), { cause: error });
    throw error;
  }
  if ((response.status >= 200 && response.status < 300) || alsoAccepted.includes(response.status))
    return response;
  const excerpt = redactSecrets(response.body.subarray(0, 200).toString('utf8'), allSecrets);
  throw new ValueSourceError(
    `${where} answered ${response.status} ${response.statusText}${excerpt ? `: ${excerpt}` : ''}`,
  );
};

/** The statuses by which an origin says a key has no value. */
const NO_VALUE_STATUSES: readonly number[] = [404, 204];

/** The placeholder a URL template must contain. */
const KEY_PLACEHOLDER = '{key}';

/**
 * A key as one path segment (or query value): URL-encoded, and `.` / `..` with their dots encoded too,
 * so that a key never becomes a dot-segment that names the current or parent path.
 */
export const encodeKeyForUrl = (key: string): string => {
  const encoded = encodeURIComponent(key);
  return encoded === '.' || encoded === '..' ? encoded.replaceAll('.', '%2E') : encoded;
};

/** A URL template split around its `{key}` placeholders, with the origin apart (no key can reach it). */
interface UrlTemplate {
  origin: string;
  /** The path and query around each placeholder: the request's path is `pieces.join(encodedKey)`. */
  pieces: string[];
  /** What reasons show of the template: its origin and path, never its query or credentials. */
  display: string;
  /** The template's own secrets (query values), redacted wherever an origin echoes them. */
  secrets: string[];
}

const parseUrlTemplate = (template: string, setting: string): UrlTemplate => {
  let url: URL;
  try {
    url = new URL(template);
  } catch {
    throw new ConfigurationError(setting, `${redactUrl(template)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigurationError(setting, `must be an http:// or https:// URL, got ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new ConfigurationError(
      setting,
      `${redactUrl(url)} carries credentials; send them in a header, its value read from a secret`,
    );
  }
  // The parser escapes the braces in a path, not in a query.
  const pathAndQuery = `${url.pathname}${url.search}`.replaceAll('%7Bkey%7D', KEY_PLACEHOLDER);
  return {
    origin: url.origin,
    pieces: pathAndQuery.split(KEY_PLACEHOLDER),
    display: redactUrl(url).replaceAll('%7Bkey%7D', KEY_PLACEHOLDER),
    secrets: urlSecrets(url).filter((value) => !value.includes(KEY_PLACEHOLDER)),
  };
};

interface HttpOptions {
  /** Sent with every request, e.g. an `authorization` header; a function is called before each one. */
  headers?: HttpHeaders;
  /**
   * The largest response body read, in bytes: a larger one fails (the key, or the batch) with the
   * reason, unread. @default 8 MiB
   */
  maxBodyBytes?: number;
}

export interface HttpValueLoaderOptions extends HttpOptions {
  /** A URL with `{key}` where the URL-encoded key goes, e.g. `https://api.example.com/products/{key}`. */
  urlTemplate: string;
}

/**
 * Loads one value per key with `GET` from an HTTP origin: the value is the response body, byte for
 * byte, as a Buffer (the cache then holds exactly what the origin served). `404` (and `204`) mean the
 * key has no value; any other status outside 2xx fails the key, naming the status. Redirects are
 * followed within the origin only; a body over `maxBodyBytes` fails the key.
 *
 * @example
 * const loader = new HttpValueLoader({ urlTemplate: 'https://api.example.com/products/{key}' });
 */
export class HttpValueLoader {
  public readonly kind = 'single';
  readonly #template: UrlTemplate;
  readonly #options: HttpValueLoaderOptions;

  public constructor(options: HttpValueLoaderOptions) {
    this.#template = parseUrlTemplate(options.urlTemplate, 'urlTemplate');
    if (this.#template.pieces.length < 2) {
      throw new ConfigurationError(
        'urlTemplate',
        `${this.#template.display} has no ${KEY_PLACEHOLDER} placeholder in its path or query`,
      );
    }
    this.#options = options;
  }

  public async loadOne(key: string, signal: AbortSignal): Promise<Buffer | undefined> {
    const { origin, pieces, display, secrets } = this.#template;
    const where = `GET ${display.replaceAll(KEY_PLACEHOLDER, encodeKeyForUrl(key))}`;
    const response = await send(
      {
        method: 'GET',
        origin,
        path: pieces.join(encodeKeyForUrl(key)),
        headers: await resolveHeaders(this.#options.headers),
        signal,
        maxBodyBytes: this.#options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      },
      where,
      secrets,
      NO_VALUE_STATUSES,
    );
    return NO_VALUE_STATUSES.includes(response.status) ? undefined : response.body;
  }
}

export interface HttpBatchValueLoaderOptions extends HttpOptions {
  /** The batch endpoint: it receives `POST { "keys": [...] }` and answers a JSON object of key → value. */
  url: string;
}

/**
 * Loads a batch of values with one `POST { "keys": [...] }` to an HTTP endpoint that answers a JSON
 * object of key → value; keys left out (or `null`) have no value. A status outside 2xx fails the batch.
 * Redirects are followed within the origin only; a body over `maxBodyBytes` fails the batch.
 *
 * @example
 * const loader = new HttpBatchValueLoader({ url: 'https://api.example.com/products:batchGet' });
 */
export class HttpBatchValueLoader {
  public readonly kind = 'batch';
  readonly #url: UrlTemplate;
  readonly #options: HttpBatchValueLoaderOptions;

  public constructor(options: HttpBatchValueLoaderOptions) {
    this.#url = parseUrlTemplate(options.url, 'url');
    this.#options = options;
  }

  public async loadMany(keys: readonly string[], signal: AbortSignal): Promise<Map<string, unknown>> {
    const { origin, pieces, display, secrets } = this.#url;
    const where = `POST ${display}`;
    const response = await send(
      {
        method: 'POST',
        origin,
        path: pieces.join(KEY_PLACEHOLDER),
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(await resolveHeaders(this.#options.headers)),
        },
        body: JSON.stringify({ keys }),
        signal,
        maxBodyBytes: this.#options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      },
      where,
      secrets,
    );
    return valuesOfRequestedKeys(keys, parseJson(response.body, where), where);
  }
}

/**
 * An unmarshalled DynamoDB value as plain JSON data: the document client's Sets become arrays and its
 * binary values base64 text, as JSON.stringify would otherwise write `{}` and index → byte objects.
 */
const asPlainJson = (value: unknown): unknown => {
  if (value instanceof Set) return [...value].map(asPlainJson);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(asPlainJson);
  if (isPlainObject(value))
    return Object.fromEntries(Object.entries(value).map(([name, field]) => [name, asPlainJson(field)]));
  return value;
};

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
 * batch. The value is the whole item, or one attribute of it, unmarshalled to plain JSON data (sets
 * as arrays, binary as base64), so the cache holds the item as JSON.
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
          if (typeof key === 'string' && value !== undefined) values.set(key, asPlainJson(value));
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

/** A file path, relative (`./`, `../`) or absolute: never a URL (`data:`, `https:`, `file:`) or a package name. */
export const isModuleFilePath = (path: string): boolean =>
  path.startsWith('./') || path.startsWith('../') || isAbsolute(path);

/**
 * Imports a user module that exports `loadValues(keys)` (returning a key → value object or Map; keys
 * left out have no value) and wraps it in a `BatchValueLoader`. The module is a file: a relative path
 * is resolved from the working directory (the function's root in Lambda, where the construct bundles
 * it); URLs (a `data:` URL is code) and package names are refused. `loadValues` also receives the
 * attempt's AbortSignal as a second argument.
 *
 * @throws ConfigurationError when the path is not a file path, the module cannot be imported or has
 * no `loadValues` function.
 *
 * @example
 * const loader = await loadModuleValueLoader('./loaders/products.mjs');
 */
export const loadModuleValueLoader = async (
  modulePath: string,
): Promise<BatchValueLoader<string, unknown>> => {
  const setting = `value module ${modulePath.slice(0, 80)}`;
  if (!isModuleFilePath(modulePath)) {
    throw new ConfigurationError(
      setting,
      'must be the path of a file (./…, ../… or absolute), not a URL or a package name',
    );
  }
  let module: unknown;
  try {
    module = await import(pathToFileURL(resolve(modulePath)).href);
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
