import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { RUNS_TABLE } from '../functions/adapters/tables';

/**
 * The DynamoDB calls `DynamoRunStore` (functions/adapters/DynamoRunStore.ts) makes on the runs table,
 * in one list: when the store calls something new, add it here (a unit test compares this list with
 * the commands the store imports).
 */
export const RUN_STORE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Query',
] as const;

/**
 * Grants a function the calls the run store makes, on the runs table and its named indexes only:
 * narrower than `grantReadWriteData`, which adds Scan and the batch calls and every index (`index/*`).
 */
export const grantRunStore = (table: dynamodb.ITable, grantee: iam.IGrantable): iam.Grant =>
  iam.Grant.addToPrincipal({
    grantee,
    actions: [...RUN_STORE_ACTIONS],
    resourceArns: [
      table.tableArn,
      ...RUNS_TABLE.globalSecondaryIndexes.map((index) => `${table.tableArn}/index/${index.indexName}`),
    ],
  });
