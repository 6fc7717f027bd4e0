import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The AWS clients of one container, created once at cold start and shared by every invocation: SQS
 * and DynamoDB, which every function uses. The clients only some configurations call (S3, Lambda,
 * ElastiCache, Secrets Manager) are created where a source or the cache needs them, so a bundle holds
 * no client its configuration never calls (see `BUNDLE_PARTS`).
 * Endpoints come from the SDK's own `AWS_ENDPOINT_URL_<SERVICE>` variables, which is how the local
 * runtime points the same handlers at fauxqs and dynalite.
 */
export const createAwsClients = () => {
  const dynamodb = new DynamoDBClient({});
  return {
    // In AWS a queue URL's host is the regional endpoint anyway; locally it names no real host.
    sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
    dynamodb: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }),
  };
};

export type AwsClients = ReturnType<typeof createAwsClients>;
