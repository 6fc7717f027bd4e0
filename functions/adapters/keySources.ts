import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import {
  type BackoffOptions,
  CacheWarmersError,
  describeError,
  type KeyCandidate,
  type KeyProvider,
  type KeyReader,
  type KeySource,
  type PartsPosition,
  parsePartsPosition,
  readKeysFrom,
  readPartsInParallel,
  retryWithBackoff,
  type SourcePosition,
  SourcePositionError,
} from '../core';
import { isRetryableAwsError } from './awsErrors';
import {
  firstSignificantByte,
  type JsonArrayElement,
  JsonArrayError,
  JsonArrayScanner,
  opensJsonContainer,
} from './JsonArrayScanner';
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

/** Parts of a source read at once by default: objects under an S3 prefix, segments of a DynamoDB scan. */
export const DEFAULT_PARALLEL_READS = 8;

/** The most parts of a source read at once: each holds a chunk or a page (up to 1 MB) in memory. */
export const MAX_PARALLEL_READS = 100;

/** `parallelReads` when it is in range; a `KeySourceError` naming `source` otherwise. */
const checkParallelReads = (parallelReads: number, source: string): number => {
  if (!(Number.isSafeInteger(parallelReads) && parallelReads >= 1 && parallelReads <= MAX_PARALLEL_READS)) {
    throw new KeySourceError(
      `${source}: parallelReads ${parallelReads} must be a whole number from 1 to ${MAX_PARALLEL_READS}`,
    );
  }
  return parallelReads;
};

/** One key as a listing gives it, a Lambda page or a JSON array in S3: a string, or a key with its weight. */
const keyCandidateSchema = z.union(
  [
    z.string().check(z.minLength(1, 'a key must not be empty')),
    z.object({
      key: z.string().check(z.minLength(1, 'a key must not be empty')),
      weight: z.number().check(z.refine(Number.isFinite, 'a weight must be a finite number')),
    }),
  ],
  { error: 'expected a key (a string) or { "key": "…", "weight": n }' },
);

/** How an S3 object lists its keys: told from its first byte that is not whitespace. */
type ObjectFormat = 'lines' | 'json';

/** The longest element of a JSON array of keys: a longest key, with room for escapes and a pretty-printed `{ key, weight }`. */
const MAX_JSON_ELEMENT_BYTES = 4 * MAX_KEY_BYTES;

/** Bytes a resumed read fetches from an object's head to tell its format. */
const FORMAT_HEAD_BYTES = 1_024;

export interface S3KeyProviderOptions {
  client: S3Client;
  bucket: string;
  /** The object's key: one cache key per line, or a JSON array of keys. Exactly one of `key` and `prefix`. */
  key?: string;
  /** Reads every object whose key starts with this, each in either format, told object by object. */
  prefix?: string;
  /** Objects under `prefix` read at once. Default `DEFAULT_PARALLEL_READS`. */
  parallelReads?: number;
  retry?: BackoffOptions;
}

/**
 * Provides the keys listed in an S3 object, or in every object under a prefix. An object lists its
 * keys one per line (UTF-8; `\n` or `\r\n`; blank lines and whitespace around a key are ignored), or,
 * when its first byte that is not whitespace is `[`, as a JSON array of keys and
 * `{ "key": "…", "weight": n }` objects, as a `LambdaKeyProvider` page lists them. An object is
 * streamed and keys are yielded as they arrive (an array element by element, see `JsonArrayScanner`),
 * so a 100 MB listing never sits in memory as one string. A read's position is the byte offset after
 * its last key (line or element); a read resumed there fetches the object's first KiB to tell its
 * format, then asks S3 for the rest of the object only (a ranged GetObject).
 *
 * Under a prefix, objects are listed page by page (ListObjectsV2) and read `parallelReads` at a time,
 * their keys interleaved as they arrive. The position is the last object started and the byte offset
 * of each object still being read (`{ "after": "keys/07.txt", "reading": { "keys/05.txt": 1024 } }`): a
 * resumed read lists the objects after `after` and reads the unfinished ones from their offsets.
 *
 * @example
 * const provider = new S3KeyProvider({ client: new S3Client({}), bucket: 'my-bucket', key: 'warm/keys.txt' });
 * // warm/top.json: ["home", { "key": "product:1", "weight": 50 }, "product:2"]
 * const weighted = new S3KeyProvider({ client: new S3Client({}), bucket: 'my-bucket', key: 'warm/top.json' });
 * const everyDay = new S3KeyProvider({ client: new S3Client({}), bucket: 'my-bucket', prefix: 'warm/daily/' });
 */
export class S3KeyProvider implements KeyProvider<string> {
  readonly #options: S3KeyProviderOptions;
  readonly #parallelReads: number;

  public constructor(options: S3KeyProviderOptions) {
    const { bucket, key, prefix } = options;
    if ((key === undefined) === (prefix === undefined)) {
      throw new KeySourceError(
        `s3://${bucket}: give exactly one of key (one object) or prefix (every object under it)`,
      );
    }
    this.#options = options;
    this.#parallelReads = checkParallelReads(
      options.parallelReads ?? DEFAULT_PARALLEL_READS,
      `s3://${bucket}/${prefix ?? key}`,
    );
  }

  public async getKeys(): Promise<KeySource<KeyCandidate<string>>> {
    return this.readKeys();
  }

  public readKeys(position?: SourcePosition): KeyReader<string> {
    const { key, prefix } = this.#options;
    if (key !== undefined) return this.#readObject(key, position);
    const where = `${this.#location(prefix as string)} (prefix)`;
    return readPartsInParallel({
      partsAfter: (after) => this.#listObjects(prefix as string, after),
      open: (objectKey, at) => this.#readObject(objectKey, at),
      concurrency: this.#parallelReads,
      from: parsePartsPosition(position, where, (name) =>
        name.startsWith(prefix as string) ? name : undefined,
      ),
    });
  }

  #location(key: string): string {
    return `s3://${this.#options.bucket}/${key}`;
  }

  #readObject(key: string, position: SourcePosition | undefined): KeyReader<string> {
    if (position !== undefined && !(Number.isSafeInteger(position) && (position as number) >= 0)) {
      throw new SourcePositionError(
        `${this.#location(key)}: cannot resume at ${JSON.stringify(position)}: expected a byte offset`,
      );
    }
    const read = { offset: (position as number | undefined) ?? 0 };
    return { position: () => read.offset, [Symbol.asyncIterator]: () => this.#readKeysOf(key, read) };
  }

  /** The keys of the objects under `prefix` after `after`, in S3's order, listed a page at a time. */
  async *#listObjects(prefix: string, after: string | null): AsyncGenerator<string> {
    const { client, bucket, retry = DEFAULT_KEY_SOURCE_RETRY } = this.#options;
    let continuationToken: string | undefined;
    let listedAny = false;
    do {
      const page = await sendWithRetry(
        () =>
          client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: prefix,
              StartAfter: after ?? undefined,
              ContinuationToken: continuationToken,
            }),
          ),
        retry,
      ).catch((error: unknown) => {
        const reason =
          awsErrorName(error) === 'NoSuchBucket' ? 'the bucket does not exist' : describeAwsError(error);
        throw new KeySourceError(`${this.#location(prefix)} (prefix): listing failed: ${reason}`, {
          cause: error,
        });
      });
      for (const { Key: key } of page.Contents ?? []) {
        if (key === undefined) continue;
        listedAny = true;
        yield key;
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
    // A prefix naming nothing is a typo far more often than a list of keys left empty on purpose.
    if (!listedAny && after === null) {
      throw new KeySourceError(`${this.#location(prefix)} (prefix): no object has this prefix`);
    }
  }

  /** Yields the keys of object `key` from `read.offset` on, moving it past each key as the key is yielded. */
  async *#readKeysOf(key: string, read: { offset: number }): AsyncGenerator<KeyCandidate<string>> {
    const from = read.offset;
    try {
      // A resumed read starts past the head that tells the format, so it reads the head on its own.
      const formatOfHead = from > 0 ? await this.#formatOfHead(key) : undefined;
      const body = await this.#open(key, from);
      if (!body) return;
      const { format, chunks } = formatOfHead
        ? { format: formatOfHead, chunks: body }
        : await peekFormat(body[Symbol.asyncIterator]());
      yield* format === 'json' ? this.#readJsonArray(key, read, chunks) : this.#readLines(key, read, chunks);
    } catch (error) {
      if (error instanceof KeySourceError) throw error;
      if (error instanceof JsonArrayError) {
        throw new KeySourceError(`${this.#location(key)}: ${error.message}`, { cause: error });
      }
      throw new KeySourceError(`${this.#location(key)}: reading failed: ${describeAwsError(error)}`, {
        cause: error,
      });
    }
  }

  /** The format of object `key`, told from its first bytes. */
  async #formatOfHead(key: string): Promise<ObjectFormat> {
    const head = await this.#open(key, 0, FORMAT_HEAD_BYTES - 1);
    if (!head) return 'lines';
    const iterator = head[Symbol.asyncIterator]();
    const { format } = await peekFormat(iterator);
    await iterator.return?.();
    return format;
  }

  /** Yields the keys of a newline-delimited object from `read.offset` on, moving it past each key's line as the key is yielded. */
  async *#readLines(
    key: string,
    read: { offset: number },
    body: AsyncIterable<Uint8Array>,
  ): AsyncGenerator<string> {
    const from = read.offset;
    let lineNumber = 0;
    let unfinished: Buffer = Buffer.alloc(0);
    const tooLong = () => this.#lineTooLong(key, lineNumber + 1, from);
    for await (const chunk of body) {
      const bytes = unfinished.length > 0 ? Buffer.concat([unfinished, chunk]) : Buffer.from(chunk);
      let lineStart = 0;
      for (let end = bytes.indexOf(NEWLINE); end !== -1; end = bytes.indexOf(NEWLINE, lineStart)) {
        if (end - lineStart > MAX_KEY_BYTES) throw tooLong();
        const line = bytes.toString('utf8', lineStart, end).trim();
        lineNumber++;
        read.offset += end + 1 - lineStart;
        lineStart = end + 1;
        if (line !== '') yield line;
      }
      unfinished = bytes.subarray(lineStart);
      // An object without newlines would otherwise be buffered whole.
      if (unfinished.length > MAX_KEY_BYTES) throw tooLong();
    }
    const line = unfinished.toString('utf8').trim();
    read.offset += unfinished.length;
    if (line !== '') yield line;
  }

  #lineTooLong(key: string, lineNumber: number, from: number): KeySourceError {
    const where = from === 0 ? `line ${lineNumber}` : `line ${lineNumber} after byte ${from}`;
    return new KeySourceError(
      `${this.#location(key)}: ${where} is longer than ${MAX_KEY_BYTES} bytes, the longest key ` +
        'accepted: is this a newline-delimited list of keys?',
    );
  }

  /**
   * Yields the keys of an object holding a JSON array from `read.offset` on, moving it just past each
   * element as its key is yielded. One element at a time is held and parsed, never the array.
   */
  async *#readJsonArray(
    key: string,
    read: { offset: number },
    body: AsyncIterable<Uint8Array>,
  ): AsyncGenerator<KeyCandidate<string>> {
    const scanner = new JsonArrayScanner({ from: read.offset, maxElementBytes: MAX_JSON_ELEMENT_BYTES });
    for await (const chunk of body) {
      for (const element of scanner.push(chunk)) {
        const candidate = this.#candidateOf(key, element, scanner);
        read.offset = element.end;
        yield candidate;
      }
    }
    scanner.end();
  }

  /** The key of one element of a JSON array; a `KeySourceError` naming the element when it holds none. */
  #candidateOf(key: string, element: JsonArrayElement, scanner: JsonArrayScanner): KeyCandidate<string> {
    const where = `${this.#location(key)}: ${scanner.describe(element)}`;
    const parsed = keyCandidateSchema.safeParse(element.value);
    if (!parsed.success) {
      throw new KeySourceError(
        `${where}, ${JSON.stringify(element.value).slice(0, 80)}, is not a key: ${describeIssues(parsed.error)}`,
      );
    }
    const candidate = parsed.data;
    if (Buffer.byteLength(typeof candidate === 'string' ? candidate : candidate.key) > MAX_KEY_BYTES) {
      throw new KeySourceError(
        `${where} holds a key longer than ${MAX_KEY_BYTES} bytes, the longest key accepted`,
      );
    }
    return candidate;
  }

  /** Object `key`'s body from byte `from` on (to byte `to`, included); nothing when `from` is at or past its end. */
  async #open(key: string, from: number, to?: number): Promise<AsyncIterable<Uint8Array> | undefined> {
    const { client, bucket, retry = DEFAULT_KEY_SOURCE_RETRY } = this.#options;
    let body: unknown;
    try {
      ({ Body: body } = await sendWithRetry(
        () =>
          client.send(
            new GetObjectCommand({
              Bucket: bucket,
              Key: key,
              Range: from > 0 || to !== undefined ? `bytes=${from}-${to ?? ''}` : undefined,
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
      throw new KeySourceError(`${this.#location(key)}: ${reason}`, { cause: error });
    }
    // Node's SDK gives a Readable, other runtimes a web ReadableStream: both are async iterables of bytes.
    if (typeof body !== 'object' || body === null || !(Symbol.asyncIterator in body)) {
      throw new KeySourceError(`${this.#location(key)}: GetObject returned no readable body`);
    }
    return body as AsyncIterable<Uint8Array>;
  }
}

const NEWLINE = 0x0a;

/**
 * Reads `chunks` up to the first byte that is not whitespace, within the object's first
 * `FORMAT_HEAD_BYTES`, and tells the object's format from it: a JSON array when it opens one (an
 * object too, which the array reader then refuses by name), one key per line otherwise. `chunks` of
 * the result is every chunk again, those read included.
 */
const peekFormat = async (
  iterator: AsyncIterator<Uint8Array>,
): Promise<{ format: ObjectFormat; chunks: AsyncIterable<Uint8Array> }> => {
  const seen: Uint8Array[] = [];
  let offset = 0;
  let first: number | undefined;
  while (first === undefined && offset < FORMAT_HEAD_BYTES) {
    const next = await iterator.next();
    if (next.done) break;
    seen.push(next.value);
    // Only the head counts, as it is all that a resumed read fetches to tell the format.
    first = firstSignificantByte(next.value.subarray(0, FORMAT_HEAD_BYTES - offset), offset);
    offset += next.value.length;
  }
  const rest = { [Symbol.asyncIterator]: () => iterator };
  return {
    format: first !== undefined && opensJsonContainer(first) ? 'json' : 'lines',
    chunks: (async function* () {
      yield* seen;
      yield* rest;
    })(),
  };
};

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
  /**
   * Segments of a parallel scan (DynamoDB's `TotalSegments`, 1 to 1,000,000), read `parallelReads` at
   * a time. Default 1: one scan. Not with `query`.
   */
  segments?: number;
  /** Segments read at once. Default `DEFAULT_PARALLEL_READS`. */
  parallelReads?: number;
  retry?: BackoffOptions;
  /** Told once per read when items were skipped. */
  onSkippedItems?: (report: SkippedItemsReport) => void;
}

/** DynamoDB's largest `TotalSegments`. */
export const MAX_SCAN_SEGMENTS = 1_000_000;

/** The placeholder of the key attribute in the projection; odd enough not to clash with a user's. */
const KEY_ATTRIBUTE_PLACEHOLDER = '#cacheWarmerKey';

/** What one read of a table found, over all its segments. */
interface ItemTally extends SkippedItemsReport {
  found: number;
}

/**
 * Provides the values of one string attribute of a DynamoDB table or index, read page by page with
 * Scan, or with Query when `query` is given. Keys are yielded as pages arrive. With `segments`, the
 * table is read as a parallel scan, `parallelReads` segments at a time, their keys interleaved.
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
  readonly #segments: number;
  readonly #parallelReads: number;

  public constructor(options: DynamoKeyProviderOptions) {
    const source = `DynamoDB table ${options.tableName}`;
    if (options.query?.expressionAttributeNames?.[KEY_ATTRIBUTE_PLACEHOLDER] !== undefined) {
      throw new KeySourceError(
        `${source}: the expression attribute name ${KEY_ATTRIBUTE_PLACEHOLDER} is reserved by the key provider`,
      );
    }
    const { segments = 1 } = options;
    if (!(Number.isSafeInteger(segments) && segments >= 1 && segments <= MAX_SCAN_SEGMENTS)) {
      throw new KeySourceError(
        `${source}: segments ${segments} must be a whole number from 1 to ${MAX_SCAN_SEGMENTS.toLocaleString('en-US')}`,
      );
    }
    if (segments > 1 && options.query) {
      throw new KeySourceError(
        `${source}: segments split a Scan; a query reads one partition and takes none`,
      );
    }
    this.#options = options;
    this.#segments = segments;
    this.#parallelReads = checkParallelReads(options.parallelReads ?? DEFAULT_PARALLEL_READS, source);
  }

  public async getKeys(): Promise<KeySource<KeyCandidate<string>>> {
    return this.readKeys();
  }

  /**
   * Reads from `position`: the `ExclusiveStartKey` of a page (null for the first) and how many of
   * its items were read, so a resumed read asks for that page again and skips them. A parallel scan's
   * position is the last segment started and that position for each segment still being read
   * (`{ "after": 5, "reading": { "3": { "page": …, "item": 2 } } }`).
   */
  public readKeys(position?: SourcePosition): KeyReader<string> {
    const tally: ItemTally = { source: this.#source, missing: 0, notString: 0, found: 0 };
    const segments = this.#segments;
    const reader =
      segments === 1
        ? this.#readSegment(undefined, position, tally)
        : readPartsInParallel({
            partsAfter: (after) => segmentsAfter(after, segments),
            open: (segment, at) => this.#readSegment(segment, at, tally),
            concurrency: this.#parallelReads,
            from: parsePartsPosition(position, `${this.#source} (parallel scan)`, (name) => {
              const segment = Number(name);
              return Number.isSafeInteger(segment) && segment >= 0 && segment < segments
                ? segment
                : undefined;
            }),
          });
    return {
      position: reader.position,
      [Symbol.asyncIterator]: () => this.#readAndReport(reader, tally),
    };
  }

  get #source(): string {
    const { tableName, indexName } = this.#options;
    return `DynamoDB table ${tableName}${indexName ? ` (index ${indexName})` : ''}`;
  }

  /** Reads one segment of a parallel scan from `position`, or the whole table or query for `undefined`. */
  #readSegment(
    segment: number | undefined,
    position: SourcePosition | undefined,
    tally: ItemTally,
  ): KeyReader<string> {
    const where = segment === undefined ? this.#source : `${this.#source} (segment ${segment})`;
    const read = parsePagePosition(position, 'page', where);
    return {
      position: () => ({ ...read }),
      [Symbol.asyncIterator]: () => this.#readPages(segment, read, tally),
    };
  }

  /** Yields the keys of `reader`, then reports the items it skipped, or fails when it found no key at all. */
  async *#readAndReport(reader: KeyReader<string>, tally: ItemTally): AsyncGenerator<KeyCandidate<string>> {
    yield* reader;
    const { found, ...skipped } = tally;
    const skippedItems = skipped.missing + skipped.notString;
    if (skippedItems === 0) return;
    if (found === 0) {
      throw new KeySourceError(
        `${this.#source}: none of the ${skippedItems} items read has a string attribute "${this.#options.attribute}" ` +
          `(${skipped.missing} without it, ${skipped.notString} not a string): is the attribute name right?`,
      );
    }
    this.#options.onSkippedItems?.(skipped);
  }

  /** Yields the keys of one segment (or of the whole table) from `read` on, moving it past each item as its key is yielded. */
  async *#readPages(
    segment: number | undefined,
    read: PagePosition,
    tally: ItemTally,
  ): AsyncGenerator<string> {
    const { attribute } = this.#options;
    for (;;) {
      const page = await this.#readPage(
        segment,
        (read.page ?? undefined) as Record<string, unknown> | undefined,
      );
      const items = page.Items ?? [];
      for (let index = read.item; index < items.length; index++) {
        const key: unknown = (items[index] as Record<string, unknown>)[attribute];
        read.item = index + 1;
        if (key === undefined) tally.missing++;
        else if (typeof key !== 'string') tally.notString++;
        else {
          tally.found++;
          yield key;
        }
      }
      if (!page.LastEvaluatedKey) return;
      read.page = page.LastEvaluatedKey as SourcePosition;
      read.item = 0;
    }
  }

  async #readPage(segment: number | undefined, startKey: Record<string, unknown> | undefined) {
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
    const segmentOf = segment === undefined ? {} : { Segment: segment, TotalSegments: this.#segments };
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
            : client.send(new ScanCommand({ ...common, ...segmentOf, ExpressionAttributeNames: names })),
        this.#options.retry ?? DEFAULT_KEY_SOURCE_RETRY,
      );
    } catch (error) {
      const what = query ? 'Query' : segment === undefined ? 'Scan' : `Scan of segment ${segment}`;
      throw new KeySourceError(`${this.#source}: ${what} failed: ${describeAwsError(error)}`, {
        cause: error,
      });
    }
  }
}

/** The segments of a parallel scan after `after`, in order. */
function* segmentsAfter(after: number | null, segments: number): Generator<number> {
  for (let segment = after === null ? 0 : after + 1; segment < segments; segment++) yield segment;
}

const lambdaKeysPageSchema = z.object({
  keys: z.array(keyCandidateSchema),
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
 * Provides the keys of several providers, the providers of highest weight first, each key weighted by
 * its provider: a key's weight is the provider's weight times the key's own weight (1 for a key that
 * has none). Providers of equal weight are read at once, their keys interleaved as they arrive; a
 * provider of lower weight starts only when every provider of higher weight is done. Reading the
 * heaviest providers first puts their keys first in a run, and in the bounded set of keys a run
 * de-duplicates.
 *
 * A read's position is a parts position over the providers sorted by weight (stable: equal weights in
 * the order given): `{ "after": 2, "reading": { "1": …, "2": … } }`, each provider at its own position.
 * The earlier format `{ "provider": n, "at": … }` is still read.
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
    const readGroup = (from: PartsPosition<number>) => this.#readGroup(from);
    let at = this.#parsePosition(position) ?? { after: null, reading: new Map() };
    let group = readGroup(at);
    return {
      position: () => group?.reader.position() ?? { after: at.after, reading: {} },
      async *[Symbol.asyncIterator]() {
        while (group) {
          yield* group.reader;
          at = { after: group.last, reading: new Map() };
          group = readGroup(at);
        }
      },
    };
  }

  /** Reads the providers of one weight from `at`: the weight of the first provider not finished. */
  #readGroup(at: PartsPosition<number>): { reader: KeyReader<string>; last: number } | undefined {
    const providers = this.#providers;
    const weightOf = (index: number) => providers[index]?.weight ?? 1;
    const first = Math.min(...at.reading.keys(), at.after === null ? 0 : at.after + 1);
    if (first >= providers.length) return undefined;
    let last = first;
    while (last + 1 < providers.length && weightOf(last + 1) === weightOf(first)) last++;
    const reader = readPartsInParallel({
      partsAfter: (after) => indexesBetween(after === null ? first : after + 1, last),
      open: (index, inner) =>
        weighKeys(readKeysFrom((providers[index] as WeightedProvider).provider, inner), weightOf(index)),
      concurrency: last - first + 1,
      from: at,
    });
    return { reader, last };
  }

  #parsePosition(position: SourcePosition | undefined): PartsPosition<number> | undefined {
    const source = 'combined key source';
    const providers = this.#providers.length;
    const isIndex = (index: unknown): index is number =>
      typeof index === 'number' && Number.isSafeInteger(index) && index >= 0 && index <= providers;
    if (typeof position === 'object' && position !== null && 'provider' in position) {
      // The earlier format: providers before `provider` done, that one at `at`, the rest not started.
      const { provider, at } = position as { provider: unknown; at?: SourcePosition };
      if (!isIndex(provider)) {
        throw new SourcePositionError(
          `${source}: cannot resume at ${JSON.stringify(position)}: expected { "provider": n, "at": … }`,
        );
      }
      return at === undefined || at === null
        ? { after: provider === 0 ? null : provider - 1, reading: new Map() }
        : { after: provider, reading: new Map([[provider, at]]) };
    }
    return parsePartsPosition(position, source, (name) => {
      const index = Number(name);
      return isIndex(index) && index < providers ? index : undefined;
    });
  }
}

/** The whole numbers from `from` to `to`, both included. */
function* indexesBetween(from: number, to: number): Generator<number> {
  for (let index = from; index <= to; index++) yield index;
}

/** `reader`'s keys, each weighted by `weight` times its own (1 for a key without one). */
const weighKeys = (reader: KeyReader<string>, weight: number): KeyReader<string> => ({
  position: () => reader.position(),
  async *[Symbol.asyncIterator]() {
    for await (const candidate of reader) {
      yield typeof candidate === 'string'
        ? { key: candidate, weight }
        : { key: candidate.key, weight: weight * candidate.weight };
    }
  },
});
