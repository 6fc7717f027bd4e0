import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { type KeyAttribute, RUNS_TABLE, type TableDesign, TRACKER_TABLE } from '../functions/adapters/tables';

const attributeType = (attribute: KeyAttribute): dynamodb.Attribute => ({
  name: attribute.name,
  type: attribute.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
});

/** A table of `design` (functions/adapters/tables.ts), on demand, with point-in-time recovery. */
const createTable = (
  scope: Construct,
  id: string,
  design: TableDesign,
  deletionProtection: boolean,
): dynamodb.Table => {
  const table = new dynamodb.Table(scope, id, {
    partitionKey: attributeType(design.partitionKey),
    ...(design.sortKey ? { sortKey: attributeType(design.sortKey) } : {}),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: design.timeToLiveAttribute,
    deletionProtection,
    removalPolicy: deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
  for (const index of design.globalSecondaryIndexes) {
    table.addGlobalSecondaryIndex({
      indexName: index.indexName,
      partitionKey: attributeType(index.partitionKey),
      ...(index.sortKey ? { sortKey: attributeType(index.sortKey) } : {}),
      projectionType:
        index.projection === 'ALL' ? dynamodb.ProjectionType.ALL : dynamodb.ProjectionType.KEYS_ONLY,
    });
  }
  return table;
};

/**
 * The warmer's tables: the runs table (progress, figures, cancel, the run lock) and the tracker table
 * (access counts the adaptive source reads). Like every part of the warmer, it adds its resources to
 * the warmer's own scope, so their logical ids stay those of a deployed stack.
 */
export class WarmerTables {
  public readonly runsTable: dynamodb.Table;
  public readonly trackerTable: dynamodb.Table;

  public constructor(scope: Construct, deletionProtection: boolean) {
    this.runsTable = createTable(scope, 'RunsTable', RUNS_TABLE, deletionProtection);
    this.trackerTable = createTable(scope, 'TrackerTable', TRACKER_TABLE, deletionProtection);
  }
}
