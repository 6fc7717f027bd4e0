import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CacheWarmersError, describeError } from '../core';
import { describeAwsError } from './awsErrors';
import { cacheSuccess } from './cacheSuccess';

/** The cache's auth token could not be read from Secrets Manager, or the secret holds none. */
export class CacheSecretError extends CacheWarmersError {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CacheSecretError';
  }
}

/** The token in a secret's text: the text itself, or a JSON object's `token` (else `password`) field. */
const tokenInSecret = (text: string, secretArn: string): string => {
  if (!text.trimStart().startsWith('{')) return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CacheSecretError(
      `secret ${secretArn} starts with { but is not valid JSON: ${describeError(error)}`,
    );
  }
  const fields = parsed as { token?: unknown; password?: unknown };
  const token = fields.token ?? fields.password;
  if (typeof token !== 'string' || token === '') {
    throw new CacheSecretError(
      `secret ${secretArn} is a JSON object without a non-empty string "token" or "password" field`,
    );
  }
  return token;
};

/**
 * Reads the cache's AUTH token from a Secrets Manager secret. The secret's string is either the token
 * itself or, when it starts with `{`, a JSON object whose `token` field (else `password`, the shape
 * Secrets Manager's rotation templates write) holds it. Binary secrets are not supported.
 *
 * @throws CacheSecretError naming the secret and what was wrong (missing, denied, empty, malformed).
 * @example
 * const token = await readCacheToken(new SecretsManagerClient({}), 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cache-token-AbCdEf');
 */
export const readCacheToken = async (client: SecretsManagerClient, secretArn: string): Promise<string> =>
  tokenInSecret(await readSecretString(client, secretArn, CacheSecretError), secretArn);

/**
 * A secret's string value, or `SecretError` naming the secret and what was wrong (missing, denied,
 * empty, binary): shared by the cache token and the HTTP source's header values.
 */
export const readSecretString = async (
  client: SecretsManagerClient,
  secretArn: string,
  SecretError: new (message: string, options?: ErrorOptions) => Error,
): Promise<string> => {
  let secret: { SecretString?: string | undefined };
  try {
    secret = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  } catch (error) {
    throw new SecretError(`cannot read secret ${secretArn}: ${describeAwsError(error)}`, { cause: error });
  }
  if (secret.SecretString === undefined || secret.SecretString === '') {
    throw new SecretError(`secret ${secretArn} has no string value (binary secrets are not supported)`);
  }
  return secret.SecretString;
};

/**
 * A token provider for `RedisStore`'s `auth` that reads the secret once per container (again only
 * after a failed read); rotate by keeping the old token valid until the functions' containers recycle.
 */
export const cacheTokenFromSecret = (
  client: SecretsManagerClient,
  secretArn: string,
): (() => Promise<string>) => cacheSuccess(() => readCacheToken(client, secretArn));
