import { ArnFormat, Names, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct, IConstruct } from 'constructs';
import type { ResourceName } from '../functions/handlers/environment';

/** Ports of an ElastiCache Serverless endpoint: 6379 for the primary, 6380 for reads from replicas. */
export const SERVERLESS_CACHE_PORTS = [6379, 6380] as const;

/** How the functions authenticate to a cache you bring. */
export type ExistingCacheAuth =
  /** No AUTH: the cache trusts its network (security group, TLS). */
  | { type: 'none' }
  /**
   * An AUTH token kept in Secrets Manager: the secret's string, or the `token` (else `password`) field
   * of its JSON; the password of `username` (default: the `default` user). The cache functions may read
   * this secret only.
   */
  | { type: 'token'; secret: secretsmanager.ISecret; username?: string }
  /**
   * ElastiCache IAM auth as the IAM-enabled user `userId` (user id and user name alike): the functions
   * get `elasticache:Connect` on the cache and that user only. Needs the cache's `name`.
   */
  | { type: 'iam'; userId: string };

/** Create an ElastiCache Serverless cache for Valkey in a VPC. */
export interface CreatedCacheProps {
  /**
   * The VPC of the cache and of the functions that reach it (its private subnets).
   * @default a new VPC: two AZs, private subnets, VPC endpoints or a NAT gateway (see `vpcEgress`), flow logs
   */
  vpc?: ec2.IVpc;
  /**
   * `iam`: an ElastiCache user with IAM authentication, in a user group attached to the cache (its
   * `default` user switched off); the functions connect as that user with `elasticache:Connect` on the
   * cache and the user only, and look the cache's endpoint up by name (tokens are signed for the name).
   * `none`: the `default` user without a password; only the security group and TLS keep others out.
   * @default 'iam'
   */
  auth?: 'iam' | 'none';
}

/** Use a Redis/Valkey endpoint that already exists, given by `url` or by `name`. */
export interface ExistingCacheProps {
  /** `redis://host:port` or `rediss://host:port` (TLS). @default none: give `name` */
  url?: string;
  /**
   * The ElastiCache serverless cache's name or replication group's id. Without `url` the functions look
   * its endpoint up (they may describe this cache only). Required by IAM auth, whose tokens are signed
   * for it; give `url` too to spare the lookup.
   * @default none: give `url`
   */
  name?: string;
  /**
   * `name` is a serverless cache, not a replication group: the lookup then needs no replication group,
   * and IAM tokens for a cache given by `url` and `name` say so.
   * @default false
   */
  serverless?: boolean;
  /**
   * `true` for a cluster-mode cache at `url` (a looked-up cache says so itself).
   * @default `serverless`: a serverless cache is always in cluster mode
   */
  cluster?: boolean;
  /**
   * The VPC the cache lives in; the functions that reach the cache run in its private subnets.
   * @default none: the functions run outside a VPC (a cache reachable from the internet)
   */
  vpc?: ec2.IVpc;
  /**
   * The cache's security group: an ingress rule on the cache port from the functions' security group is
   * added to it. Requires `vpc`.
   * @default no rule is added
   */
  securityGroup?: ec2.ISecurityGroup;
  /** @default `{ type: 'none' }` */
  auth?: ExistingCacheAuth;
}

/** The cache the functions write to: create one, or bring your own. */
export type CacheProps = { create: CreatedCacheProps } | { existing: ExistingCacheProps };

/** The resource variables of the functions that reach the cache, with the grants they need. */
export interface CacheConnection {
  variables: Partial<Record<ResourceName, string>>;
  /** Ports the functions connect to, for the cache's security group. */
  ports: readonly number[];
  /** Token auth: the secret the functions read. */
  secret?: secretsmanager.ISecret;
  /** IAM auth: the cache and user ARNs `elasticache:Connect` is granted on. */
  connectArns?: string[];
  /** Discovery by name: the describe calls of the lookup, each on the one cache it may describe. */
  describe?: { action: string; arn: string }[];
}

/** The port of a `redis://host:port` URL (6379 when it names none). */
const portOf = (url: string): number => {
  const match = /^rediss?:\/\/[^/\s]*?:(\d+)/.exec(url);
  return match?.[1] ? Number(match[1]) : 6379;
};

/** A created cache, the user the functions connect as (IAM auth), and how they connect. */
export interface CreatedCache {
  cache: elasticache.CfnServerlessCache;
  user: elasticache.CfnUser | undefined;
  connection: CacheConnection;
}

/** A serverless Valkey cache in `vpc`'s private subnets, with an IAM-auth user unless `auth` is `none`. */
export const createServerlessCache = (
  scope: Construct,
  vpc: ec2.IVpc,
  securityGroup: ec2.ISecurityGroup,
  auth: 'iam' | 'none',
): CreatedCache => {
  const name = Names.uniqueResourceName(scope, { maxLength: 40, separator: '-' }).toLowerCase();
  // ElastiCache user and user group ids: a letter, then letters, digits and hyphens; unique in the region.
  const idPrefix = Names.uniqueResourceName(scope, { maxLength: 30, separator: '-' }).toLowerCase();
  let user: elasticache.CfnUser | undefined;
  let userGroup: elasticache.CfnUserGroup | undefined;
  if (auth === 'iam') {
    // A user group must hold a user named `default`: this one is switched off, so only IAM users connect.
    const defaultUser = new elasticache.CfnUser(scope, 'CacheDefaultUser', {
      engine: 'valkey',
      userId: `${idPrefix}-default`,
      userName: 'default',
      accessString: 'off -@all',
      authenticationMode: { Type: 'no-password-required' },
    });
    // IAM authentication requires the user name to equal the user id.
    const warmerUserId = `${idPrefix}-warmer`;
    user = new elasticache.CfnUser(scope, 'CacheUser', {
      engine: 'valkey',
      userId: warmerUserId,
      userName: warmerUserId,
      // The warmer writes values and runs its scripts anywhere in the keyspace.
      accessString: 'on ~* +@all',
      authenticationMode: { Type: 'iam' },
    });
    userGroup = new elasticache.CfnUserGroup(scope, 'CacheUserGroup', {
      engine: 'valkey',
      userGroupId: `${idPrefix}-users`,
      userIds: [defaultUser.ref, user.ref],
    });
  }
  const cache = new elasticache.CfnServerlessCache(scope, 'Cache', {
    engine: 'valkey',
    majorEngineVersion: '8',
    serverlessCacheName: name,
    description: 'Cache kept warm by the cache warmer',
    subnetIds: vpc.selectSubnets().subnetIds,
    securityGroupIds: [securityGroup.securityGroupId],
    snapshotRetentionLimit: 1,
    ...(userGroup ? { userGroupId: userGroup.ref } : {}),
  });
  const url = `rediss://${cache.attrEndpointAddress}:${cache.attrEndpointPort}`;
  // IAM tokens are signed for the cache's name; the URL spares the functions looking the endpoint up.
  const connection: CacheConnection = user
    ? {
        variables: {
          cacheUrl: url,
          cacheCluster: 'true',
          cacheName: name,
          cacheServerless: 'true',
          cacheAuth: 'iam',
          cacheUser: user.userId,
        },
        ports: SERVERLESS_CACHE_PORTS,
        connectArns: [cache.attrArn, user.attrArn],
      }
    : {
        variables: { cacheUrl: url, cacheCluster: 'true', cacheAuth: 'none' },
        ports: SERVERLESS_CACHE_PORTS,
      };
  return { cache, user, connection };
};

/** The variables and grants for a cache you bring. @throws Error for settings that cannot work together. */
export const connectExistingCache = (scope: IConstruct, existing: ExistingCacheProps): CacheConnection => {
  const { url, name } = existing;
  if (url === undefined && name === undefined) {
    throw new Error('cache.existing needs its url, or its name (its endpoint is then looked up), or both');
  }
  const auth = existing.auth ?? { type: 'none' };
  if (auth.type === 'iam' && !name) {
    throw new Error('IAM auth signs its tokens for the cache by name: give cache.existing.name too');
  }
  const stack = Stack.of(scope);
  const arn = (resource: string, resourceName: string) =>
    stack.formatArn({
      service: 'elasticache',
      resource,
      resourceName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  const serverless = existing.serverless ?? false;
  const cacheArn = name && arn(serverless ? 'serverlesscache' : 'replicationgroup', name);
  const variables: Partial<Record<ResourceName, string>> = {
    ...(url ? { cacheUrl: url, cacheCluster: String(existing.cluster ?? serverless) } : {}),
    ...(name ? { cacheName: name } : {}),
    // Without a URL the lookup tells whether the cache is serverless.
    ...(name && url ? { cacheServerless: String(serverless) } : {}),
    cacheAuth: auth.type,
    ...(auth.type === 'token' ? { cacheSecretArn: auth.secret.secretArn } : {}),
    ...(auth.type === 'token' && auth.username ? { cacheUser: auth.username } : {}),
    ...(auth.type === 'iam' ? { cacheUser: auth.userId } : {}),
  };
  let ports: readonly number[] = [6379];
  if (url) ports = [portOf(url)];
  else if (serverless) ports = SERVERLESS_CACHE_PORTS;
  return {
    variables,
    ports,
    ...(auth.type === 'token' ? { secret: auth.secret } : {}),
    ...(auth.type === 'iam' && cacheArn ? { connectArns: [cacheArn, arn('user', auth.userId)] } : {}),
    // The lookup asks for a serverless cache first, then for a replication group of that name.
    ...(name && !url
      ? {
          describe: [
            { action: 'elasticache:DescribeServerlessCaches', arn: arn('serverlesscache', name) },
            ...(serverless
              ? []
              : [{ action: 'elasticache:DescribeReplicationGroups', arn: arn('replicationgroup', name) }]),
          ],
        }
      : {}),
  };
};

export const grantCacheAccess = (connection: CacheConnection, grantee: lambda.IFunction): void => {
  connection.secret?.grantRead(grantee);
  if (connection.connectArns) {
    grantee.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['elasticache:Connect'], resources: connection.connectArns }),
    );
  }
  for (const { action, arn } of connection.describe ?? []) {
    grantee.addToRolePolicy(new iam.PolicyStatement({ actions: [action], resources: [arn] }));
  }
};
