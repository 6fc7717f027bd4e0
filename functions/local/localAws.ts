/** The region every local client and function uses. */
export const LOCAL_REGION = 'us-east-1';

/** Credentials for the emulators, which check none; never a real key, so nothing reaches an AWS account. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Log levels Powertools Logger accepts in `POWERTOOLS_LOG_LEVEL`. */
export type LocalLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';

/**
 * The process variables that point the handlers' AWS clients at the local emulators through the SDK's
 * own `AWS_ENDPOINT_URL_<SERVICE>` variables, with the local region and credentials. Lambda sets the
 * region and credentials itself; the endpoints are what only make sense locally. Metrics are off:
 * their EMF lines would otherwise land on stdout.
 *
 * @example
 * Object.assign(process.env, localAwsEnvironment({ sqs: sqs.endpoint, dynamodb: dynamo.endpoint }));
 */
export const localAwsEnvironment = (
  endpoints: { sqs: string; dynamodb: string },
  logLevel: LocalLogLevel = 'WARN',
): Record<string, string> => ({
  AWS_REGION: LOCAL_REGION,
  AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  AWS_ENDPOINT_URL_SQS: endpoints.sqs,
  AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: logLevel,
});
