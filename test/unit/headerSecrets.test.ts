import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  HeaderSecretError,
  headerSecretArns,
  headersWithSecrets,
} from '../../functions/adapters/headerSecrets';

const secrets = mockClient(SecretsManagerClient);
const API_KEY_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:origin-api-key-AbCdEf';
const TOKEN_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:origin-token-GhIjKl';

beforeEach(() => {
  secrets.reset();
});

const secretValues = (values: Record<string, string>) =>
  secrets
    .on(GetSecretValueCommand)
    .callsFake((input: { SecretId: string }) => ({ SecretString: values[input.SecretId] }));

describe('headersWithSecrets', () => {
  const headers = {
    accept: 'application/json',
    'x-api-key': { secretArn: API_KEY_ARN },
    authorization: { secretArn: TOKEN_ARN, jsonField: 'token', prefix: 'Bearer ' },
    'x-also-token': { secretArn: TOKEN_ARN, jsonField: 'token' },
  };

  it('reads each secret once per container, whatever the number of requests', async () => {
    secretValues({ [API_KEY_ARN]: 'KEY-1234', [TOKEN_ARN]: '{"token":"T-5678","user":"u"}' });
    const resolve = headersWithSecrets(headers, new SecretsManagerClient({}));

    const sent = await Promise.all([resolve(), resolve(), resolve()]);
    const later = await resolve();

    expect(sent[0]).toEqual({
      accept: 'application/json',
      'x-api-key': 'KEY-1234',
      authorization: 'Bearer T-5678',
      'x-also-token': 'T-5678',
    });
    expect(later).toEqual(sent[0]);
    expect(secrets.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId)).toEqual([
      API_KEY_ARN,
      TOKEN_ARN,
    ]);
  });

  it('names the secret, never its value, when it cannot be read; and tries again on the next request', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejectsOnce(
        new ResourceNotFoundException({
          message: "Secrets Manager can't find the specified secret.",
          $metadata: { httpStatusCode: 400 },
        }),
      )
      .resolves({ SecretString: 'KEY-1234' });
    const resolve = headersWithSecrets(
      { 'x-api-key': { secretArn: API_KEY_ARN } },
      new SecretsManagerClient({}),
    );

    await expect(resolve()).rejects.toThrow(
      new HeaderSecretError(
        `cannot read secret ${API_KEY_ARN}: ResourceNotFoundException: Secrets Manager can't find the specified secret.`,
      ),
    );
    expect(await resolve()).toEqual({ 'x-api-key': 'KEY-1234' });
  });

  it.each([
    [
      { jsonField: 'token' },
      'not-json-SECRET',
      `secret ${API_KEY_ARN} is not JSON, so it has no field "token"`,
    ],
    [
      { jsonField: 'token' },
      '{"password":"SECRET"}',
      `secret ${API_KEY_ARN} has no non-empty string field "token"`,
    ],
    [{}, '', `secret ${API_KEY_ARN} has no string value (binary secrets are not supported)`],
  ])('fails on a secret without a value to send (%j of %j)', async (options, text, reason) => {
    secretValues({ [API_KEY_ARN]: text });
    const resolve = headersWithSecrets(
      { 'x-api-key': { secretArn: API_KEY_ARN, ...options } },
      new SecretsManagerClient({}),
    );

    const error = await resolve().catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(HeaderSecretError);
    expect((error as Error).message).toBe(reason);
    expect((error as Error).message).not.toContain('SECRET');
  });
});

describe('headerSecretArns', () => {
  it('lists each secret once, and none for headers given as text', () => {
    expect(
      headerSecretArns({
        accept: 'text/plain',
        a: { secretArn: TOKEN_ARN },
        b: { secretArn: TOKEN_ARN, jsonField: 'x' },
      }),
    ).toEqual([TOKEN_ARN]);
    expect(headerSecretArns(undefined)).toEqual([]);
  });
});
