import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_KEY_BYTES,
  MAX_REASON_BYTES,
  MalformedMessageError,
  packFailedKeys,
  packKeysIntoMessages,
  parseWarmMessage,
  truncateReason,
  validateKeys,
  type WarmMessage,
} from '../../functions/adapters/warmMessage';
import { InvalidKeyError } from '../../functions/core';

const bytes = (text: string): number => Buffer.byteLength(text);

const keyArbitrary = fc.oneof(
  fc.string({ minLength: 1, maxLength: 30 }),
  fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }),
  fc.string({ minLength: 1, maxLength: 12, unit: 'binary' }),
);

const validMessage = { v: 1, runId: 'run-1', id: 'run-1/0', keys: ['a', 'b'], attempt: 0 };

describe('packKeysIntoMessages', () => {
  it('keeps every key exactly once, in order, within the key count and byte limits', () => {
    fc.assert(
      fc.property(
        fc.array(keyArbitrary, { maxLength: 200 }),
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 600 }),
        (keys, runId, maxKeysPerMessage, slack) => {
          // The smallest limit that fits the largest key in a message of its own, plus some slack.
          const envelope = bytes(
            JSON.stringify({ v: 1, runId, id: `${runId}/${keys.length}`, keys: [], attempt: 0 }),
          );
          const largestKey = Math.max(0, ...keys.map((key) => bytes(JSON.stringify(key)) + 1));
          const maxMessageBytes = envelope + largestKey + slack;

          const messages = packKeysIntoMessages(runId, keys, { maxKeysPerMessage, maxMessageBytes });

          expect(messages.flatMap((message) => message.keys)).toEqual(keys);
          messages.forEach((message, index) => {
            const body = JSON.stringify(message);
            expect(message.keys.length).toBeGreaterThan(0);
            expect(message.keys.length).toBeLessThanOrEqual(maxKeysPerMessage);
            expect(bytes(body)).toBeLessThanOrEqual(maxMessageBytes);
            expect(message).toMatchObject({ v: 1, runId, id: `${runId}/${index}`, attempt: 0 });
            expect(parseWarmMessage(body)).toEqual(message);
          });
        },
      ),
    );
  });

  it('fills messages up to the key count when bytes allow', () => {
    const keys = Array.from({ length: 250 }, (_, index) => `key:${index}`);

    const messages = packKeysIntoMessages('run', keys, { maxKeysPerMessage: 100, maxMessageBytes: 262_144 });

    expect(messages.map((message) => message.keys.length)).toEqual([100, 100, 50]);
  });

  it('refuses a key that cannot fit in a message of its own', () => {
    expect(() =>
      packKeysIntoMessages('run', ['short', 'x'.repeat(200)], {
        maxKeysPerMessage: 10,
        maxMessageBytes: 150,
      }),
    ).toThrow(InvalidKeyError);
  });
});

describe('parseWarmMessage', () => {
  it('returns a well-formed message', () => {
    expect(parseWarmMessage(JSON.stringify(validMessage))).toEqual(validMessage);
  });

  it.each([
    ['not JSON', '{"v":1,', /message body is not JSON/],
    ['a missing runId', JSON.stringify({ ...validMessage, runId: undefined }), /runId:/],
    [
      'an empty key',
      JSON.stringify({ ...validMessage, keys: ['a', ''] }),
      /keys\.1: a key must not be empty/,
    ],
    ['no keys', JSON.stringify({ ...validMessage, keys: [] }), /keys:/],
    ['a negative attempt', JSON.stringify({ ...validMessage, attempt: -1 }), /attempt:/],
    ['another version', JSON.stringify({ ...validMessage, v: 2 }), /v:/],
    ['an unknown field', JSON.stringify({ ...validMessage, priority: 1 }), /priority/],
  ])('rejects %s, naming what is wrong', (_, body, reason) => {
    expect(() => parseWarmMessage(body)).toThrow(MalformedMessageError);
    expect(() => parseWarmMessage(body)).toThrow(reason);
  });
});

describe('validateKeys', () => {
  it('returns valid keys, up to exactly the byte limit', () => {
    const longest = 'é'.repeat(MAX_KEY_BYTES / 2);

    expect(validateKeys(['a', longest])).toEqual(['a', longest]);
  });

  it.each([
    ['an empty key', ['a', 'b', ''], /^key 2 \(""\): a key must not be empty$/],
    // 513 two-byte characters: short in characters, over the limit in bytes.
    [
      'a key over the byte limit',
      ['é'.repeat(513)],
      /^key 0 \("é{40}…"\): a key must be at most 1024 bytes$/,
    ],
    ['a number', ['a', 42], /^key 1 \(42\): /],
    ['null', [null], /^key 0 \(null\): /],
    [
      'a character SQS cannot carry',
      ['good:1', 'bad:\uFFFE'],
      /^key 1 \("bad:\\ufffe"\): a key must not hold U\+FFFE, U\+FFFF or a lone surrogate, which SQS messages cannot carry$/,
    ],
    ['a lone surrogate', ['\uD800x'], /^key 0 \("\\ud800x"\): a key must not hold/],
  ])('rejects %s, naming its index', (_, keys, reason) => {
    expect(() => validateKeys(keys)).toThrow(InvalidKeyError);
    expect(() => validateKeys(keys)).toThrow(reason);
  });
});

describe('packFailedKeys', () => {
  it('keeps every key once with its (truncated) reason, each message within the limit', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(keyArbitrary, { minLength: 1, maxLength: 60 }),
        fc.string({ maxLength: 2_000, unit: 'grapheme' }),
        fc.integer({ min: 4_000, max: 40_000 }),
        (keys, reason, maxMessageBytes) => {
          const message: WarmMessage = {
            ...validMessage,
            v: 1,
            keys,
            attempt: 2,
            errors: Object.fromEntries(keys.map((key) => [key, `${key}: ${reason}`])),
          };

          const parts = packFailedKeys(message, maxMessageBytes);

          expect(parts.flatMap((part) => part.keys)).toEqual(keys);
          for (const part of parts) {
            expect(bytes(JSON.stringify(part))).toBeLessThanOrEqual(maxMessageBytes);
            expect(part).toMatchObject({ runId: 'run-1', attempt: 2 });
            for (const key of part.keys) {
              expect(part.errors?.[key]).toBe(truncateReason(`${key}: ${reason}`));
            }
          }
          expect(new Set(parts.map((part) => part.id)).size).toBe(parts.length);
        },
      ),
    );
  });

  it('cuts a long reason at the byte limit, never inside a character', () => {
    const cut = truncateReason('é'.repeat(MAX_REASON_BYTES));

    expect(bytes(cut)).toBeLessThanOrEqual(MAX_REASON_BYTES);
    expect(cut).toMatch(/^é+…$/);
    expect(truncateReason('short')).toBe('short');
  });
});
