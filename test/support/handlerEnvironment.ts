import type { LocalDynamo } from './dynalite';
import type { LocalSqs } from './fauxqs';

/**
 * Points the handlers' AWS clients at the local emulators through the SDK's own endpoint variables,
 * as the local runtime does, and sets the resource variables the CDK construct sets.
 */
export const useLocalAws = (sqs: LocalSqs, dynamo: LocalDynamo, resources: Record<string, string>): void => {
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    ...resources,
  });
};
