import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { describeIssues } from '../adapters/warmMessage';
import type * as z from '../adapters/zod';
import { CacheWarmersError, ConfigurationError, InvalidKeyError } from '../core';

/** One JSON logger for every function; `runId` is appended per invocation as the correlation key. */
export const logger = new Logger({ serviceName: 'cache-warmers' });

/** CloudWatch EMF metrics: KeysPlanned, KeysWarmed, KeysFailed, LoadLatency, RunDuration. */
export const metrics = new Metrics({ namespace: 'CacheWarmers', serviceName: 'cache-warmers' });

/** A console, CLI or schedule payload that is not what the function accepts. */
export class InvalidRequestError extends CacheWarmersError {
  public constructor(message: string) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}

/** Validates an invocation payload. @throws InvalidRequestError naming each field that is wrong. */
export const parseRequest = <Schema extends z.ZodMiniType>(
  schema: Schema,
  event: unknown,
): z.output<Schema> => {
  const parsed = schema.safeParse(event ?? {});
  if (!parsed.success) throw new InvalidRequestError(`invalid payload: ${describeIssues(parsed.error)}`);
  return parsed.data;
};

/** What a console or CLI caller gets back for bad input: the reason, not a stack trace. */
export interface ErrorResponse {
  ok: false;
  error: string;
}

/** Turns bad input into `{ ok: false, error }`; anything else still fails the invocation. */
const answerBadInput = (): MiddlewareObj<unknown, unknown, Error, Context> => ({
  onError: (request) => {
    const { error } = request;
    if (
      error instanceof InvalidRequestError ||
      error instanceof InvalidKeyError ||
      error instanceof ConfigurationError
    ) {
      logger.warn('rejected invocation', { reason: error.message });
      request.response = { ok: false, error: error.message } satisfies ErrorResponse;
    }
  },
});

/**
 * Publishes the invocation's metrics (and the cold start, once per container). Unlike Powertools'
 * `logMetrics`, an invocation that recorded none (a status query, a skipped run) publishes nothing
 * instead of logging a warning on every call.
 */
const publishMetrics = (): MiddlewareObj<unknown, unknown, Error, Context> => {
  const publish = () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return {
    before: (request) => metrics.captureColdStartMetric(request.context.functionName),
    after: publish,
    onError: publish,
  };
};

/**
 * Wraps a handler's business logic with the project's middlewares: Lambda context in every log line,
 * metrics flushed (cold starts counted), and clear answers to bad input.
 */
export const withObservability = <Event, Result>(
  handler: (event: Event, context: Context) => Promise<Result>,
) =>
  middy(handler)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(publishMetrics())
    .use(answerBadInput());
