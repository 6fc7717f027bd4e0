import { Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';

/** The services the construct reaches through gateway endpoints. */
export type GatewayService = 'dynamodb' | 's3';

/**
 * The ID of the AWS-managed prefix list of a gateway endpoint's service in the stack's region, looked
 * up at deploy time: CloudFormation has no attribute for it, and a synth-time lookup needs the account.
 */
const gatewayPrefixListId = (scope: Construct, service: GatewayService): string => {
  const path = 'PrefixLists.0.PrefixListId';
  const lookup = new cr.AwsCustomResource(scope, `${service === 's3' ? 'S3' : 'DynamoDb'}PrefixList`, {
    onUpdate: {
      service: 'EC2',
      action: 'describePrefixLists',
      parameters: {
        Filters: [
          { Name: 'prefix-list-name', Values: [`com.amazonaws.${Stack.of(scope).region}.${service}`] },
        ],
      },
      physicalResourceId: cr.PhysicalResourceId.fromResponse(path),
      outputPaths: [path],
    },
    policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
    installLatestAwsSdk: false,
    memorySize: 256,
  });
  acknowledgeLookup(lookup);
  return lookup.getResponseField(path);
};

/** The cdk-nag findings of a prefix list lookup and of the function CDK shares between all lookups. */
const acknowledgeLookup = (lookup: cr.AwsCustomResource): void => {
  Validations.of(lookup).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'ec2:DescribePrefixLists offers no resource-level permissions',
  });
  const provider = Stack.of(lookup).node.tryFindChild(
    `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replaceAll('-', '')}`,
  );
  if (!provider) return;
  const findings: [id: string, reason: string][] = [
    [
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'the function CDK runs for AwsCustomResource lookups writes its logs with the basic execution role',
    ],
    ['Serverless-LambdaDLQ', 'CloudFormation invokes the lookup synchronously and fails the deploy on error'],
    [
      'Serverless-LambdaTracing',
      'a deploy-time lookup of one prefix list ID; AwsCustomResource offers no tracing',
    ],
  ];
  for (const [id, reason] of findings) Validations.of(provider).acknowledge({ id, reason });
};

export interface FunctionEgress {
  /** Where the cache listens: its security group, or (a cache you bring without one) the VPC's range. */
  cache: ec2.IPeer;
  cachePorts: readonly number[];
  /** The interface endpoints' security group, when there are interface endpoints. */
  endpoints?: ec2.IPeer;
  /** The services reached through gateway endpoints (their prefix lists), when HTTPS is not open. */
  gateways: readonly GatewayService[];
  /** HTTPS to anywhere: with a NAT gateway (an HTTP origin, any API), or in a VPC that routes itself. */
  https: boolean;
}

/**
 * Limits what the cache functions' security group may reach: the cache's ports, HTTPS to the
 * interface endpoints and to the gateway endpoints' prefix lists, and HTTPS anywhere only when
 * `https` (a NAT gateway, or your VPC's own routes). The group must be created with
 * `allowAllOutbound: false`.
 */
export const restrictFunctionEgress = (
  scope: Construct,
  functions: ec2.SecurityGroup,
  egress: FunctionEgress,
): void => {
  for (const port of egress.cachePorts) {
    functions.addEgressRule(egress.cache, ec2.Port.tcp(port), `Redis/Valkey to the cache, port ${port}`);
  }
  if (egress.https) {
    functions.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS: AWS APIs and the HTTP origin');
    return;
  }
  if (egress.endpoints) {
    functions.addEgressRule(egress.endpoints, ec2.Port.tcp(443), 'HTTPS to the interface endpoints');
  }
  for (const service of egress.gateways) {
    functions.addEgressRule(
      ec2.Peer.prefixList(gatewayPrefixListId(scope, service)),
      ec2.Port.tcp(443),
      `HTTPS to ${service} through its gateway endpoint`,
    );
  }
};
