import {
  DescribeReplicationGroupsCommand,
  DescribeServerlessCachesCommand,
  type ElastiCacheClient,
  type ReplicationGroup,
  ReplicationGroupNotFoundFault,
  type ServerlessCache,
  ServerlessCacheNotFoundFault,
} from '@aws-sdk/client-elasticache';
import { CacheWarmersError } from '../core';
import { describeAwsError } from './awsErrors';
import type { RedisEndpoint } from './redisConnection';

/** A cache name could not be resolved to an endpoint that takes connections. */
export class CacheDiscoveryError extends CacheWarmersError {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CacheDiscoveryError';
  }
}

/** A cache found by name: its endpoint, and what IAM auth signs for. */
export type DiscoveredCache = Required<RedisEndpoint>;

/** States in which a cache serves traffic: a change or a backup in progress does not stop it. */
const SERVING_SERVERLESS = new Set(['available', 'modifying']);
const SERVING_REPLICATION_GROUP = new Set(['available', 'modifying', 'snapshotting']);

/** The answer of a Describe call, or undefined when it says there is no such cache. */
const lookUp = async <T>(
  cacheName: string,
  describe: () => Promise<T>,
  isNotFound: (error: unknown) => boolean,
): Promise<T | undefined> => {
  try {
    return await describe();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw new CacheDiscoveryError(
      `cannot look up ElastiCache cache ${cacheName}: ${describeAwsError(error)}`,
      {
        cause: error,
      },
    );
  }
};

const requireServing = (
  kind: string,
  cacheName: string,
  status: string | undefined,
  serving: Set<string>,
) => {
  if (!serving.has((status ?? '').toLowerCase())) {
    throw new CacheDiscoveryError(`${kind} ${cacheName} is ${status ?? 'in no known state'}, not available`);
  }
};

const fromServerlessCache = (cacheName: string, cache: ServerlessCache): DiscoveredCache => {
  requireServing('serverless cache', cacheName, cache.Status, SERVING_SERVERLESS);
  const { Address: host, Port: port } = cache.Endpoint ?? {};
  if (!host || !port) throw new CacheDiscoveryError(`serverless cache ${cacheName} has no endpoint yet`);
  // Serverless caches are cluster mode with TLS, always. IAM tokens must name the cache as ElastiCache
  // keeps it (lower case), whatever case it was asked for in.
  return {
    host,
    port,
    tls: true,
    cluster: true,
    cacheName: cache.ServerlessCacheName ?? cacheName,
    serverless: true,
  };
};

const fromReplicationGroup = (cacheName: string, group: ReplicationGroup): DiscoveredCache => {
  requireServing('replication group', cacheName, group.Status, SERVING_REPLICATION_GROUP);
  const cluster = group.ClusterEnabled ?? false;
  const endpoint = cluster ? group.ConfigurationEndpoint : group.NodeGroups?.[0]?.PrimaryEndpoint;
  const { Address: host, Port: port } = endpoint ?? {};
  if (!host || !port) {
    const which = cluster ? 'configuration endpoint' : 'primary endpoint';
    throw new CacheDiscoveryError(`replication group ${cacheName} has no ${which} yet`);
  }
  return {
    host,
    port,
    tls: group.TransitEncryptionEnabled ?? false,
    cluster,
    cacheName: group.ReplicationGroupId ?? cacheName,
    serverless: false,
  };
};

/**
 * Finds a cache's endpoint by name: an ElastiCache Serverless cache (always cluster mode and TLS), else
 * a replication group (its configuration endpoint in cluster mode, otherwise its primary endpoint; TLS
 * when in-transit encryption is on). Needs `elasticache:DescribeServerlessCaches` and
 * `elasticache:DescribeReplicationGroups`. Give it to `RedisStore`'s `endpoint` option so that the
 * first connection resolves it, once.
 *
 * @throws CacheDiscoveryError when neither exists, the cache is not available (creating, deleting,
 * failed), or the lookup itself fails (e.g. access denied).
 * @example
 * const store = new RedisStore({ endpoint: () => discoverCacheEndpoint(new ElastiCacheClient({}), 'products') });
 */
export const discoverCacheEndpoint = async (
  client: ElastiCacheClient,
  cacheName: string,
): Promise<DiscoveredCache> => {
  const serverless = await lookUp(
    cacheName,
    () => client.send(new DescribeServerlessCachesCommand({ ServerlessCacheName: cacheName })),
    (error) => error instanceof ServerlessCacheNotFoundFault,
  );
  const cache = serverless?.ServerlessCaches?.[0];
  if (cache) return fromServerlessCache(cacheName, cache);
  const replicationGroups = await lookUp(
    cacheName,
    () => client.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: cacheName })),
    (error) => error instanceof ReplicationGroupNotFoundFault,
  );
  const group = replicationGroups?.ReplicationGroups?.[0];
  if (group) return fromReplicationGroup(cacheName, group);
  const region = await client.config.region().catch(() => 'this region');
  throw new CacheDiscoveryError(
    `no ElastiCache serverless cache or replication group named ${cacheName} in ${region}`,
  );
};
