import * as z from '../adapters/zod';
import { parseRequest } from './observability';

/** The part of an SQS event the consume and track functions read; other fields pass unchecked. */
const sqsEventSchema = z.object({
  Records: z.array(z.object({ messageId: z.string().check(z.minLength(1)), body: z.string() })),
});

export type SqsEventRecords = z.output<typeof sqsEventSchema>['Records'];

/**
 * The records of an SQS event. An invocation that is not one (a test event from the console, a
 * record without a body) is bad input, answered as such rather than failing on a missing field.
 * @throws InvalidRequestError naming what is missing.
 */
export const parseSqsEvent = (event: unknown): SqsEventRecords => parseRequest(sqsEventSchema, event).Records;
