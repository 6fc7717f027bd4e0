import {
  DescribeReplicationGroupsCommand,
  DescribeServerlessCachesCommand,
  ElastiCacheClient,
  ElastiCacheServiceException,
  type ReplicationGroup,
  ReplicationGroupNotFoundFault,
  type ServerlessCache,
  ServerlessCacheNotFoundFault,
} from '@aws-sdk/client-elasticache';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CacheDiscoveryError, discoverCacheEndpoint } from '../../functions/adapters/discoverCacheEndpoint';

const elasticache = mockClient(ElastiCacheClient);
const client = new ElastiCacheClient({ region: 'eu-west-1' });

const serverlessCache = (overrides: Partial<ServerlessCache> = {}): ServerlessCache => ({
  ServerlessCacheName: 'products',
  Status: 'available',
  Engine: 'valkey',
  Endpoint: { Address: 'products-abc123.serverless.euw1.cache.amazonaws.com', Port: 6379 },
  ReaderEndpoint: { Address: 'products-abc123.serverless.euw1.cache.amazonaws.com', Port: 6380 },
  ...overrides,
});

const replicationGroup = (overrides: Partial<ReplicationGroup> = {}): ReplicationGroup => ({
  ReplicationGroupId: 'orders',
  Status: 'available',
  ClusterEnabled: false,
  TransitEncryptionEnabled: true,
  NodeGroups: [
    {
      NodeGroupId: '0001',
      PrimaryEndpoint: { Address: 'master.orders.abc123.euw1.cache.amazonaws.com', Port: 6379 },
      ReaderEndpoint: { Address: 'replica.orders.abc123.euw1.cache.amazonaws.com', Port: 6379 },
    },
  ],
  ...overrides,
});

const noServerlessCache = () =>
  elasticache
    .on(DescribeServerlessCachesCommand)
    .rejects(new ServerlessCacheNotFoundFault({ message: 'not found', $metadata: {} }));

const failure = async (promise: Promise<unknown>): Promise<CacheDiscoveryError> => {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(CacheDiscoveryError);
  return error as CacheDiscoveryError;
};

beforeEach(() => {
  elasticache.reset();
});

describe('discoverCacheEndpoint', () => {
  it('finds a serverless cache: its endpoint, cluster mode and TLS, without looking for a replication group', async () => {
    elasticache.on(DescribeServerlessCachesCommand, { ServerlessCacheName: 'products' }).resolves({
      ServerlessCaches: [serverlessCache()],
    });

    await expect(discoverCacheEndpoint(client, 'products')).resolves.toEqual({
      host: 'products-abc123.serverless.euw1.cache.amazonaws.com',
      port: 6379,
      tls: true,
      cluster: true,
      cacheName: 'products',
      serverless: true,
    });
    expect(elasticache.commandCalls(DescribeReplicationGroupsCommand)).toHaveLength(0);
  });

  it('names the cache as ElastiCache keeps it, which IAM tokens must use', async () => {
    elasticache.on(DescribeServerlessCachesCommand).resolves({ ServerlessCaches: [serverlessCache()] });

    await expect(discoverCacheEndpoint(client, 'Products')).resolves.toMatchObject({ cacheName: 'products' });
  });

  it('accepts a serverless cache that is being modified, and refuses one still being created', async () => {
    elasticache.on(DescribeServerlessCachesCommand).resolvesOnce({
      ServerlessCaches: [serverlessCache({ Status: 'modifying' })],
    });
    await expect(discoverCacheEndpoint(client, 'products')).resolves.toMatchObject({ port: 6379 });

    elasticache.on(DescribeServerlessCachesCommand).resolves({
      ServerlessCaches: [serverlessCache({ Status: 'creating', Endpoint: undefined })],
    });
    const error = await failure(discoverCacheEndpoint(client, 'products'));
    expect(error.message).toBe('serverless cache products is creating, not available');
  });

  it('falls back to a replication group: its primary endpoint without cluster mode, TLS as configured', async () => {
    noServerlessCache();
    elasticache.on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'orders' }).resolves({
      ReplicationGroups: [replicationGroup({ TransitEncryptionEnabled: false })],
    });

    await expect(discoverCacheEndpoint(client, 'orders')).resolves.toEqual({
      host: 'master.orders.abc123.euw1.cache.amazonaws.com',
      port: 6379,
      tls: false,
      cluster: false,
      cacheName: 'orders',
      serverless: false,
    });
  });

  it('uses the configuration endpoint of a cluster-mode replication group', async () => {
    noServerlessCache();
    elasticache.on(DescribeReplicationGroupsCommand).resolves({
      ReplicationGroups: [
        replicationGroup({
          ClusterEnabled: true,
          ConfigurationEndpoint: { Address: 'clustercfg.orders.abc123.euw1.cache.amazonaws.com', Port: 6380 },
          NodeGroups: [{ NodeGroupId: '0001' }, { NodeGroupId: '0002' }],
        }),
      ],
    });

    await expect(discoverCacheEndpoint(client, 'orders')).resolves.toEqual({
      host: 'clustercfg.orders.abc123.euw1.cache.amazonaws.com',
      port: 6380,
      tls: true,
      cluster: true,
      cacheName: 'orders',
      serverless: false,
    });
  });

  it('refuses a replication group that is being deleted, or has no endpoint', async () => {
    noServerlessCache();
    elasticache
      .on(DescribeReplicationGroupsCommand)
      .resolvesOnce({ ReplicationGroups: [replicationGroup({ Status: 'deleting' })] })
      .resolves({ ReplicationGroups: [replicationGroup({ NodeGroups: [] })] });

    expect((await failure(discoverCacheEndpoint(client, 'orders'))).message).toBe(
      'replication group orders is deleting, not available',
    );
    expect((await failure(discoverCacheEndpoint(client, 'orders'))).message).toBe(
      'replication group orders has no primary endpoint yet',
    );
  });

  it('says that neither a serverless cache nor a replication group has the name, and where it looked', async () => {
    noServerlessCache();
    elasticache
      .on(DescribeReplicationGroupsCommand)
      .rejects(new ReplicationGroupNotFoundFault({ message: 'ReplicationGroup not found', $metadata: {} }));

    const error = await failure(discoverCacheEndpoint(client, 'missing'));
    expect(error.message).toBe(
      'no ElastiCache serverless cache or replication group named missing in eu-west-1',
    );
  });

  it('reports a lookup that fails, e.g. for want of permission, with the service error', async () => {
    const denied = new ElastiCacheServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      message: 'User is not authorized to perform: elasticache:DescribeServerlessCaches',
      $metadata: { httpStatusCode: 403 },
    });
    elasticache.on(DescribeServerlessCachesCommand).rejects(denied);

    const error = await failure(discoverCacheEndpoint(client, 'products'));
    expect(error.message).toBe(
      'cannot look up ElastiCache cache products: AccessDeniedException: User is not authorized to perform: elasticache:DescribeServerlessCaches',
    );
    expect(error.cause).toBe(denied);
  });
});
