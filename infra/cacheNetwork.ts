import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { KeySourceConfig, ValueSourceConfig } from '../functions/adapters/sourceConfig';
import {
  type CacheConnection,
  type CacheProps,
  connectExistingCache,
  createServerlessCache,
} from './cacheConnection';
import { restrictFunctionEgress } from './functionEgress';
import { valueSourceSecretArns } from './sourceGrants';

/**
 * How the functions in the VPC reach the AWS APIs they call.
 * - `endpoints`: VPC endpoints for exactly those APIs, and no route to the internet: interface endpoints
 *   for SQS, Secrets Manager (token auth, header secrets), ElastiCache (endpoint discovery) and Lambda
 *   (a user Lambda source); gateway endpoints for DynamoDB and S3 (an S3 key source).
 * - `nat`: a NAT gateway, in a VPC the construct creates; reaches any API and the internet (an HTTP
 *   origin). The gateway endpoints are added too: they are free, and spare the NAT gateway that traffic.
 * - `none`: nothing is added; your VPC already routes to the APIs (its own NAT or endpoints).
 */
export type VpcEgress = 'endpoints' | 'nat' | 'none';

/** What decides the cache, the network and what the functions in it must reach. */
export interface CacheNetworkProps {
  cache: CacheProps;
  vpcEgress: VpcEgress | undefined;
  keySources: readonly KeySourceConfig[];
  valueSource: ValueSourceConfig | undefined;
  /** Whether the warm function runs in the VPC too (a TTL-aware run asks the cache which keys are due). */
  warmInVpc: boolean;
}

/** See {@link VpcEgress}; @throws Error for a choice that cannot work with the cache's VPC. */
const chooseVpcEgress = ({ cache, vpcEgress, valueSource }: CacheNetworkProps): VpcEgress => {
  const createsVpc = 'create' in cache && !cache.create.vpc;
  const hasVpc = 'create' in cache || cache.existing.vpc !== undefined;
  if (!hasVpc) {
    if (vpcEgress) {
      throw new Error(
        'vpcEgress applies to functions in a VPC, and this cache has none (cache.existing.vpc)',
      );
    }
    return 'none';
  }
  if (vpcEgress === 'nat' && !createsVpc) {
    throw new Error(
      "vpcEgress 'nat' adds a NAT gateway to the VPC the construct creates; your VPC routes through its own: use 'none'",
    );
  }
  if (vpcEgress === 'none' && createsVpc) {
    throw new Error(
      "vpcEgress 'none' leaves the functions in the new VPC without any route to AWS APIs: use 'endpoints' or 'nat'",
    );
  }
  if (vpcEgress) return vpcEgress;
  if (!createsVpc) return 'none';
  return valueSource?.type === 'http' ? 'nat' : 'endpoints';
};

/**
 * Two AZs of private subnets with flow logs: isolated ones (the functions reach AWS through VPC
 * endpoints) or, for `nat`, ones that route through one NAT gateway in a public subnet.
 */
const createVpc = (scope: Construct, egress: VpcEgress): ec2.Vpc => {
  const flowLogs = new logs.LogGroup(scope, 'VpcFlowLogs', {
    retention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const nat = egress === 'nat';
  return new ec2.Vpc(scope, 'Vpc', {
    maxAzs: 2,
    natGateways: nat ? 1 : 0,
    subnetConfiguration: nat
      ? [
          { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
          { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        ]
      : [{ name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    flowLogs: { all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs) } },
  });
};

const createFunctionSecurityGroup = (scope: Construct, vpc: ec2.IVpc): ec2.SecurityGroup =>
  new ec2.SecurityGroup(scope, 'FunctionSecurityGroup', {
    vpc,
    description: 'The cache warmer functions that reach the cache: the cache, and AWS APIs over HTTPS',
    // Egress is what restrictFunctionEgress opens.
    allowAllOutbound: false,
  });

/** The AWS APIs the functions in the VPC call, beyond SQS and DynamoDB, which they always call. */
interface EndpointNeeds {
  interfaceEndpoints: boolean;
  secretsManager: boolean;
  elastiCache: boolean;
  lambda: boolean;
  s3: boolean;
}

/**
 * The VPC endpoints the cache functions need: gateway endpoints for DynamoDB (and S3), and with
 * `interfaceEndpoints` the interface endpoints behind a security group that admits HTTPS from the
 * functions only. @returns that security group, when there are interface endpoints.
 */
const addVpcEndpoints = (
  scope: Construct,
  vpc: ec2.IVpc,
  functionSecurityGroup: ec2.ISecurityGroup,
  needs: EndpointNeeds,
): ec2.SecurityGroup | undefined => {
  const subnets = [vpc.selectSubnets()];
  vpc.addGatewayEndpoint('DynamoDbEndpoint', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets });
  if (needs.s3)
    vpc.addGatewayEndpoint('S3Endpoint', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets });
  if (!needs.interfaceEndpoints) return undefined;
  const securityGroup = new ec2.SecurityGroup(scope, 'EndpointSecurityGroup', {
    vpc,
    description: 'The cache warmer VPC endpoints: HTTPS from the cache warmer functions only',
    allowAllOutbound: false,
  });
  securityGroup.addIngressRule(
    functionSecurityGroup,
    ec2.Port.tcp(443),
    'HTTPS from the cache warmer functions',
  );
  const services: Record<string, ec2.InterfaceVpcEndpointAwsService | false> = {
    SqsEndpoint: ec2.InterfaceVpcEndpointAwsService.SQS,
    SecretsManagerEndpoint: needs.secretsManager && ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    ElastiCacheEndpoint: needs.elastiCache && ec2.InterfaceVpcEndpointAwsService.ELASTICACHE,
    LambdaEndpoint: needs.lambda && ec2.InterfaceVpcEndpointAwsService.LAMBDA,
  };
  for (const [id, service] of Object.entries(services)) {
    if (!service) continue;
    new ec2.InterfaceVpcEndpoint(scope, id, {
      vpc,
      service,
      subnets: vpc.selectSubnets(),
      securityGroups: [securityGroup],
      open: false,
      privateDnsEnabled: true,
    });
  }
  return securityGroup;
};

/**
 * The cache (created, or yours), the VPC its functions run in, and how they reach the cache and the AWS
 * APIs from there: security groups that let only the functions reach the cache, VPC endpoints or a
 * NAT gateway, and function egress limited to exactly those.
 */
export class CacheNetwork {
  public readonly connection: CacheConnection;
  public readonly vpcEgress: VpcEgress;
  public readonly vpc: ec2.IVpc | undefined;
  public readonly functionSecurityGroup: ec2.SecurityGroup | undefined;
  public readonly endpointSecurityGroup: ec2.SecurityGroup | undefined;
  public readonly cache: elasticache.CfnServerlessCache | undefined;
  public readonly cacheSecurityGroup: ec2.SecurityGroup | undefined;
  public readonly cacheUser: elasticache.CfnUser | undefined;

  public constructor(scope: Construct, props: CacheNetworkProps) {
    const { cache } = props;
    this.vpcEgress = chooseVpcEgress(props);
    /** What the functions' egress to the cache goes to. */
    let cachePeer: ec2.IPeer | undefined;
    if ('create' in cache) {
      const vpc = cache.create.vpc ?? createVpc(scope, this.vpcEgress);
      const functionSecurityGroup = createFunctionSecurityGroup(scope, vpc);
      const cacheSecurityGroup = new ec2.SecurityGroup(scope, 'CacheSecurityGroup', {
        vpc,
        description: 'The cache: only the cache warmer functions may connect',
        allowAllOutbound: false,
      });
      const created = createServerlessCache(scope, vpc, cacheSecurityGroup, cache.create.auth ?? 'iam');
      this.connection = created.connection;
      for (const port of this.connection.ports) {
        cacheSecurityGroup.addIngressRule(
          functionSecurityGroup,
          ec2.Port.tcp(port),
          `Valkey (TLS) from the cache warmer functions, port ${port}`,
        );
      }
      this.vpc = vpc;
      this.functionSecurityGroup = functionSecurityGroup;
      this.cacheSecurityGroup = cacheSecurityGroup;
      cachePeer = cacheSecurityGroup;
      this.cache = created.cache;
      this.cacheUser = created.user;
    } else {
      const { securityGroup, vpc } = cache.existing;
      if (securityGroup && !vpc) {
        throw new Error('cache.existing.securityGroup needs cache.existing.vpc, the VPC the cache lives in');
      }
      this.connection = connectExistingCache(scope, cache.existing);
      const functionSecurityGroup = vpc && createFunctionSecurityGroup(scope, vpc);
      if (functionSecurityGroup) {
        for (const port of this.connection.ports) {
          securityGroup?.addIngressRule(
            functionSecurityGroup,
            ec2.Port.tcp(port),
            `Redis/Valkey from the cache warmer functions, port ${port}`,
          );
        }
      }
      this.vpc = vpc;
      this.functionSecurityGroup = functionSecurityGroup;
      cachePeer = securityGroup ?? (vpc && ec2.Peer.ipv4(vpc.vpcCidrBlock));
    }

    const { keySources, valueSource, warmInVpc } = props;
    const s3FromVpc = warmInVpc && keySources.some((source) => source.type === 's3');
    if (this.vpc && this.functionSecurityGroup && this.vpcEgress !== 'none') {
      this.endpointSecurityGroup = addVpcEndpoints(scope, this.vpc, this.functionSecurityGroup, {
        interfaceEndpoints: this.vpcEgress === 'endpoints',
        secretsManager: this.connection.secret !== undefined || valueSourceSecretArns(valueSource).length > 0,
        elastiCache: this.connection.describe !== undefined,
        lambda:
          valueSource?.type === 'lambda' ||
          (warmInVpc && keySources.some((source) => source.type === 'lambda')),
        s3: s3FromVpc,
      });
    }
    if (this.functionSecurityGroup && cachePeer) {
      restrictFunctionEgress(scope, this.functionSecurityGroup, {
        cache: cachePeer,
        cachePorts: this.connection.ports,
        endpoints: this.endpointSecurityGroup,
        gateways: ['dynamodb', ...(s3FromVpc ? (['s3'] as const) : [])],
        https: this.vpcEgress !== 'endpoints',
      });
    }
  }
}
