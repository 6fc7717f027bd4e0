import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type KeyCandidate,
  type KeyReader,
  type PartsPosition,
  parsePartsPosition,
  readPartsInParallel,
  type SourcePosition,
  SourcePositionError,
} from '../../functions/core';

/** Lets other reads run `ticks` times: a part that is slower or faster than its neighbours. */
const pause = async (ticks: number) => {
  for (let tick = 0; tick < ticks; tick++) await Promise.resolve();
};

interface Part {
  keys: string[];
  /** Ticks before each key: how the parts' reads interleave. */
  ticks: number[];
}

/** What the parts did: open now and at most, keys read from them and not yet yielded. */
interface Activity {
  open: number;
  mostOpen: number;
  readAhead: number;
  mostReadAhead: number;
}

/** A part's reader: its position is the count of its keys yielded, like a byte offset. */
const partReader = (
  part: Part,
  position: SourcePosition | undefined,
  activity: Activity,
): KeyReader<string> => {
  const read = { count: (position as number | undefined) ?? 0 };
  return {
    position: () => read.count,
    async *[Symbol.asyncIterator]() {
      activity.mostOpen = Math.max(activity.mostOpen, ++activity.open);
      try {
        while (read.count < part.keys.length) {
          await pause(part.ticks[read.count % part.ticks.length] ?? 0);
          const key = part.keys[read.count] as string;
          read.count++;
          activity.mostReadAhead = Math.max(activity.mostReadAhead, ++activity.readAhead);
          yield key;
        }
      } finally {
        activity.open--;
      }
    },
  };
};

const readerOf = (
  parts: readonly Part[],
  concurrency: number,
  from: SourcePosition | undefined,
  activity: Activity,
) =>
  readPartsInParallel({
    partsAfter: async function* (after: number | null) {
      for (let index = after === null ? 0 : after + 1; index < parts.length; index++) {
        await pause(index % 3);
        yield index;
      }
    },
    open: (index, position) => partReader(parts[index] as Part, position, activity),
    concurrency,
    from: parsePartsPosition(from, 'parts', (name) => {
      const index = Number(name);
      return Number.isInteger(index) && index >= 0 && index < parts.length ? index : undefined;
    }),
  });

const newActivity = (): Activity => ({ open: 0, mostOpen: 0, readAhead: 0, mostReadAhead: 0 });

/** Reads at most `count` keys (all when undefined), then stops: the reader's position is just after them. */
const readKeys = async (reader: KeyReader<string>, activity: Activity, count = Number.POSITIVE_INFINITY) => {
  const keys: KeyCandidate<string>[] = [];
  if (count === 0) return keys;
  for await (const key of reader) {
    activity.readAhead--;
    if (keys.push(key) >= count) break;
  }
  return keys;
};

const partsArbitrary = fc
  .array(
    fc.record({
      size: fc.nat({ max: 12 }),
      ticks: fc.array(fc.nat({ max: 4 }), { minLength: 1, maxLength: 5 }),
    }),
    { maxLength: 7 },
  )
  .map((shapes) =>
    shapes.map(({ size, ticks }, part) => ({
      keys: Array.from({ length: size }, (_, index) => `part${part}:key${index}`),
      ticks,
    })),
  );

describe('readPartsInParallel', () => {
  it('yields a key from whichever part has one first', async () => {
    const activity = newActivity();
    const slow = { keys: ['slow:1', 'slow:2'], ticks: [20] };
    const fast = { keys: ['fast:1', 'fast:2', 'fast:3'], ticks: [0] };

    const keys = await readKeys(readerOf([slow, fast], 2, undefined, activity), activity);

    expect(keys).toEqual(['fast:1', 'fast:2', 'fast:3', 'slow:1', 'slow:2']);
  });

  it('reads every key once over any number of continuations, stopped anywhere, with at most `concurrency` parts open and one key read ahead each', async () => {
    await fc.assert(
      fc.asyncProperty(
        partsArbitrary,
        fc.array(fc.record({ keys: fc.nat({ max: 10 }), concurrency: fc.integer({ min: 1, max: 4 }) }), {
          minLength: 1,
          maxLength: 6,
        }),
        async (parts, continuations) => {
          const activity = newActivity();
          const read: KeyCandidate<string>[] = [];
          let position: SourcePosition | undefined;
          // Each continuation reads some keys and stops; the last reads the rest.
          for (const [index, { keys, concurrency }] of continuations.entries()) {
            const reader = readerOf(parts, concurrency, position, activity);
            const last = index === continuations.length - 1;
            read.push(...(await readKeys(reader, activity, last ? undefined : keys)));
            // The position as a checkpoint would store it.
            position = JSON.parse(JSON.stringify(reader.position()));
            expect(activity.mostOpen).toBeLessThanOrEqual(concurrency);
            expect(activity.mostReadAhead).toBeLessThanOrEqual(concurrency);
            Object.assign(activity, newActivity());
          }

          expect([...read].sort()).toEqual(parts.flatMap(({ keys }) => keys).sort());
          expect(position).toEqual({ after: parts.length === 0 ? null : parts.length - 1, reading: {} });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('records a part started but not yet yielded from at its start, so a stop then loses none of its keys', async () => {
    const activity = newActivity();
    const parts = [
      { keys: ['a:1', 'a:2'], ticks: [5] },
      { keys: ['b:1'], ticks: [50] },
    ];
    const reader = readerOf(parts, 2, undefined, activity);

    expect(await readKeys(reader, activity, 1)).toEqual(['a:1']);

    expect(reader.position()).toEqual({ after: 1, reading: { '0': 1, '1': 0 } });
  });

  it('fails the read with the first error of a part once the other parts are closed', async () => {
    const activity = newActivity();
    const failing: KeyReader<string> = {
      position: () => 0,
      async *[Symbol.asyncIterator]() {
        await pause(3);
        yield* [];
        throw new Error('GetObject failed');
      },
    };
    const reader = readPartsInParallel({
      partsAfter: () => [0, 1],
      open: (index, position) =>
        index === 0 ? failing : partReader({ keys: ['b:1', 'b:2'], ticks: [10] }, position, activity),
      concurrency: 2,
    });

    await expect(readKeys(reader, activity)).rejects.toThrow('GetObject failed');
    expect(activity.open).toBe(0);
  });

  it('rejects a concurrency below one', () => {
    expect(() =>
      readPartsInParallel({ partsAfter: () => [], open: () => ({}) as never, concurrency: 0 }),
    ).toThrow('parts read at once must be a whole number ≥ 1, not 0');
  });
});

describe('parsePartsPosition', () => {
  const partOf = (name: string) => (name.startsWith('keys/') ? name : undefined);

  it('reads back the position a read wrote', () => {
    expect(
      parsePartsPosition({ after: 'keys/2', reading: { 'keys/1': 10, 'keys/2': 0 } }, 's3://b/keys/', partOf),
    ).toEqual({
      after: 'keys/2',
      reading: new Map([
        ['keys/1', 10],
        ['keys/2', 0],
      ]),
    } satisfies PartsPosition<string>);
    expect(parsePartsPosition(undefined, 's3://b/keys/', partOf)).toBeUndefined();
  });

  it.each([
    [7],
    [{ after: 'keys/2' }],
    [{ after: 3, reading: {} }],
    [{ after: 'keys/2', reading: { 'other/1': 0 } }],
    [{ provider: 0, at: 2 }],
  ])('rejects %j, naming the source', (position) => {
    expect(() => parsePartsPosition(position, 's3://b/keys/', partOf)).toThrow(SourcePositionError);
    expect(() => parsePartsPosition(position, 's3://b/keys/', partOf)).toThrow(
      /^s3:\/\/b\/keys\/: cannot resume at .*: expected \{ "after": part, "reading": \{ part: position \} \}$/,
    );
  });
});
