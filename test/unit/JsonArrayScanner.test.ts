import { describe, expect, it } from 'vitest';
import {
  type JsonArrayElement,
  JsonArrayError,
  JsonArrayScanner,
} from '../../functions/adapters/JsonArrayScanner';

/** Scans `bytes` fed `chunkSize` bytes at a time, from byte `from` of them. */
const scan = (bytes: Buffer, chunkSize: number, from = 0, maxElementBytes = 200): JsonArrayElement[] => {
  const scanner = new JsonArrayScanner({ from, maxElementBytes });
  const elements: JsonArrayElement[] = [];
  for (let at = from; at < bytes.length; at += chunkSize) {
    elements.push(...scanner.push(bytes.subarray(at, Math.min(at + chunkSize, bytes.length))));
  }
  scanner.end();
  return elements;
};

const scanText = (text: string, chunkSize = 1): unknown[] =>
  scan(Buffer.from(text), chunkSize).map((element) => element.value);

describe('JsonArrayScanner', () => {
  // A byte order mark, escapes (quotes, backslashes, \u, brackets and commas in strings), multi-byte
  // UTF-8, nested values and bare values: every state a chunk boundary can cut.
  const text =
    '\uFEFF \n[ "a\\"b" ,{"key":"c€\\\\","weight":2}\n,\t3, "[,]{", "\\u00e9😀",\r\n' +
    '{"key": "x", "weight": 1.5e2, "tags": ["]", {"}": "\\"]"}]}, true, null  ]\n ';
  const values = [
    'a"b',
    { key: 'c€\\', weight: 2 },
    3,
    '[,]{',
    'é😀',
    { key: 'x', weight: 150, tags: [']', { '}': '"]' }] },
    true,
    null,
  ];

  it.each([1, 2, 3, 7, 64, 10_000])(
    'finds every element and its exact byte range in chunks of %i bytes',
    (chunkSize) => {
      const bytes = Buffer.from(text);
      const elements = scan(bytes, chunkSize);

      expect(elements.map((element) => element.value)).toEqual(values);
      expect(elements.map((element) => element.index)).toEqual(values.map((_, index) => index));
      for (const { start, end, value } of elements) {
        expect(JSON.parse(bytes.toString('utf8', start, end))).toEqual(value);
      }
    },
  );

  it('resumed just past any element, finds the elements after it', () => {
    const bytes = Buffer.from(text);
    const elements = scan(bytes, 10_000);

    for (const [index, { end }] of elements.entries()) {
      expect(scan(bytes, 3, end).map((element) => element.value)).toEqual(values.slice(index + 1));
    }
  });

  it('reads an empty array, and names what is not an array', () => {
    expect(scanText(' [ ] ')).toEqual([]);
    expect(() => scanText('{"keys": ["a"]}')).toThrow(
      new JsonArrayError(
        'the top-level JSON value is not an array (it starts with "{" at byte 0): ' +
          'expected ["key", { "key": "other", "weight": 5 }, …]',
      ),
    );
  });

  it.each([
    ['["a" "b"]', 'not valid JSON at byte 5: expected "," or "]", found """'],
    ['["a",]', 'not valid JSON at byte 5: expected an element, found "]"'],
    ['[,"a"]', 'not valid JSON at byte 1: expected an element, found ","'],
    ['["a", {"key": x}]', 'element 1 (at byte 6) is not valid JSON: '],
    ['["a"] "b"', 'content after the closing "]" at byte 6: """'],
    ['["a", "b"', 'the JSON array has no closing "]" (the text ends at byte 9)'],
    ['["a", "b', 'the JSON array has no closing "]" (the text ends at byte 8)'],
  ])('refuses %s', (json, message) => {
    expect(() => scanText(json)).toThrow(JsonArrayError);
    expect(() => scanText(json)).toThrow(message);
  });

  it('names an element of a resumed scan by its byte', () => {
    const bytes = Buffer.from('["a", "b", {"key": x}]');

    expect(() => scan(bytes, 1, 4)).toThrow('the element at byte 11 is not valid JSON: ');
  });

  it('takes an element of the bound, and stops at the byte past it', () => {
    const long = new JsonArrayScanner({ from: 0, maxElementBytes: 10 });
    const found = long.push(Buffer.from('["12345678", "123456789"]'));
    expect(found.next().value).toMatchObject({ value: '12345678' });
    expect(() => found.next()).toThrow(
      new JsonArrayError('element 1 (at byte 13) is longer than 10 bytes, the longest element accepted'),
    );
  });
});
