import { describeIssues, MalformedMessageError } from './warmMessage';
import * as z from './zod';

/**
 * The body of one access-queue message: read counts per key over a window, as `AccessReporter`
 * sends them. Applications that report reads themselves send the same shape:
 *
 * ```json
 * { "v": 1, "id": "web-1/000042", "at": 1767225600000, "counts": { "product:1": 12, "product:2": 1 } }
 * ```
 * `id` is unique per message (reporter id and sequence), so a redelivered message is counted once;
 * `at` is the time of the last access in the window, in epoch milliseconds.
 */
export const accessEventBatchSchema = z.strictObject({
  v: z.literal(1),
  id: z.string().check(z.minLength(1), z.maxLength(256)),
  at: z.int().check(z.positive()),
  counts: z.record(z.string().check(z.minLength(1), z.maxLength(1_024)), z.int().check(z.positive())),
});

export type AccessEventBatch = z.infer<typeof accessEventBatchSchema>;

/** Parses an access-queue message body. @throws MalformedMessageError saying what is wrong. */
export const parseAccessEventBatch = (body: string): AccessEventBatch => {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new MalformedMessageError(`access event body is not JSON: ${body.slice(0, 80)}`);
  }
  const parsed = accessEventBatchSchema.safeParse(json);
  if (!parsed.success) {
    throw new MalformedMessageError(
      `access event body is not an access event batch: ${describeIssues(parsed.error)}`,
    );
  }
  // Zod copies the counts into a plain object, where a `__proto__` key sets the prototype and is lost;
  // JSON.parse made it an own key like any other, so the counts are copied from there instead.
  const counts = Object.assign(
    Object.create(null) as Record<string, number>,
    (json as Pick<AccessEventBatch, 'counts'>).counts,
  );
  return { ...parsed.data, counts };
};
