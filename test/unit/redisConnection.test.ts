import { Cluster, Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RedisStore } from '../../functions/adapters/RedisStore';
import {
  credentialsFor,
  keepCredentialsCurrent,
  type RedisAuth,
  type RedisCredentials,
  type RedisEndpoint,
} from '../../functions/adapters/redisConnection';
import { ConfigurationError } from '../../functions/core';
import { advanceClock, useFakeClock } from '../support/fakeClock';

const MINUTE = 60_000;
const TLS_ENDPOINT: RedisEndpoint = { host: 'cache.example', port: 6379, tls: true, cluster: true };
const IAM: RedisAuth = {
  kind: 'iam',
  userId: 'warmer',
  region: 'eu-west-1',
  cacheName: 'products',
  serverless: true,
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
};

/** Tokens "token-1", "token-2", … one per call. */
const countingCredentials = (refreshEveryMs?: number) => {
  let calls = 0;
  const password = vi.fn(async () => `token-${++calls}`);
  const credentials: RedisCredentials = { username: 'warmer', password, refreshEveryMs };
  return { credentials, password };
};

/** A client that never connects: ioredis only reads its options when it does. */
const idleRedis = () => new Redis({ lazyConnect: true, username: 'warmer', password: 'token-0' });

const configurationError = (build: () => unknown): ConfigurationError => {
  let thrown: unknown;
  try {
    build();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigurationError);
  return thrown as ConfigurationError;
};

describe('keepCredentialsCurrent', () => {
  beforeEach(() => {
    useFakeClock();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fetches the password again when a reconnect is scheduled, before ioredis reads it', async () => {
    const client = idleRedis();
    const { credentials } = countingCredentials();
    keepCredentialsCurrent(client, credentials, 'token-0');

    client.emit('reconnecting', 100);
    await vi.waitFor(() => expect(client.options.password).toBe('token-1'));
    expect(client.options.username).toBe('warmer');
  });

  it('refreshes on a timer while connected, and stops when the client ends', async () => {
    const client = idleRedis();
    const { credentials, password } = countingCredentials(MINUTE);
    keepCredentialsCurrent(client, credentials, 'token-0');

    await advanceClock(2 * MINUTE, MINUTE);
    expect(client.options.password).toBe('token-2');

    client.emit('end');
    await advanceClock(5 * MINUTE, MINUTE);
    expect(password).toHaveBeenCalledTimes(2);
  });

  it('keeps the last password when a fetch fails', async () => {
    const client = idleRedis();
    const credentials: RedisCredentials = {
      username: 'warmer',
      password: () => Promise.reject(new Error('Secrets Manager unreachable')),
      refreshEveryMs: undefined,
    };
    keepCredentialsCurrent(client, credentials, 'token-0');

    client.emit('reconnecting', 100);
    await advanceClock(1_000);
    expect(client.options.password).toBe('token-0');
  });

  it('gives cluster nodes the current password as they appear', async () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true });
    const { credentials } = countingCredentials();
    keepCredentialsCurrent(cluster, credentials, 'token-0');
    cluster.emit('reconnecting');
    await advanceClock(1_000);

    const node = new Redis({ lazyConnect: true });
    cluster.emit('+node', node);
    expect(node.options).toMatchObject({ username: 'warmer', password: 'token-1' });
  });

  it('keeps an IAM-authenticated connection supplied with tokens younger than 11 of their 15 minutes', async () => {
    vi.setSystemTime(new Date('2025-01-02T03:00:00Z'));
    const credentials = credentialsFor(IAM, TLS_ENDPOINT);
    const password = await credentials.password();
    const client = new Redis({ lazyConnect: true, username: credentials.username, password });
    keepCredentialsCurrent(client, credentials, password);
    const signedAt = () =>
      new URLSearchParams(String(client.options.password).split('?')[1]).get('X-Amz-Date');
    expect(client.options.username).toBe('warmer');
    expect(signedAt()).toBe('20250102T030000Z');

    await advanceClock(10 * MINUTE, MINUTE);
    expect(signedAt()).toBe('20250102T031000Z');
    await advanceClock(11 * MINUTE, MINUTE);
    expect(signedAt()).toBe('20250102T032000Z');
    client.emit('end');
  });
});

describe('RedisStore auth options', () => {
  it('refuses IAM auth without TLS, naming the option', () => {
    const error = configurationError(() => new RedisStore({ url: 'redis://cache.example:6379', auth: IAM }));
    expect(error.setting).toBe('auth');
    expect(error.message).toMatch(/IAM auth needs TLS, but cache\.example:6379 is reached without it/);
  });

  it('refuses IAM auth on a url without a cache name to sign for', () => {
    const { cacheName: _omitted, ...withoutName } = IAM as Extract<RedisAuth, { kind: 'iam' }>;
    const error = configurationError(
      () => new RedisStore({ url: 'rediss://cache.example:6379', auth: withoutName }),
    );
    expect(error.message).toMatch(/IAM auth needs cacheName/);
  });

  it('refuses IAM auth when the endpoint it discovers is reached without TLS', async () => {
    const store = new RedisStore({
      endpoint: async () => ({
        host: 'orders.example',
        port: 6379,
        tls: false,
        cluster: false,
        cacheName: 'orders',
      }),
      auth: { kind: 'iam', userId: 'warmer', region: 'eu-west-1' },
    });

    await expect(store.get('k')).rejects.toThrow(ConfigurationError);
    await expect(store.get('k')).rejects.toThrow(/IAM auth needs TLS/);
  });

  it.each([
    [{ url: 'redis://:pw@cache.example', auth: { kind: 'token', token: 't' } }, 'auth', /not both/],
    [{ host: 'cache.example', endpoint: async () => TLS_ENDPOINT }, 'endpoint', /not both/],
    [{ host: 'cache.example', auth: { kind: 'token', token: '' } }, 'auth', /non-empty string/],
    [{ host: 'cache.example', auth: { kind: 'iam', userId: '', region: 'eu-west-1' } }, 'auth', /userId/],
    [
      { host: 'cache.example', auth: { kind: 'password', token: 't' } },
      'auth',
      /kind must be 'token' or 'iam'/,
    ],
    [{ host: 'cache.example', username: 'warmer' }, 'password', /is required with username warmer/],
    [{}, 'url', /give the url, the host or the endpoint/],
  ])('names the option that is wrong: %j', (options, setting, message) => {
    const error = configurationError(
      () => new RedisStore(options as ConstructorParameters<typeof RedisStore>[0]),
    );
    expect(error.setting).toBe(setting);
    expect(error.message).toMatch(message);
  });
});
