import { type MessageProgress, SKIPPED_SAMPLE_KEYS, type SkippedReason } from './RunStore';

/** The reason of skipped keys a message counted without saying why. */
export const UNRECORDED_REASON = 'no reason recorded';
/** Reasons are kept to this many characters, so a long error text cannot grow a run record. */
const REASON_CHARS = 120;

/**
 * A reason as a run counts it: its figures masked (`not reached before warmupTimeoutSeconds (4.8 s)`
 * → `(n s)`), so reasons that differ only by a number count together and a run keeps a handful of
 * reasons, not one per message; cut to `REASON_CHARS`.
 */
export const reasonKind = (reason: string): string => {
  const masked = reason.replace(/\d+(?:[.,]\d+)*/g, 'n');
  return masked.length > REASON_CHARS ? `${masked.slice(0, REASON_CHARS - 1)}…` : masked;
};
/** A sample stops before this many UTF-8 bytes (keys may be up to 1 KB), keeping at least one key. */
const SAMPLE_BYTES = 1_024;

/** `keys` added to `sample` up to the sample's bounds, without repeats. */
export const extendSample = (sample: readonly string[], keys: Iterable<string>): string[] => {
  const extended = [...sample];
  let bytes = extended.reduce((total, key) => total + Buffer.byteLength(key), 0);
  for (const key of keys) {
    if (extended.length >= SKIPPED_SAMPLE_KEYS) break;
    if (extended.includes(key)) continue;
    bytes += Buffer.byteLength(key);
    if (extended.length > 0 && bytes > SAMPLE_BYTES) break;
    extended.push(key);
  }
  return extended;
};

/**
 * One message's skipped keys by reason, each with a bounded sample.
 * @throws Error when the message lists more skipped keys than it counts.
 */
export const summarizeSkippedKeys = (progress: MessageProgress): SkippedReason[] => {
  const keysByReason = new Map<string, string[]>();
  for (const [key, reason] of progress.skippedKeys ?? []) {
    const kind = reasonKind(reason);
    keysByReason.set(kind, [...(keysByReason.get(kind) ?? []), key]);
  }
  const listed = progress.skippedKeys?.size ?? 0;
  if (listed > progress.skipped) {
    throw new Error(`progress lists ${listed} skipped keys but counts ${progress.skipped}`);
  }
  const reasons = [...keysByReason].map(([reason, keys]) => ({
    reason,
    count: keys.length,
    sample: extendSample([], keys),
  }));
  if (listed < progress.skipped) {
    reasons.push({ reason: UNRECORDED_REASON, count: progress.skipped - listed, sample: [] });
  }
  return reasons;
};

/** Several lists of skip reasons as one: counts added, samples joined within their bounds, most frequent first. */
export const mergeSkippedReasons = (lists: Iterable<readonly SkippedReason[]>): SkippedReason[] => {
  const merged = new Map<string, SkippedReason>();
  for (const list of lists) {
    for (const { reason, count, sample } of list) {
      const known = merged.get(reason);
      merged.set(
        reason,
        known
          ? { reason, count: known.count + count, sample: extendSample(known.sample, sample) }
          : { reason, count, sample: extendSample([], sample) },
      );
    }
  }
  return [...merged.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
};
