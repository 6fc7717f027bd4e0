import { type CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Records why a cdk-nag finding is accepted on `scope` (and everything under it). */
export const acknowledge = (scope: IConstruct, id: string, reason: string): void =>
  Validations.of(scope).acknowledge({ id, reason });

/** How cdk-nag names the ARN of a construct's CloudFormation resource in a finding: `<LogicalId.Arn>`. */
export const arnFinding = (construct: IConstruct): string =>
  `<${Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnResource)}.Arn>`;
