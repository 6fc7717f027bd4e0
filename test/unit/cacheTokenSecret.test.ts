import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  CacheSecretError,
  cacheTokenFromSecret,
  readCacheToken,
} from '../../functions/adapters/cacheTokenSecret';

const secretsManager = mockClient(SecretsManagerClient);
const client = new SecretsManagerClient({ region: 'eu-west-1' });
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cache-token-AbCdEf';

const withSecretString = (SecretString: string | undefined) =>
  secretsManager.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ ARN, SecretString });

const failure = async (promise: Promise<unknown>): Promise<CacheSecretError> => {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(CacheSecretError);
  return error as CacheSecretError;
};

beforeEach(() => {
  secretsManager.reset();
});

describe('readCacheToken', () => {
  it.each([
    ['a plain string', 'p4ssw0rd-with-{braces}', 'p4ssw0rd-with-{braces}'],
    ['a JSON object with token', '{"token":"from-token"}', 'from-token'],
    ['a JSON object with password (rotation template shape)', '{"username":"warmer","password":"pw"}', 'pw'],
    ['token over password', ' {"password":"pw","token":"tk"}', 'tk'],
  ])('reads %s', async (_shape, secret, token) => {
    withSecretString(secret);

    await expect(readCacheToken(client, ARN)).resolves.toBe(token);
  });

  it.each([
    ['invalid JSON', '{"token": ', /starts with \{ but is not valid JSON/],
    [
      'a JSON object without a token',
      '{"user":"warmer"}',
      /without a non-empty string "token" or "password"/,
    ],
    ['an empty token', '{"token":""}', /without a non-empty string "token" or "password"/],
    ['a token that is not a string', '{"token":42}', /without a non-empty string "token" or "password"/],
  ])('rejects a secret with %s, naming the secret', async (_shape, secret, message) => {
    withSecretString(secret);

    const error = await failure(readCacheToken(client, ARN));
    expect(error.message).toMatch(message);
    expect(error.message).toContain(ARN);
  });

  it('rejects a binary secret', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ ARN, SecretBinary: new Uint8Array([1, 2]) });

    expect((await failure(readCacheToken(client, ARN))).message).toBe(
      `secret ${ARN} has no string value (binary secrets are not supported)`,
    );
  });

  it('reports what Secrets Manager said when the secret cannot be read', async () => {
    const missing = new ResourceNotFoundException({
      message: "Secrets Manager can't find the specified secret.",
      $metadata: { httpStatusCode: 400 },
    });
    secretsManager.on(GetSecretValueCommand).rejects(missing);

    const error = await failure(readCacheToken(client, ARN));
    expect(error.message).toBe(
      `cannot read secret ${ARN}: ResourceNotFoundException: Secrets Manager can't find the specified secret.`,
    );
    expect(error.cause).toBe(missing);
  });
});

describe('cacheTokenFromSecret', () => {
  it('reads the secret once however often the token is asked for', async () => {
    withSecretString('token-1');
    const token = cacheTokenFromSecret(client, ARN);

    expect(await Promise.all([token(), token()])).toEqual(['token-1', 'token-1']);
    expect(await token()).toBe('token-1');
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('reads it again after a failed read', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejectsOnce(new Error('socket hang up'))
      .resolves({ ARN, SecretString: 'token-1' });
    const token = cacheTokenFromSecret(client, ARN);

    await expect(token()).rejects.toThrow(CacheSecretError);
    await expect(token()).resolves.toBe('token-1');
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });
});
