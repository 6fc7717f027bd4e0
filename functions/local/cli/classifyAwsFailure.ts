import { describeError } from '../../core';
import { ExitCode } from './constants';
import { CliError, RemoteError, TargetUnavailableError } from './errors';

/** Socket errors that mean nothing answered at the endpoint. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
]);

export interface FailureContext {
  /** What was being asked, e.g. `invoking cache-warmers-warm`. */
  action: string;
  /** Where: "the local runtime at …", "stack Foo in eu-west-1". */
  target: string;
  /** What to do when nothing answers there, e.g. how to start the local runtime. */
  unreachableHint: string;
}

/**
 * Turns what the AWS SDK throws outside a service's own errors into a `CliError` that says what to
 * do: interrupted, no network or endpoint, no credentials, no region, throttled; any other service
 * error becomes a `RemoteError` with its message.
 */
export const classifyAwsFailure = (error: unknown, context: FailureContext): CliError => {
  if (error instanceof CliError) return error;
  const { name, code, message, $metadata } = error as {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  if (name === 'AbortError')
    return new CliError(`interrupted while ${context.action}`, ExitCode.interrupted, { cause: error });
  if ((code && UNREACHABLE_CODES.has(code)) || name === 'TimeoutError')
    return new TargetUnavailableError(
      `${context.target} does not answer (${code ?? name}): ${context.unreachableHint}`,
      { cause: error },
    );
  if (name === 'CredentialsProviderError')
    return new TargetUnavailableError(
      `no AWS credentials for ${context.target}: set AWS_PROFILE (then \`aws sso login\` if it uses SSO) ` +
        'or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      { cause: error },
    );
  if (message === 'Region is missing')
    return new TargetUnavailableError('no AWS region: pass --region R or set AWS_REGION', { cause: error });
  if (name && /Throttl|TooManyRequests/.test(name))
    return new RemoteError(
      `throttled while ${context.action} (${name}): wait a moment and try again, ` +
        "or raise the function's reserved concurrency",
      { cause: error },
    );
  if ($metadata?.httpStatusCode !== undefined)
    return new RemoteError(`${context.action} failed: ${name}: ${describeError(error)}`, { cause: error });
  return new TargetUnavailableError(`${context.action} failed: ${describeError(error)}`, { cause: error });
};
