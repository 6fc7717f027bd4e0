import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { Cluster, type Redis, type RedisOptions } from 'ioredis';
import { ConfigurationError } from '../core';
import { createElastiCacheIamTokenProvider } from './elastiCacheIamToken';

/** Where a cache listens: from `RedisStore`'s url/host options, or resolved by its `endpoint` option. */
export interface RedisEndpoint {
  host: string;
  port: number;
  tls: boolean;
  /** Cluster mode (ElastiCache Serverless always is). */
  cluster: boolean;
  /** The ElastiCache serverless cache or replication group this is the endpoint of: what IAM tokens are signed for. */
  cacheName?: string;
  /** An ElastiCache Serverless cache, whose IAM tokens say so. */
  serverless?: boolean;
}

/** An AUTH token (or password) for the default user or an ACL user. */
export interface RedisTokenAuth {
  kind: 'token';
  /** The token, or a function that returns it, called for every new connection (reconnects too) so it may change. */
  token: string | (() => Promise<string>);
  /** The ACL user; default `default`. */
  username?: string;
}

/** ElastiCache IAM auth: `AUTH <userId> <SigV4 token>`, the token signed anew before its 15 minutes run out. Needs TLS. */
export interface RedisIamAuth {
  kind: 'iam';
  /** The IAM-enabled ElastiCache user's id (its user name is the same). */
  userId: string;
  /** The cache's region, or a function that resolves it (e.g. an SDK client's `config.region`). */
  region: string | (() => Promise<string>);
  /** The serverless cache's name or replication group's id. Default: the resolved endpoint's; required with url/host. */
  cacheName?: string;
  /** Whether that cache is serverless. Default: the resolved endpoint's, else false. */
  serverless?: boolean;
  /** Default: the AWS SDK's default credential chain. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

export type RedisAuth = RedisTokenAuth | RedisIamAuth;

/** What a connection authenticates with: the password is fetched for each connection. */
export interface RedisCredentials {
  username: string | undefined;
  password: () => Promise<string>;
  /** How often to fetch the password again while connected, for passwords that expire. */
  refreshEveryMs: number | undefined;
}

/** How often a connection checks whether its IAM token is due to be signed anew (at 10 of its 15 minutes). */
const IAM_TOKEN_CHECK_INTERVAL_MS = 60_000;

/** `auth` itself, once its shape is checked. @throws ConfigurationError (option `auth`) naming what is wrong. */
export const validateAuth = (auth: RedisAuth): RedisAuth => {
  const { kind } = auth as { kind: unknown };
  if (kind === 'token') {
    const { token } = auth as RedisTokenAuth;
    if (token === '' || (typeof token !== 'string' && typeof token !== 'function')) {
      throw new ConfigurationError('auth', 'token must be a non-empty string or a function returning one');
    }
  } else if (kind === 'iam') {
    const { userId } = auth as RedisIamAuth;
    if (typeof userId !== 'string' || userId === '') {
      throw new ConfigurationError('auth', 'userId must be the ElastiCache user id, got none');
    }
  } else {
    throw new ConfigurationError('auth', `kind must be 'token' or 'iam', got ${String(kind)}`);
  }
  return auth;
};

/**
 * The cache an IAM token is signed for, checked against the endpoint it is sent to.
 * @throws ConfigurationError (option `auth`) when the endpoint is reached without TLS or no cache name is known.
 */
const iamTarget = (
  auth: RedisIamAuth,
  endpoint: RedisEndpoint,
): { cacheName: string; serverless: boolean } => {
  if (!endpoint.tls) {
    throw new ConfigurationError(
      'auth',
      `IAM auth needs TLS, but ${endpoint.host}:${endpoint.port} is reached without it: use a rediss:// url or tls: true`,
    );
  }
  const cacheName = auth.cacheName ?? endpoint.cacheName;
  if (!cacheName) {
    throw new ConfigurationError(
      'auth',
      'IAM auth needs cacheName (the serverless cache or replication group the token is for) unless the endpoint is discovered',
    );
  }
  return { cacheName, serverless: auth.serverless ?? endpoint.serverless ?? false };
};

/** @throws ConfigurationError (option `auth`) when the auth cannot be used with the endpoint. */
export const checkAuthFits = (auth: RedisAuth | undefined, endpoint: RedisEndpoint): void => {
  if (auth?.kind === 'iam') iamTarget(auth, endpoint);
};

/** The credentials for connections to `endpoint`. @throws ConfigurationError as {@link checkAuthFits}. */
export const credentialsFor = (auth: RedisAuth, endpoint: RedisEndpoint): RedisCredentials => {
  if (auth.kind === 'token') {
    const { token } = auth;
    return {
      username: auth.username,
      password: typeof token === 'string' ? async () => token : token,
      refreshEveryMs: undefined,
    };
  }
  return {
    username: auth.userId,
    password: createElastiCacheIamTokenProvider({
      ...iamTarget(auth, endpoint),
      userId: auth.userId,
      region: auth.region,
      credentials: auth.credentials,
    }),
    refreshEveryMs: IAM_TOKEN_CHECK_INTERVAL_MS,
  };
};

/**
 * Keeps the password ioredis sends when it reconnects current. ioredis reads it from the options of
 * the connection (in cluster mode, of each node's) synchronously as it connects, so it is fetched
 * ahead: when a reconnect is scheduled (it runs after the retry delay) and every `refreshEveryMs`,
 * and written into those options, new cluster nodes getting it as they appear. A failed fetch keeps
 * the last password: the reconnect's AUTH then reports what is wrong. Stops when the client ends.
 */
export const keepCredentialsCurrent = (
  client: Redis | Cluster,
  credentials: RedisCredentials,
  password: string,
): void => {
  let current = password;
  const apply = (options: RedisOptions): void => {
    options.username = credentials.username;
    options.password = current;
  };
  const refresh = (): void => {
    credentials.password().then(
      (fresh) => {
        current = fresh;
        if (client instanceof Cluster) for (const node of client.nodes('all')) apply(node.options);
        else apply(client.options);
      },
      () => {},
    );
  };
  client.on('reconnecting', refresh);
  if (client instanceof Cluster) client.on('+node', (node: Redis) => apply(node.options));
  if (credentials.refreshEveryMs !== undefined) {
    const timer = setInterval(refresh, credentials.refreshEveryMs);
    // The refresh alone must not keep a process (a CLI run, a test) from exiting.
    timer.unref();
    client.once('end', () => clearInterval(timer));
  }
};
