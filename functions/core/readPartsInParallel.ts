import { SourcePositionError } from './KeyProvider';
import type { KeyCandidate, KeyReader, SourcePosition } from './types';

/** The name of one part of a source read in parallel: an object key, a scan segment, a provider's index. */
export type PartId = string | number;

/**
 * Where a read of several parts stands: every part up to `after` (the last one started, in the parts'
 * order) is finished except those in `reading`, each at its own position as of its last key yielded.
 * Parts after `after` are not started.
 */
export interface PartsPosition<Id extends PartId> {
  after: Id | null;
  reading: ReadonlyMap<Id, SourcePosition>;
}

export interface PartsReaderOptions<K, Id extends PartId> {
  /** The parts after `after` (all of them for null), in order: listed lazily, as parts are started. */
  partsAfter: (after: Id | null) => Iterable<Id> | AsyncIterable<Id>;
  /** Reads one part from `position` (from its start when undefined). */
  open: (part: Id, position: SourcePosition | undefined) => KeyReader<K>;
  /** Parts read at once. */
  concurrency: number;
  /** Where to resume; from the first part when undefined. */
  from?: PartsPosition<Id>;
}

type Lane<K, Id> = { part: Id; reader: KeyReader<K>; keys: AsyncIterator<KeyCandidate<K>> };

type Settled<K, Id> =
  | { lane: Lane<K, Id>; result: IteratorResult<KeyCandidate<K>>; position: SourcePosition }
  | { listed: IteratorResult<Id> }
  | { error: unknown };

/**
 * Reads the keys of several parts of a source at once (the objects under an S3 prefix, the segments of
 * a parallel scan, providers of equal weight), `concurrency` parts at a time, yielding each key as soon
 * as any part has one. Each part has at most one key read ahead, so memory is bounded by
 * `concurrency`, not by the parts' sizes.
 *
 * The read's position is a `PartsPosition` as JSON: `{ "after": id, "reading": { "<id>": position } }`,
 * each part's position taken as its key was yielded, so a read resumed there yields every key not yet
 * yielded exactly once, whichever part it is in.
 *
 * @example
 * const reader = readPartsInParallel({
 *   partsAfter: (after) => segments.filter((segment) => after === null || segment > after),
 *   open: (segment, position) => scanSegment(segment).readKeys(position),
 *   concurrency: 4,
 * });
 */
export const readPartsInParallel = <K, Id extends PartId>(
  options: PartsReaderOptions<K, Id>,
): KeyReader<K> => {
  if (!(Number.isSafeInteger(options.concurrency) && options.concurrency >= 1)) {
    throw new RangeError(`parts read at once must be a whole number ≥ 1, not ${options.concurrency}`);
  }
  const recorded = {
    after: options.from?.after ?? null,
    reading: new Map(options.from?.reading),
  };
  return {
    position: () => ({
      after: recorded.after,
      reading: Object.fromEntries([...recorded.reading].map(([part, at]) => [String(part), at])),
    }),
    [Symbol.asyncIterator]: () =>
      options.concurrency === 1 ? readPartsOneByOne(options, recorded) : readParts(options, recorded),
  };
};

type Recorded<Id> = { after: Id | null; reading: Map<Id, SourcePosition> };

/** Reads the parts one after another: with one part at a time there is nothing to race. */
async function* readPartsOneByOne<K, Id extends PartId>(
  { partsAfter, open }: PartsReaderOptions<K, Id>,
  recorded: Recorded<Id>,
): AsyncGenerator<KeyCandidate<K>> {
  const parts = async function* (): AsyncGenerator<[Id, KeyReader<K>]> {
    for (const [part, position] of [...recorded.reading]) yield [part, open(part, position)];
    for await (const part of partsAfter(recorded.after)) {
      const reader = open(part, undefined);
      recorded.after = part;
      recorded.reading.set(part, reader.position());
      yield [part, reader];
    }
  };
  for await (const [part, reader] of parts()) {
    for await (const candidate of reader) {
      recorded.reading.set(part, reader.position());
      yield candidate;
    }
    recorded.reading.delete(part);
  }
}

async function* readParts<K, Id extends PartId>(
  { partsAfter, open, concurrency }: PartsReaderOptions<K, Id>,
  recorded: Recorded<Id>,
): AsyncGenerator<KeyCandidate<K>> {
  const resumed = [...recorded.reading];
  let parts: Iterator<Id> | AsyncIterator<Id> | undefined;
  let listing = false;
  let listed = false;
  const lanes = new Set<Lane<K, Id>>();
  // Settled reads wait here in the order they settled; at most one per lane, plus the listing.
  const settled: Settled<K, Id>[] = [];
  let wake: (() => void) | undefined;
  const settle = (outcome: Settled<K, Id>) => {
    settled.push(outcome);
    wake?.();
  };
  const readNext = (lane: Lane<K, Id>) => {
    lane.keys.next().then(
      // The part's position now is just after this key: it moves only while the part is read.
      (result) => settle({ lane, result, position: lane.reader.position() }),
      (error: unknown) => settle({ error }),
    );
  };
  const start = (part: Id, position: SourcePosition | undefined) => {
    const reader = open(part, position);
    const lane = { part, reader, keys: reader[Symbol.asyncIterator]() };
    lanes.add(lane);
    if (position === undefined) {
      recorded.after = part;
      recorded.reading.set(part, reader.position());
    }
    readNext(lane);
  };
  const fill = () => {
    while (lanes.size < concurrency && resumed.length > 0) {
      const [part, position] = resumed.shift() as [Id, SourcePosition];
      start(part, position);
    }
    if (lanes.size < concurrency && !listing && !listed) {
      listing = true;
      parts ??= iteratorOf(partsAfter(recorded.after));
      Promise.resolve(parts.next()).then(
        (result) => settle({ listed: result }),
        (error: unknown) => settle({ error }),
      );
    }
  };

  try {
    fill();
    while (lanes.size > 0 || listing) {
      if (settled.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      const outcome = settled.shift() as Settled<K, Id>;
      if ('error' in outcome) throw outcome.error;
      if ('listed' in outcome) {
        listing = false;
        if (outcome.listed.done) listed = true;
        else start(outcome.listed.value, undefined);
      } else if (outcome.result.done) {
        lanes.delete(outcome.lane);
        recorded.reading.delete(outcome.lane.part);
      } else {
        recorded.reading.set(outcome.lane.part, outcome.position);
        yield outcome.result.value;
        readNext(outcome.lane);
        continue;
      }
      fill();
    }
  } finally {
    // A read stopped early (a checkpoint, an error) closes its parts once their pending reads settle,
    // so nothing of it still runs when it is over.
    await Promise.allSettled([...[...lanes].map((lane) => lane.keys.return?.()), parts?.return?.()]);
  }
}

const iteratorOf = <T>(items: Iterable<T> | AsyncIterable<T>): Iterator<T> | AsyncIterator<T> =>
  Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();

const isRecord = (value: SourcePosition | undefined): value is { [name: string]: SourcePosition } =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Reads a `PartsPosition` back from JSON, undefined for none. `partOf` turns a part's name back into
 * its id (undefined for a name that is no part of the source); `after` must be an id as it is.
 *
 * @throws SourcePositionError naming `source` when the position is not one a read of it wrote.
 */
export const parsePartsPosition = <Id extends PartId>(
  position: SourcePosition | undefined,
  source: string,
  partOf: (name: string) => Id | undefined,
): PartsPosition<Id> | undefined => {
  if (position === undefined) return undefined;
  const fail = (): never => {
    throw new SourcePositionError(
      `${source}: cannot resume at ${JSON.stringify(position)}: expected { "after": part, "reading": { part: position } }`,
    );
  };
  if (!isRecord(position) || !isRecord(position.reading)) return fail();
  const { after } = position;
  if (after !== null && (typeof after === 'object' || partOf(String(after)) !== after)) return fail();
  const reading = new Map<Id, SourcePosition>();
  for (const [name, at] of Object.entries(position.reading)) {
    const part = partOf(name);
    if (part === undefined) return fail();
    reading.set(part, at);
  }
  return { after: after as Id | null, reading };
};
