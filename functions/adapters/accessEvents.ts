import * as z from 'zod';
import { describeIssues, MalformedMessageError } from './warmMessage';

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
export const accessEventBatchSchema = z
  .object({
    v: z.literal(1),
    id: z.string().min(1).max(256),
    at: z.number().int().positive(),
    counts: z.record(z.string().min(1).max(1_024), z.number().int().positive()),
  })
  .strict();

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
  return parsed.data;
};
