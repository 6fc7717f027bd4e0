import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import {
  type BackoffOptions,
  CacheWarmersError,
  describeError,
  type KeyCandidate,
  type KeyProvider,
  type KeySource,
  retryWithBackoff,
} from '../core';
import { isRetryableAwsError } from './awsErrors';
import { describeIssues, MAX_KEY_BYTES } from './warmMessage';
import * as z from './zod';

/** A key provider could not read its source: the message names the source and what went wrong. */
export class KeySourceError extends CacheWarmersError {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KeySourceError';
  }
}

/**
 * Retries of one request to a key source (a GetObject, a Scan page, an Invoke). Only throttling and
 * server faults are retried: a run has no outer retry for its provider, so a throttled page must not
 * end the run.
 */
export const DEFAULT_KEY_SOURCE_RETRY: BackoffOptions = {
  maxRetries: 5,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
};

const sendWithRetry = <T>(send: () => Promise<T>, retry: BackoffOptions): Promise<T> =>
  retryWithBackoff(send, { ...retry, shouldRetry: isRetryableAwsError });

const awsErrorName = (error: unknown): string | undefined =>
  error instanceof Error && error.name !== 'Error' ? error.name : undefined;

const describeAwsError = (error: unknown): string => {
  const name = awsErrorName(error);
  const message = describeError(error);
  return name && !message.startsWith(name) ? `${name}: ${message}` : message;
};

export interface S3KeyProviderOptions {
  client: S3Client;
  bucket: string;
  /** The object's key: a text file with one cache key per line. */
  key: string;
  retry?: BackoffOptions;
}

/**
 * Provides the keys listed in an S3 object, one per line (UTF-8; `\n` or `\r\n`; blank lines and
 * whitespace around a key are ignored). The object is streamed and keys are yielded as they arrive,
 * so a 100 MB listing never sits in memory as one string.
 *
 * @example
 * const provider = new S3KeyProvider({ client: new S3Client({}), bucket: 'my-bucket', key: 'warm/keys.txt' });
 */
export class S3KeyProvider implements KeyProvider<string> {
  readonly #options: S3KeyProviderOptions;

  public constructor(options: S3KeyProviderOptions) {
    this.#options = options;
  }

  public async getKeys(): Promise<KeySource<KeyCandidate<string>>> {
    return this.#readKeys();
  }

  get #location(): string {
    return `s3://${this.#options.bucket}/${this.#options.key}`;
  }

  async *#readKeys(): AsyncGenerator<string> {
    const body = await this.#open();
    const decoder = new TextDecoder('utf-8');
    let lineNumber = 0;
    let unfinished = '';
    const keyOf = (line: string): string | undefined => {
      lineNumber++;
      if (line.length > MAX_KEY_BYTES) throw this.#lineTooLong(lineNumber);
      const key = line.trim();
      return key === '' ? undefined : key;
    };
    try {
      for await (const chunk of body) {
        const lines = (unfinished + decoder.decode(chunk, { stream: true })).split('\n');
        unfinished = lines.pop() ?? '';
        for (const line of lines) {
          const key = keyOf(line);
          if (key !== undefined) yield key;
        }
        // An object without newlines would otherwise be buffered whole.
        if (unfinished.length > MAX_KEY_BYTES) throw this.#lineTooLong(lineNumber + 1);
      }
    } catch (error) {
      if (error instanceof KeySourceError) throw error;
      throw new KeySourceError(`${this.#location}: reading failed: ${describeAwsError(error)}`, {
        cause: error,
      });
    }
    const key = keyOf(unfinished + decoder.decode());
    if (key !== undefined) yield key;
  }

  #lineTooLong(lineNumber: number): KeySourceError {
    return new KeySourceError(
      `${this.#location}: line ${lineNumber} is longer than ${MAX_KEY_BYTES} bytes, the longest key ` +
        'accepted: is this a newline-delimited list of keys?',
    );
  }

  async #open(): Promise<AsyncIterable<Uint8Array>> {
    const { client, bucket, key, retry = DEFAULT_KEY_SOURCE_RETRY } = this.#options;
    let body: unknown;
    try {
      ({ Body: body } = await sendWithRetry(
        () => client.send(new GetObjectCommand({ Bucket: bucket, Key: key })),
        retry,
      ));
    } catch (error) {
      const name = awsErrorName(error);
      const reason =
        name === 'NoSuchKey'
          ? 'the object does not exist'
          : name === 'NoSuchBucket'
            ? 'the bucket does not exist'
            : describeAwsError(error);
      throw new KeySourceError(`${this.#location}: ${reason}`, { cause: error });
    }
    // Node's SDK gives a Readable, other runtimes a web ReadableStream: both are async iterables of bytes.
    if (typeof body !== 'object' || body === null || !(Symbol.asyncIterator in body)) {
      throw new KeySourceError(`${this.#location}: GetObject returned no readable body`);
    }
    return body as AsyncIterable<Uint8Array>;
  }
}

/** A DynamoDB Query, for reading one partition (or one index partition) instead of the whole table. */
export interface DynamoKeyQuery {
  keyConditionExpression: string;
  expressionAttributeValues: Record<string, unknown>;
  expressionAttributeNames?: Record<string, string>;
}

/** Items a `DynamoKeyProvider` read but could not turn into keys. */
export interface SkippedItemsReport {
  /** Where the items came from, e.g. `DynamoDB table products (index byCategory)`. */
  source: string;
  /** Items without the attribute. */
  missing: number;
  /** Items whose attribute is not a string (a number, a list, …). */
  notString: number;
}

export interface DynamoKeyProviderOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** The attribute holding the cache key; it must be a string. */
  attribute: string;
  indexName?: string;
  /** Query instead of Scan. */
  query?: DynamoKeyQuery;
  /** Items per page (DynamoDB's `Limit`); default: as many as fit in 1 MB. */
  pageSize?: number;
  retry?: BackoffOptions;
  /** Told once per read when items were skipped. */
  onSkippedItems?: (report: SkippedItemsReport) => void;
}

/** The placeholder of the key attribute in the projection; odd enough not to clash with a user's. */
const KEY_ATTRIBUTE_PLACEHOLDER = '#cacheWarmerKey';

/**
 * Provides the values of one string attribute of a DynamoDB table or index, read page by page with
 * Scan, or with Query when `query` is given. Keys are yielded as pages arrive.
 *
 * Items without the attribute (sparse attributes are common in single-table designs) or with a
 * non-string value are skipped, counted and reported to `onSkippedItems`. A read that skipped items
 * and found no key at all fails instead: the attribute name is almost certainly wrong.
 *
 * @example
 * const provider = new DynamoKeyProvider({
 *   client: DynamoDBDocumentClient.from(new DynamoDBClient({})),
 *   tableName: 'products',
 *   attribute: 'cacheKey',
 *   query: { keyConditionExpression: 'tenant = :t', expressionAttributeValues: { ':t': 'acme' } },
 * });
 */
export class DynamoKeyProvider implements KeyProvider<string> {
  readonly #options: DynamoKeyProviderOptions;

  public constructor(options: DynamoKeyProviderOptions) {
    if (options.query?.expressionAttributeNames?.[KEY_ATTRIBUTE_PLACEHOLDER] !== undefined) {
      throw new KeySourceError(
        `DynamoDB table ${options.tableName}: the expression attribute name ${KEY_ATTRIBUTE_PLACEHOLDER} is reserved by the key provider`,
      );
    }
    this.#options = options;
  }

  public async getKeys(): Promise<KeySource<KeyCandidate<string>>> {
    return this.#readKeys();
  }

  get #source(): string {
    const { tableName, indexName } = this.#options;
    return `DynamoDB table ${tableName}${indexName ? ` (index ${indexName})` : ''}`;
  }

  async *#readKeys(): AsyncGenerator<string> {
    const { attribute, onSkippedItems } = this.#options;
    const skipped: SkippedItemsReport = { source: this.#source, missing: 0, notString: 0 };
    let found = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#readPage(startKey);
      for (const item of page.Items ?? []) {
        const key: unknown = item[attribute];
        if (key === undefined) skipped.missing++;
        else if (typeof key !== 'string') skipped.notString++;
        else {
          found++;
          yield key;
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);

    const skippedItems = skipped.missing + skipped.notString;
    if (skippedItems === 0) return;
    if (found === 0) {
      throw new KeySourceError(
        `${this.#source}: none of the ${skippedItems} items read has a string attribute "${attribute}" ` +
          `(${skipped.missing} without it, ${skipped.notString} not a string): is the attribute name right?`,
      );
    }
    onSkippedItems?.(skipped);
  }

  async #readPage(startKey: Record<string, unknown> | undefined) {
    const { client, tableName, indexName, attribute, query, pageSize } = this.#options;
    const common = {
      TableName: tableName,
      IndexName: indexName,
      ExclusiveStartKey: startKey,
      Limit: pageSize,
      // A placeholder, because the attribute may be a reserved word (`name`, `key`, `data`, …).
      ProjectionExpression: KEY_ATTRIBUTE_PLACEHOLDER,
    };
    const names = { ...query?.expressionAttributeNames, [KEY_ATTRIBUTE_PLACEHOLDER]: attribute };
    try {
      return await sendWithRetry(
        () =>
          query
            ? client.send(
                new QueryCommand({
                  ...common,
                  KeyConditionExpression: query.keyConditionExpression,
                  ExpressionAttributeValues: query.expressionAttributeValues,
                  ExpressionAttributeNames: names,
                }),
              )
            : client.send(new ScanCommand({ ...common, ExpressionAttributeNames: names })),
        this.#options.retry ?? DEFAULT_KEY_SOURCE_RETRY,
      );
    } catch (error) {
      throw new KeySourceError(
        `${this.#source}: ${query ? 'Query' : 'Scan'} failed: ${describeAwsError(error)}`,
        { cause: error },
      );
    }
  }
}

const lambdaKeysPageSchema = z.object({
  keys: z.array(
    z.union([
      z.string().check(z.minLength(1, 'a key must not be empty')),
      z.object({
        key: z.string().check(z.minLength(1, 'a key must not be empty')),
        weight: z.number().check(z.refine(Number.isFinite, 'a weight must be a finite number')),
      }),
    ]),
  ),
  nextToken: z.nullish(z.string()),
});

export interface LambdaKeyProviderOptions {
  client: LambdaClient;
  /** Name, ARN or alias ARN of the function that lists the keys. */
  functionName: string;
  /** Pages read at most, a guard against a function that always returns a new `nextToken`. Default 10,000. */
  maxPages?: number;
  retry?: BackoffOptions;
}

/**
 * Provides the keys a user's Lambda function lists, page by page. The function is invoked with
 * `{}` first, then with `{ "nextToken": "…" }` as long as it returns one, and must return
 * `{ "keys": ["a", { "key": "b", "weight": 5 }], "nextToken"?: "…" }`.
 *
 * @example
 * const provider = new LambdaKeyProvider({ client: new LambdaClient({}), functionName: 'list-hot-products' });
 */
export class LambdaKeyProvider implements KeyProvider<string> {
  readonly #options: LambdaKeyProviderOptions;

  public constructor(options: LambdaKeyProviderOptions) {
    this.#options = options;
  }

  public async getKeys(): Promise<KeySource<KeyCandidate<string>>> {
    return this.#readKeys();
  }

  async *#readKeys(): AsyncGenerator<KeyCandidate<string>> {
    const maxPages = this.#options.maxPages ?? 10_000;
    let nextToken: string | undefined;
    for (let page = 1; ; page++) {
      const response = await this.#invoke(page, nextToken);
      yield* response.keys;
      if (!response.nextToken) return;
      if (response.nextToken === nextToken) {
        throw new KeySourceError(
          `${this.#describePage(page)} returned the nextToken it was given ("${nextToken}"), which would never end`,
        );
      }
      if (page >= maxPages) {
        throw new KeySourceError(
          `${this.#describePage(page)} still returned a nextToken after ${maxPages} pages; ` +
            'is the function paginating correctly?',
        );
      }
      nextToken = response.nextToken;
    }
  }

  #describePage(page: number): string {
    return `key source Lambda ${this.#options.functionName} (page ${page})`;
  }

  async #invoke(page: number, nextToken: string | undefined): Promise<z.infer<typeof lambdaKeysPageSchema>> {
    const { client, functionName, retry = DEFAULT_KEY_SOURCE_RETRY } = this.#options;
    const where = this.#describePage(page);
    const output = await sendWithRetry(
      () =>
        client.send(
          new InvokeCommand({
            FunctionName: functionName,
            Payload: new TextEncoder().encode(JSON.stringify(nextToken === undefined ? {} : { nextToken })),
          }),
        ),
      retry,
    ).catch((error: unknown) => {
      throw new KeySourceError(`${where}: invoke failed: ${describeAwsError(error)}`, { cause: error });
    });
    const payload = parseLambdaPayload(output.Payload, output.FunctionError, where, KeySourceError);
    const parsed = lambdaKeysPageSchema.safeParse(payload);
    if (!parsed.success) {
      throw new KeySourceError(
        `${where} returned a malformed response: ${describeIssues(parsed.error)}; ` +
          'expected { "keys": [...], "nextToken"?: "..." }',
      );
    }
    return parsed.data;
  }
}

/**
 * Decodes a Lambda response payload as JSON. A function error (`FunctionError` set, or an
 * `errorMessage` payload from a function that caught and returned its error) and a payload that is not
 * JSON are thrown as `ErrorType`, naming `where` and the function's own message.
 */
export const parseLambdaPayload = (
  payload: Uint8Array | undefined,
  functionError: string | undefined,
  where: string,
  ErrorType: new (message: string) => Error,
): unknown => {
  const text = payload ? new TextDecoder().decode(payload) : '';
  let json: unknown;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    if (functionError) throw new ErrorType(`${where} failed (${functionError}): ${text.slice(0, 200)}`);
    throw new ErrorType(`${where} returned a payload that is not JSON: ${text.slice(0, 80)}`);
  }
  if (typeof json === 'object' && json !== null && 'errorMessage' in json) {
    const { errorType, errorMessage } = json as { errorType?: unknown; errorMessage: unknown };
    const type = typeof errorType === 'string' ? `${errorType}: ` : '';
    throw new ErrorType(`${where} failed: ${type}${String(errorMessage)}`);
  }
  if (functionError) throw new ErrorType(`${where} failed (${functionError}): ${text.slice(0, 200)}`);
  return json;
};

/** One provider of a `CombinedKeyProvider` and how much its keys count. */
export interface WeightedProvider {
  provider: KeyProvider<string>;
  /** Multiplies the weight of every key of the provider (a key without a weight counts 1). Default 1. */
  weight?: number;
}

/**
 * Provides the keys of several providers, read one after the other, each key weighted by its
 * provider: a key's weight is the provider's weight times the key's own weight (1 for a key that has
 * none). A key several providers list is deduplicated later, by `collectWeightedKeys`, and keeps its
 * highest weight.
 *
 * @example
 * const provider = new CombinedKeyProvider([
 *   { provider: new StaticKeyProvider(['home', 'menu']), weight: 1_000 },
 *   { provider: new S3KeyProvider({ client, bucket: 'b', key: 'keys.txt' }), weight: 1 },
 * ]);
 */
export class CombinedKeyProvider implements KeyProvider<string> {
  readonly #providers: readonly WeightedProvider[];

  public constructor(providers: readonly WeightedProvider[]) {
    providers.forEach(({ weight }, index) => {
      if (weight !== undefined && !(Number.isFinite(weight) && weight >= 0)) {
        throw new KeySourceError(`key source ${index}: weight ${weight} must be a finite number ≥ 0`);
      }
    });
    this.#providers = [...providers];
  }

  public async getKeys(): Promise<KeySource<KeyCandidate<string>>> {
    return this.#readKeys();
  }

  async *#readKeys(): AsyncGenerator<KeyCandidate<string>> {
    for (const { provider, weight = 1 } of this.#providers) {
      for await (const candidate of await provider.getKeys()) {
        yield typeof candidate === 'string'
          ? { key: candidate, weight }
          : { key: candidate.key, weight: weight * candidate.weight };
      }
    }
  }
}
