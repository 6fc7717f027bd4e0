import {
  DescribeReplicationGroupsCommand,
  DescribeServerlessCachesCommand,
  ElastiCacheClient,
  ServerlessCacheNotFoundFault,
} from '@aws-sdk/client-elasticache';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../functions/adapters/RedisStore';
import { RedisUnavailableError } from '../../functions/adapters/RedisUnavailableError';
import { defaultWarmingConfig } from '../../functions/core';
import { createCacheStore } from '../../functions/handlers/cacheStore';
import { resourceVariable } from '../../functions/handlers/environment';
import { type LocalRedis, type RedisServerAuth, startRedisServer } from '../support/redisServer';

const DEFAULT_PASSWORD = 'default-secret';
const USER = 'warmer';
const serverAuth = (userToken: string): RedisServerAuth => ({
  requirePass: DEFAULT_PASSWORD,
  users: [{ name: USER, password: userToken }],
});

let redis: LocalRedis;

beforeAll(async () => {
  redis = await startRedisServer(serverAuth('token-1'));
});

afterAll(async () => {
  await redis?.stop();
});

/** Retries `operation` while the store reconnects, for at most 10 s. */
const onceReconnected = async <T>(operation: () => Promise<T>): Promise<T> => {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof RedisUnavailableError) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
};

describe('RedisStore token auth against a redis-server that requires it', () => {
  it('authenticates the default user with its password', async () => {
    const store = new RedisStore({ url: redis.url, auth: { kind: 'token', token: DEFAULT_PASSWORD } });

    await store.set('default-user', 'written');
    expect(await store.get('default-user')).toBe('written');
    await store.close();
  });

  it('authenticates an ACL user with a token from a provider', async () => {
    const store = new RedisStore({
      url: redis.url,
      auth: { kind: 'token', username: USER, token: async () => 'token-1' },
    });

    await store.set('acl-user', { ok: true });
    expect(await store.get('acl-user')).toEqual({ ok: true });
    await store.close();
  });

  it('fails with the server’s refusal, within the connect timeout, when the token is wrong', async () => {
    const store = new RedisStore({
      url: redis.url,
      auth: { kind: 'token', username: USER, token: 'not-the-token' },
      connectTimeoutMs: 1_000,
    });

    const error = await store.get('k').catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as Error).message).toMatch(/^cannot connect to 127\.0\.0\.1:\d+: WRONGPASS/);
    await store.close();
  });

  it('reconnects after a server restart with a freshly provided token', async () => {
    let currentToken = 'token-1';
    const provided: string[] = [];
    const store = new RedisStore({
      url: redis.url,
      auth: {
        kind: 'token',
        username: USER,
        token: async () => {
          provided.push(currentToken);
          return currentToken;
        },
      },
    });
    await store.set('before-restart', 1);

    currentToken = 'token-2';
    // The restarted server knows only the new token: the reconnect cannot succeed with the old one.
    await redis.restart(serverAuth('token-2'));

    await onceReconnected(() => store.set('after-restart', 2));
    expect(await store.get('after-restart')).toBe(2);
    expect(provided[0]).toBe('token-1');
    expect(provided).toContain('token-2');
    await store.close();
    await redis.restart(serverAuth('token-1'));
  });
});

describe('createCacheStore with a cache found by name and a token from Secrets Manager', () => {
  const elasticache = mockClient(ElastiCacheClient);
  const secretsManager = mockClient(SecretsManagerClient);
  const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cache-token-AbCdEf';

  afterAll(() => {
    elasticache.restore();
    secretsManager.restore();
  });

  it('looks the endpoint up and reads the token once, on the first connection, then connects with them', async () => {
    elasticache
      .on(DescribeServerlessCachesCommand)
      .rejects(new ServerlessCacheNotFoundFault({ message: 'not found', $metadata: {} }));
    elasticache.on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'orders' }).resolves({
      ReplicationGroups: [
        {
          ReplicationGroupId: 'orders',
          Status: 'available',
          ClusterEnabled: false,
          TransitEncryptionEnabled: false,
          NodeGroups: [{ NodeGroupId: '0001', PrimaryEndpoint: { Address: '127.0.0.1', Port: redis.port } }],
        },
      ],
    });
    secretsManager.on(GetSecretValueCommand, { SecretId: secretArn }).resolves({
      SecretString: JSON.stringify({ username: USER, password: 'token-1' }),
    });
    const env = {
      [resourceVariable('cacheName')]: 'orders',
      [resourceVariable('cacheAuth')]: 'token',
      [resourceVariable('cacheSecretArn')]: secretArn,
      [resourceVariable('cacheUser')]: USER,
    };
    const clients = {
      elasticache: new ElastiCacheClient({ region: 'eu-west-1' }),
      secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
    };

    const store = createCacheStore(env, defaultWarmingConfig(), clients);
    expect(elasticache.calls()).toHaveLength(0);

    await store.set('found-by-name', 'yes');
    await (store as RedisStore).close();
    expect(await store.get('found-by-name')).toBe('yes');

    expect(elasticache.commandCalls(DescribeReplicationGroupsCommand)).toHaveLength(1);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    await (store as RedisStore).close();
  });
});
