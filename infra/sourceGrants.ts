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

/**
 * The one statement a key source needs: the calls its provider makes (functions/adapters/keySources.ts)
 * on exactly its object, table or index, or function. `undefined` for sources that call nothing.
 */
export const keySourceStatement = (
  scope: IConstruct,
  source: KeySourceConfig,
): iam.PolicyStatement | undefined => {
  switch (source.type) {
    case 's3':
      return new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [
          Stack.of(scope).formatArn({
            service: 's3',
            region: '',
            account: '',
            resource: source.bucket,
            resourceName: source.key,
          }),
        ],
      });
    case 'dynamodb': {
      const table = tableArn(scope, source.tableName);
      return new iam.PolicyStatement({
        actions: ['dynamodb:Query', 'dynamodb:Scan'],
        resources: [source.indexName ? `${table}/index/${source.indexName}` : table],
      });
    }
    case 'lambda':
      return invoke(scope, source.functionName);
    case 'static':
    case 'adaptive':
      return undefined;
  }
};

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
