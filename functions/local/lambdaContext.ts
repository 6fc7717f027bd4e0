import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { CacheWarmersError } from '../core';

/**
 * A Lambda `Context` for running a handler outside Lambda (the local runtime, its poller, tests),
 * with a real deadline behind `getRemainingTimeInMillis`.
 */
export const createLambdaContext = (options: {
  functionName: string;
  deadline: number;
  requestId?: string;
  region?: string;
  accountId?: string;
}): Context => {
  const { functionName, region = 'us-east-1', accountId = '000000000000' } = options;
  const unsupported = (): never => {
    throw new CacheWarmersError(
      'context.done/fail/succeed are not supported: return or throw from the handler',
    );
  };
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
    memoryLimitInMB: '128',
    awsRequestId: options.requestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${day}/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, options.deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
};
