import { CacheWarmersError, InvalidKeyError } from '../core';
import * as z from './zod';
import { describeIssues } from './zod';

/** Longest key accepted, in UTF-8 bytes: longer "keys" are almost always a value passed by mistake. */
export const MAX_KEY_BYTES = 1_024;

/**
 * Longest failure reason a queued message carries, in UTF-8 bytes: enough to say what went wrong,
 * small enough that a message of failed keys stays within the queue's limit.
 */
export const MAX_REASON_BYTES = 512;

/** SQS's default (and most common) queue limit for one message, and for one SendMessageBatch in total. */
export const DEFAULT_MAX_MESSAGE_BYTES = 262_144;

/**
 * Characters a key cannot hold. SQS refuses a message body with U+FFFE or U+FFFF (JSON does not escape
 * them); a lone surrogate half is not text at all, and would reach the cache as U+FFFD, so two
 * different keys could share one cache key.
 */
const UNCARRIABLE_CHARACTER = /[\uFFFE\uFFFF]|\p{Cs}/u;

const keySchema = z.string().check(
  z.minLength(1, 'a key must not be empty'),
  z.refine((key) => Buffer.byteLength(key) <= MAX_KEY_BYTES, `a key must be at most ${MAX_KEY_BYTES} bytes`),
  z.refine(
    (key) => !UNCARRIABLE_CHARACTER.test(key),
    'a key must not hold U+FFFE, U+FFFF or a lone surrogate, which SQS messages cannot carry',
  ),
);

/**
 * The body of one warm-queue message: the keys of one run a consumer loads together.
 * `id` is unique per message body (a re-enqueued remainder gets a new one), so progress is counted
 * once however often SQS delivers it; `attempt` counts the deliveries its keys have already failed.
 */
export const warmMessageSchema = z.strictObject({
  v: z.literal(1),
  runId: z.string().check(z.minLength(1)),
  id: z.string().check(z.minLength(1)),
  keys: z.array(keySchema).check(z.minLength(1)),
  attempt: z.int().check(z.gte(0)),
  /** The last error of each key, carried by a re-enqueued remainder so the DLQ gets it at the end. */
  errors: z.optional(z.record(z.string(), z.string())),
});

export type WarmMessage = z.infer<typeof warmMessageSchema>;

/** A queue message body that is not a warm message. */
export class MalformedMessageError extends CacheWarmersError {
  public constructor(message: string) {
    super(message);
    this.name = 'MalformedMessageError';
  }
}

// Defined beside the locale setup it keeps in the bundles; still exported here, where its users import it.
export { describeIssues };

/** Parses a queue message body. @throws MalformedMessageError saying what is wrong. */
export const parseWarmMessage = (body: string): WarmMessage => {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new MalformedMessageError(`message body is not JSON: ${body.slice(0, 80)}`);
  }
  const parsed = warmMessageSchema.safeParse(json);
  if (!parsed.success)
    throw new MalformedMessageError(`message body is not a warm message: ${describeIssues(parsed.error)}`);
  return parsed.data;
};

/** A key as error messages quote it: its start, JSON-escaped, with the characters JSON leaves raw escaped too. */
const showKey = (key: string): string =>
  JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key).replace(
    /[\uFFFE\uFFFF]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16)}`,
  );

/** Why a key cannot be queued (too long, a character SQS refuses, …), or undefined when it can. */
export const keyProblem = (key: unknown): string | undefined => {
  // The common case without the schema, which costs microseconds a key: a short key (at most 3 bytes
  // a UTF-16 unit, so within the byte limit) with no character SQS refuses.
  if (
    typeof key === 'string' &&
    key.length > 0 &&
    key.length * 3 <= MAX_KEY_BYTES &&
    !UNCARRIABLE_CHARACTER.test(key)
  )
    return undefined;
  const parsed = keySchema.safeParse(key);
  return parsed.success ? undefined : describeIssues(parsed.error);
};

/** Checks keys before they are queued. @throws InvalidKeyError naming the first bad key and why. */
export const validateKeys = (keys: readonly unknown[]): string[] => {
  keys.forEach((key, index) => {
    const problem = keyProblem(key);
    if (problem !== undefined) {
      const shown = typeof key === 'string' ? showKey(key) : String(key);
      throw new InvalidKeyError(`key ${index} (${shown}): ${problem}`);
    }
  });
  return keys as string[];
};

const byteLength = (text: string): number => Buffer.byteLength(text);

/**
 * Packs keys, in order, into as few messages as the limits allow: at most `maxKeysPerMessage` keys
 * and `maxMessageBytes` bytes each. Message ids are `<runId>/<n>`, n counting from `firstMessage`
 * (default 0: a run planned in steps packs each step after the messages of the steps before).
 */
export const packKeysIntoMessages = (
  runId: string,
  keys: readonly string[],
  limits: { maxKeysPerMessage: number; maxMessageBytes: number; firstMessage?: number },
): WarmMessage[] => {
  const firstMessage = limits.firstMessage ?? 0;
  const envelopeBytes = byteLength(
    JSON.stringify({ v: 1, runId, id: `${runId}/${firstMessage + keys.length}`, keys: [], attempt: 0 }),
  );
  const messages: WarmMessage[] = [];
  let current: string[] = [];
  let currentBytes = envelopeBytes;
  const close = () => {
    if (current.length === 0) return;
    messages.push({
      v: 1,
      runId,
      id: `${runId}/${firstMessage + messages.length}`,
      keys: current,
      attempt: 0,
    });
    current = [];
    currentBytes = envelopeBytes;
  };
  for (const key of keys) {
    // A JSON-encoded key plus the comma that separates it from the next.
    const keyBytes = byteLength(JSON.stringify(key)) + 1;
    if (envelopeBytes + keyBytes > limits.maxMessageBytes) {
      throw new InvalidKeyError(
        `key "${key.slice(0, 40)}…" does not fit in a ${limits.maxMessageBytes}-byte message`,
      );
    }
    if (current.length >= limits.maxKeysPerMessage || currentBytes + keyBytes > limits.maxMessageBytes)
      close();
    current.push(key);
    currentBytes += keyBytes;
  }
  close();
  return messages;
};

/** `reason`, cut to at most `maxBytes` UTF-8 bytes (ending in "…" when cut), never mid-character. */
export const truncateReason = (reason: string, maxBytes = MAX_REASON_BYTES): string => {
  if (byteLength(reason) <= maxBytes) return reason;
  const ellipsis = '…';
  // A character cut in two decodes as U+FFFD: drop it rather than carry half a character.
  const kept = Buffer.from(reason)
    .subarray(0, maxBytes - byteLength(ellipsis))
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return kept + ellipsis;
};

/**
 * Re-packs a message of failed keys (a remainder to re-enqueue or dead-letter) into as few messages
 * as fit in `maxMessageBytes` each: every reason cut to {@link MAX_REASON_BYTES}, and the keys split
 * across messages `<id>.<n>` when they do not fit in one. Each key keeps its reason in its own part.
 */
export const packFailedKeys = (message: WarmMessage, maxMessageBytes: number): WarmMessage[] => {
  const errors = message.errors ?? {};
  const reasons = new Map(
    message.keys.map((key) => [
      key,
      truncateReason(Object.hasOwn(errors, key) ? (errors[key] as string) : ''),
    ]),
  );
  const whole = { ...message, errors: Object.fromEntries(reasons) };
  if (byteLength(JSON.stringify(whole)) <= maxMessageBytes) return [whole];

  const envelopeBytes = byteLength(
    JSON.stringify({ ...message, id: `${message.id}.${message.keys.length}`, keys: [], errors: {} }),
  );
  const parts: string[][] = [];
  let current: string[] = [];
  let currentBytes = envelopeBytes;
  for (const key of message.keys) {
    // The key in `keys` and in `errors`, with its reason, each followed by a comma.
    const keyBytes =
      2 * (byteLength(JSON.stringify(key)) + 1) + byteLength(JSON.stringify(reasons.get(key))) + 1;
    if (current.length > 0 && currentBytes + keyBytes > maxMessageBytes) {
      parts.push(current);
      current = [];
      currentBytes = envelopeBytes;
    }
    current.push(key);
    currentBytes += keyBytes;
  }
  parts.push(current);
  return parts.map((keys, index) => ({
    ...message,
    id: `${message.id}.${index}`,
    keys,
    errors: Object.fromEntries(keys.map((key) => [key, reasons.get(key) ?? ''])),
  }));
};
