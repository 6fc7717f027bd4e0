import { CacheWarmersError, describeError } from '../core';

/** One element of a JSON array and where it lies in the bytes scanned. */
export interface JsonArrayElement {
  /** The element's place among the elements scanned, from 0. */
  index: number;
  /** The byte offset of its first byte. */
  start: number;
  /** The byte offset just past its last byte: a scan resumed there sees `,`, whitespace or `]` next. */
  end: number;
  value: unknown;
}

/** The bytes scanned are not a JSON array, or not one whose elements fit: the message says where. */
export class JsonArrayError extends CacheWarmersError {
  public constructor(message: string) {
    super(message);
    this.name = 'JsonArrayError';
  }
}

/** What the scanner expects next outside an element. */
type Expecting = 'open' | 'elementOrClose' | 'element' | 'commaOrClose' | 'nothing';

/** The element being scanned: its bytes so far and where the scan stands inside it. */
interface OpenElement {
  start: number;
  pieces: Buffer[];
  /** Nesting of `[` and `{`; 0 for a string or a bare number, `true`, `false` or `null`. */
  depth: number;
  inString: boolean;
  escaped: boolean;
}

const BYTE_ORDER_MARK = [0xef, 0xbb, 0xbf];
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

const isWhitespace = (byte: number): boolean =>
  byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

/** Whether `byte`, at byte `offset` of the object, belongs to a UTF-8 byte order mark at its head. */
const isByteOrderMark = (byte: number, offset: number): boolean =>
  offset < BYTE_ORDER_MARK.length && byte === BYTE_ORDER_MARK[offset];

/**
 * The first byte of `bytes` that is neither JSON whitespace nor part of a byte order mark at the
 * object's head; `offset` is where `bytes` start in the object. Undefined when there is none.
 */
export const firstSignificantByte = (bytes: Uint8Array, offset: number): number | undefined =>
  bytes.find((byte, at) => !(isWhitespace(byte) || isByteOrderMark(byte, offset + at)));

/** Whether `byte` opens a JSON array or object: how a key list in JSON is told from one key per line. */
export const opensJsonContainer = (byte: number): boolean => byte === OPEN_BRACKET || byte === OPEN_BRACE;

/** A byte as an error message shows it: the character when printable ASCII, its hex code otherwise. */
const showByte = (byte: number): string =>
  byte > 0x20 && byte < 0x7f ? `"${String.fromCharCode(byte)}"` : `0x${byte.toString(16).padStart(2, '0')}`;

/**
 * Finds the top-level elements of a JSON array in bytes fed chunk by chunk, and parses each on its
 * own: memory holds one element at most, never the array. Only depth, string and escape state are
 * tracked between elements, so a chunk may end anywhere (inside a string, an escape or a UTF-8
 * sequence); each element's byte range is exact, so a read can resume just past one.
 *
 * A scan from byte 0 expects the opening `[` (after an optional UTF-8 byte order mark); a scan
 * resumed at a later byte expects to be just past an element: `,` or `]` next.
 *
 * @example
 * const scanner = new JsonArrayScanner({ from: 0, maxElementBytes: 4_096 });
 * for (const chunk of ['["a", {"key": "b", "wei', 'ght": 2}]']) {
 *   for (const element of scanner.push(Buffer.from(chunk))) console.log(element.value);
 * }
 * scanner.end();
 */
export class JsonArrayScanner {
  readonly #maxElementBytes: number;
  readonly #resumed: boolean;
  #expecting: Expecting;
  /** The byte offset of the next chunk's first byte. */
  #offset: number;
  #index = 0;
  #element: OpenElement | undefined;

  public constructor({ from, maxElementBytes }: { from: number; maxElementBytes: number }) {
    this.#maxElementBytes = maxElementBytes;
    this.#resumed = from > 0;
    this.#expecting = this.#resumed ? 'commaOrClose' : 'open';
    this.#offset = from;
  }

  /** The elements that end in `chunk`, in order. @throws JsonArrayError at the first byte that cannot be part of the array */
  public *push(chunk: Uint8Array): Generator<JsonArrayElement> {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const chunkStart = this.#offset;
    this.#offset += bytes.length;
    // Where the open element's bytes start in this chunk.
    let elementFrom = 0;
    for (let at = 0; at < bytes.length; at++) {
      const byte = bytes[at] as number;
      const element = this.#element;
      if (element) {
        const ends = this.#elementEnds(element, byte);
        if (ends !== 'before' && chunkStart + at + 1 - element.start > this.#maxElementBytes) {
          throw this.#tooLong(element);
        }
        if (ends === 'no') continue;
        const end = ends === 'after' ? at + 1 : at;
        element.pieces.push(bytes.subarray(elementFrom, end));
        this.#element = undefined;
        this.#expecting = 'commaOrClose';
        yield this.#parse(element, chunkStart + end);
        if (ends === 'after') continue;
      }
      this.#expect(byte, chunkStart + at);
      if (this.#element) elementFrom = at;
    }
    // Copied, so that a long chunk is not kept alive by the few bytes of an element it ends with.
    if (this.#element) this.#element.pieces.push(Buffer.from(bytes.subarray(elementFrom)));
  }

  /** Checks that the array was closed. @throws JsonArrayError when it was not */
  public end(): void {
    if (this.#expecting === 'nothing') return;
    throw new JsonArrayError(
      this.#expecting === 'open'
        ? 'holds no JSON value'
        : `the JSON array has no closing "]" (the text ends at byte ${this.#offset})`,
    );
  }

  /** An element as messages name it: its index when the scan started at the array's head, and its first byte. */
  public describe({ index, start }: Pick<JsonArrayElement, 'index' | 'start'>): string {
    return this.#resumed ? `the element at byte ${start}` : `element ${index} (at byte ${start})`;
  }

  /** Takes a byte outside any element: whitespace, structure, or the first byte of an element. */
  #expect(byte: number, offset: number): void {
    const expecting = this.#expecting;
    if (expecting === 'open' && isByteOrderMark(byte, offset)) return;
    if (isWhitespace(byte)) return;
    switch (expecting) {
      case 'open':
        if (byte !== OPEN_BRACKET) {
          throw new JsonArrayError(
            `the top-level JSON value is not an array (it starts with ${showByte(byte)} at byte ${offset}): ` +
              'expected ["key", { "key": "other", "weight": 5 }, …]',
          );
        }
        this.#expecting = 'elementOrClose';
        return;
      case 'elementOrClose':
      case 'element':
        if (byte === CLOSE_BRACKET && expecting === 'elementOrClose') this.#expecting = 'nothing';
        else if (byte === CLOSE_BRACKET || byte === COMMA) throw this.#invalid(byte, offset, 'an element');
        else this.#open(byte, offset);
        return;
      case 'commaOrClose':
        if (byte === COMMA) this.#expecting = 'element';
        else if (byte === CLOSE_BRACKET) this.#expecting = 'nothing';
        else throw this.#invalid(byte, offset, '"," or "]"');
        return;
      case 'nothing':
        throw new JsonArrayError(`content after the closing "]" at byte ${offset}: ${showByte(byte)}`);
    }
  }

  #open(byte: number, offset: number): void {
    this.#element = {
      start: offset,
      pieces: [],
      depth: byte === OPEN_BRACKET || byte === OPEN_BRACE ? 1 : 0,
      inString: byte === QUOTE,
      escaped: false,
    };
  }

  /** Whether `byte` ends `element`: after it (a closing quote or bracket) or before it (after a bare value). */
  #elementEnds(element: OpenElement, byte: number): 'no' | 'after' | 'before' {
    if (element.inString) {
      if (element.escaped) element.escaped = false;
      else if (byte === BACKSLASH) element.escaped = true;
      else if (byte === QUOTE) {
        element.inString = false;
        if (element.depth === 0) return 'after';
      }
      return 'no';
    }
    if (element.depth === 0) {
      // A bare value (number, true, false, null) ends where structure or whitespace begins.
      return isWhitespace(byte) || byte === COMMA || byte === CLOSE_BRACKET ? 'before' : 'no';
    }
    if (byte === QUOTE) element.inString = true;
    else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) element.depth++;
    else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) {
      element.depth--;
      if (element.depth === 0) return 'after';
    }
    return 'no';
  }

  #parse(element: OpenElement, end: number): JsonArrayElement {
    const index = this.#index++;
    const text = Buffer.concat(element.pieces).toString('utf8');
    try {
      return { index, start: element.start, end, value: JSON.parse(text) };
    } catch (error) {
      throw new JsonArrayError(
        `${this.describe({ index, start: element.start })} is not valid JSON: ${describeError(error)}`,
      );
    }
  }

  #invalid(byte: number, offset: number, expected: string): JsonArrayError {
    return new JsonArrayError(
      `not valid JSON at byte ${offset}: expected ${expected}, found ${showByte(byte)}`,
    );
  }

  #tooLong(element: OpenElement): JsonArrayError {
    return new JsonArrayError(
      `${this.describe({ index: this.#index, start: element.start })} is longer than ${this.#maxElementBytes} bytes, ` +
        'the longest element accepted',
    );
  }
}
