import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The AWS clients of one container, created once at cold start and shared by every invocation: SQS
 * and DynamoDB, which every function uses. A function adds the others it calls (`createS3Client`,
 * `createLambdaClient`, `createCacheClients`), so its bundle holds no client it never calls.
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

/** For S3 key sources (warm). */
export const createS3Client = () => new S3Client({});

/** For Lambda key sources (warm) and value sources (consume). */
export const createLambdaClient = () => new LambdaClient({});

/** The clients the cache store needs to find its cache by name and read its AUTH token. */
export const createCacheClients = () => ({
  elasticache: new ElastiCacheClient({}),
  secretsManager: new SecretsManagerClient({}),
});

export type CacheClients = ReturnType<typeof createCacheClients>;

export type AwsClients = ReturnType<typeof createAwsClients>;
