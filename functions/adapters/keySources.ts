import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import {
  type BackoffOptions,
  CacheWarmersError,
  describeError,
  type KeyCandidate,
  type KeyProvider,
  type KeyReader,
  type KeySource,
  readKeysFrom,
  retryWithBackoff,
  type SourcePosition,
  SourcePositionError,
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
 * so a 100 MB listing never sits in memory as one string. A read's position is the byte offset after
 * its last key; a read resumed there asks S3 for the rest of the object only (a ranged GetObject).
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
    return this.readKeys();
  }

  public readKeys(position?: SourcePosition): KeyReader<string> {
    if (position !== undefined && !(Number.isSafeInteger(position) && (position as number) >= 0)) {
      throw new SourcePositionError(
        `${this.#location}: cannot resume at ${JSON.stringify(position)}: expected a byte offset`,
      );
    }
    const read = { offset: (position as number | undefined) ?? 0 };
    return { position: () => read.offset, [Symbol.asyncIterator]: () => this.#readKeys(read) };
  }

  get #location(): string {
    return `s3://${this.#options.bucket}/${this.#options.key}`;
  }

  /** Yields the keys from `read.offset` on, moving it past each key's line as the key is yielded. */
  async *#readKeys(read: { offset: number }): AsyncGenerator<string> {
    const from = read.offset;
    const body = await this.#open(from);
    if (!body) return;
    let lineNumber = 0;
    let unfinished: Buffer = Buffer.alloc(0);
    const tooLong = () => this.#lineTooLong(lineNumber + 1, from);
    try {
      for await (const chunk of body) {
        const bytes = unfinished.length > 0 ? Buffer.concat([unfinished, chunk]) : Buffer.from(chunk);
        let lineStart = 0;
        for (let end = bytes.indexOf(NEWLINE); end !== -1; end = bytes.indexOf(NEWLINE, lineStart)) {
          if (end - lineStart > MAX_KEY_BYTES) throw tooLong();
          const key = bytes.toString('utf8', lineStart, end).trim();
          lineNumber++;
          read.offset += end + 1 - lineStart;
          lineStart = end + 1;
          if (key !== '') yield key;
        }
        unfinished = bytes.subarray(lineStart);
        // An object without newlines would otherwise be buffered whole.
        if (unfinished.length > MAX_KEY_BYTES) throw tooLong();
      }
    } catch (error) {
      if (error instanceof KeySourceError) throw error;
      throw new KeySourceError(`${this.#location}: reading failed: ${describeAwsError(error)}`, {
        cause: error,
      });
    }
    const key = unfinished.toString('utf8').trim();
    read.offset += unfinished.length;
    if (key !== '') yield key;
  }

  #lineTooLong(lineNumber: number, from: number): KeySourceError {
    const where = from === 0 ? `line ${lineNumber}` : `line ${lineNumber} after byte ${from}`;
    return new KeySourceError(
      `${this.#location}: ${where} is longer than ${MAX_KEY_BYTES} bytes, the longest key ` +
        'accepted: is this a newline-delimited list of keys?',
    );
  }

  /** The object's body from byte `from` on; nothing when `from` is at or past its end. */
  async #open(from: number): Promise<AsyncIterable<Uint8Array> | undefined> {
    const { client, bucket, key, retry = DEFAULT_KEY_SOURCE_RETRY } = this.#options;
    let body: unknown;
    try {
      ({ Body: body } = await sendWithRetry(
        () =>
          client.send(
            new GetObjectCommand({
              Bucket: bucket,
              Key: key,
              Range: from > 0 ? `bytes=${from}-` : undefined,
            }),
          ),
        retry,
      ));
    } catch (error) {
      const name = awsErrorName(error);
      // A resumed read that had reached the end: S3 answers 416 for a range past the last byte.
      if (name === 'InvalidRange') return undefined;
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

const NEWLINE = 0x0a;

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
    return this.readKeys();
  }

  /**
   * Reads from `position`: the `ExclusiveStartKey` of a page (null for the first) and how many of
   * its items were read, so a resumed read asks for that page again and skips them.
   */
  public readKeys(position?: SourcePosition): KeyReader<string> {
    const read = parsePagePosition(position, 'page', this.#source);
    return { position: () => ({ ...read }), [Symbol.asyncIterator]: () => this.#readKeys(read) };
  }

  get #source(): string {
    const { tableName, indexName } = this.#options;
    return `DynamoDB table ${tableName}${indexName ? ` (index ${indexName})` : ''}`;
  }

  /** Yields the keys from `read` on, moving it past each item as its key is yielded. */
  async *#readKeys(read: PagePosition): AsyncGenerator<string> {
    const { attribute, onSkippedItems } = this.#options;
    const skipped: SkippedItemsReport = { source: this.#source, missing: 0, notString: 0 };
    let found = 0;
    for (;;) {
      const page = await this.#readPage((read.page ?? undefined) as Record<string, unknown> | undefined);
      const items = page.Items ?? [];
      for (let index = read.item; index < items.length; index++) {
        const key: unknown = (items[index] as Record<string, unknown>)[attribute];
        read.item = index + 1;
        if (key === undefined) skipped.missing++;
        else if (typeof key !== 'string') skipped.notString++;
        else {
          found++;
          yield key;
        }
      }
      if (!page.LastEvaluatedKey) break;
      read.page = page.LastEvaluatedKey as SourcePosition;
      read.item = 0;
    }

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
  nextCursor: z.nullish(z.string()),
});

export interface LambdaKeyProviderOptions {
  client: LambdaClient;
  /** Name, ARN or alias ARN of the function that lists the keys. */
  functionName: string;
  /** Pages read at most, a guard against a function that always returns a new `nextCursor`. Default 10,000. */
  maxPages?: number;
  retry?: BackoffOptions;
}

/**
 * Provides the keys a user's Lambda function lists, page by page. The function is invoked with
 * `{}` first, then with `{ "cursor": "…" }` as long as it returns a `nextCursor`, and must return
 * `{ "keys": ["a", { "key": "b", "weight": 5 }], "nextCursor"?: "…" }`. Asked for the same cursor
 * again, it must return the same page: a run that continues in another invocation asks for the page
 * it stopped in again and skips the keys it had read.
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
    return this.readKeys();
  }

  /** Reads from `position`: the cursor of a page (null for the first) and how many of its keys were read. */
  public readKeys(position?: SourcePosition): KeyReader<string> {
    const read = parsePagePosition(position, 'cursor', `key source Lambda ${this.#options.functionName}`);
    return { position: () => ({ ...read }), [Symbol.asyncIterator]: () => this.#readKeys(read) };
  }

  async *#readKeys(read: PagePosition): AsyncGenerator<KeyCandidate<string>> {
    const maxPages = this.#options.maxPages ?? 10_000;
    for (let page = 1; ; page++) {
      const cursor = typeof read.cursor === 'string' ? read.cursor : undefined;
      const response = await this.#invoke(page, cursor);
      for (let index = read.item; index < response.keys.length; index++) {
        read.item = index + 1;
        yield response.keys[index] as KeyCandidate<string>;
      }
      if (!response.nextCursor) return;
      if (response.nextCursor === cursor) {
        throw new KeySourceError(
          `${this.#describePage(page)} returned the cursor it was given ("${cursor}") as nextCursor, which would never end`,
        );
      }
      if (page >= maxPages) {
        throw new KeySourceError(
          `${this.#describePage(page)} still returned a nextCursor after ${maxPages} pages; ` +
            'is the function paginating correctly?',
        );
      }
      read.cursor = response.nextCursor;
      read.item = 0;
    }
  }

  #describePage(page: number): string {
    return `key source Lambda ${this.#options.functionName} (page ${page})`;
  }

  async #invoke(page: number, cursor: string | undefined): Promise<z.infer<typeof lambdaKeysPageSchema>> {
    const { client, functionName, retry = DEFAULT_KEY_SOURCE_RETRY } = this.#options;
    const where = this.#describePage(page);
    const output = await sendWithRetry(
      () =>
        client.send(
          new InvokeCommand({
            FunctionName: functionName,
            Payload: new TextEncoder().encode(JSON.stringify(cursor === undefined ? {} : { cursor })),
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
          'expected { "keys": [...], "nextCursor"?: "..." }',
      );
    }
    return parsed.data;
  }
}

/** Where a paged read stands: the page (its start key or cursor; null for the first) and the items of it read. */
type PagePosition = { item: number } & Record<string, SourcePosition>;

const parsePagePosition = (
  position: SourcePosition | undefined,
  page: string,
  source: string,
): PagePosition => {
  if (position === undefined) return { [page]: null, item: 0 };
  const item =
    typeof position === 'object' && position !== null && !Array.isArray(position) ? position.item : undefined;
  if (
    typeof item !== 'number' ||
    !Number.isSafeInteger(item) ||
    item < 0 ||
    !(page in (position as object))
  ) {
    throw new SourcePositionError(
      `${source}: cannot resume at ${JSON.stringify(position)}: expected { "${page}": …, "item": n }`,
    );
  }
  return { ...(position as Record<string, SourcePosition>), item };
};

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
 * Provides the keys of several providers, the provider of highest weight first (providers of equal
 * weight in the order given), each key weighted by its provider: a key's weight is the provider's
 * weight times the key's own weight (1 for a key that has none). Reading the heaviest provider first
 * puts its keys first in a run, and in the bounded set of keys a run de-duplicates. A read's
 * position is the provider's index and that provider's own position.
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
    // Array.prototype.sort is stable: equal weights keep the order given.
    this.#providers = [...providers].sort((a, b) => (b.weight ?? 1) - (a.weight ?? 1));
  }

  public async getKeys(): Promise<KeySource<KeyCandidate<string>>> {
    return this.readKeys();
  }

  public readKeys(position?: SourcePosition): KeyReader<string> {
    const index =
      typeof position === 'object' && position !== null && !Array.isArray(position) ? position.provider : 0;
    if (
      position !== undefined &&
      (typeof index !== 'number' ||
        !Number.isSafeInteger(index) ||
        index < 0 ||
        index > this.#providers.length)
    ) {
      throw new SourcePositionError(
        `combined key source: cannot resume at ${JSON.stringify(position)}: expected { "provider": n, "at": … }`,
      );
    }
    const at = (position as { at?: SourcePosition } | undefined)?.at;
    const providers = this.#providers;
    const read = { provider: index as number, inner: readKeysFromOptional(providers[index as number], at) };
    return {
      position: () => ({ provider: read.provider, at: read.inner?.position() ?? null }),
      async *[Symbol.asyncIterator]() {
        while (read.inner) {
          const { weight = 1 } = providers[read.provider] as WeightedProvider;
          for await (const candidate of read.inner) {
            yield typeof candidate === 'string'
              ? { key: candidate, weight }
              : { key: candidate.key, weight: weight * candidate.weight };
          }
          read.provider++;
          read.inner = readKeysFromOptional(providers[read.provider], undefined);
        }
      },
    };
  }
}

const readKeysFromOptional = (
  weighted: WeightedProvider | undefined,
  position: SourcePosition | undefined,
): KeyReader<string> | undefined =>
  weighted ? readKeysFrom(weighted.provider, position ?? undefined) : undefined;
