import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { headerSecretArns } from '../functions/adapters/headerSecrets';
import type { KeySourceConfig, ValueSourceConfig } from '../functions/adapters/sourceConfig';

const tableArn = (scope: IConstruct, tableName: string): string =>
  Stack.of(scope).formatArn({ service: 'dynamodb', resource: 'table', resourceName: tableName });

/** The ARN of a function a source names by name, `name:alias` or ARN. */
const functionArn = (scope: IConstruct, functionName: string): string => {
  if (functionName.startsWith('arn:')) return functionName;
  return Stack.of(scope).formatArn({
    service: 'lambda',
    resource: 'function',
    resourceName: functionName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
};

const invoke = (scope: IConstruct, functionName: string): iam.PolicyStatement =>
  new iam.PolicyStatement({
    actions: ['lambda:InvokeFunction'],
    resources: [functionArn(scope, functionName)],
  });

/** The ARN of an S3 bucket, or of its objects named `objects` (a key, or a prefix and `*`). */
const s3Arn = (scope: IConstruct, bucket: string, objects?: string): string =>
  Stack.of(scope).formatArn({
    service: 's3',
    region: '',
    account: '',
    resource: bucket,
    ...(objects === undefined ? {} : { resourceName: objects }),
  });

/**
 * The statements a key source needs: the calls its provider makes (functions/adapters/keySources.ts)
 * on exactly its object, prefix, table or index, or function. None for sources that call nothing.
 */
export const keySourceStatements = (scope: IConstruct, source: KeySourceConfig): iam.PolicyStatement[] => {
  switch (source.type) {
    case 's3':
      if ('key' in source) {
        return [
          new iam.PolicyStatement({
            actions: ['s3:GetObject'],
            resources: [s3Arn(scope, source.bucket, source.key)],
          }),
        ];
      }
      return [
        // Listing is granted on the bucket, narrowed by the prefix the provider lists.
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [s3Arn(scope, source.bucket)],
          conditions: { StringLike: { 's3:prefix': `${source.prefix}*` } },
        }),
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [s3Arn(scope, source.bucket, `${source.prefix}*`)],
        }),
      ];
    case 'dynamodb': {
      const table = tableArn(scope, source.tableName);
      return [
        new iam.PolicyStatement({
          actions: ['dynamodb:Query', 'dynamodb:Scan'],
          resources: [source.indexName ? `${table}/index/${source.indexName}` : table],
        }),
      ];
    }
    case 'lambda':
      return [invoke(scope, source.functionName)];
    case 'static':
    case 'adaptive':
      return [];
  }
};

/**
 * The cdk-nag finding a key source's grant raises, with why it is accepted: the objects under an S3
 * prefix are named by a wildcard, the only way IAM names them.
 */
export const keySourceFinding = (source: KeySourceConfig): { id: string; reason: string } | undefined =>
  source.type === 's3' && 'prefix' in source
    ? {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${source.bucket}/${source.prefix}*]`,
        reason: `the key source reads every object under s3://${source.bucket}/${source.prefix}, which IAM names only with a wildcard`,
      }
    : undefined;

/** The secrets a value source reads (HTTP header values), each once. */
export const valueSourceSecretArns = (source: ValueSourceConfig | undefined): string[] =>
  source?.type === 'http' ? headerSecretArns(source.headers) : [];

/**
 * The one statement a value source needs: the calls its loader makes (functions/adapters/valueSources.ts)
 * on exactly its table or function, or the secrets its HTTP headers are read from. `undefined` for
 * sources that call no AWS API.
 */
export const valueSourceStatement = (
  scope: IConstruct,
  source: ValueSourceConfig,
): iam.PolicyStatement | undefined => {
  switch (source.type) {
    case 'dynamodb':
      return new iam.PolicyStatement({
        actions: ['dynamodb:BatchGetItem'],
        resources: [tableArn(scope, source.tableName)],
      });
    case 'lambda':
      return invoke(scope, source.functionName);
    case 'http': {
      const secretArns = valueSourceSecretArns(source);
      return secretArns.length > 0
        ? new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: secretArns })
        : undefined;
    }
    case 'module':
      return undefined;
  }
};
