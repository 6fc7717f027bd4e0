import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RedisStore } from '../../functions/adapters/RedisStore';
import { ConfigurationError, defaultWarmingConfig } from '../../functions/core';
import { createCacheStore, loadCacheEncoder } from '../../functions/handlers/cacheStore';
import { type ResourceName, resourceVariables } from '../../functions/handlers/environment';

const clients = {
  elasticache: new ElastiCacheClient({ region: 'eu-west-1' }),
  secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
};
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cache-token-AbCdEf';

const create = (values: Partial<Record<ResourceName, string>>) =>
  createCacheStore(resourceVariables(values), defaultWarmingConfig(), clients);

const configurationError = (values: Partial<Record<ResourceName, string>>): ConfigurationError => {
  let thrown: unknown;
  try {
    create(values);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigurationError);
  return thrown as ConfigurationError;
};

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('createCacheStore', () => {
  it.each([
    ['a URL', { cacheUrl: 'rediss://cache.example:6379', cacheCluster: 'true' }],
    ['a name', { cacheName: 'products' }],
    ['a name and token auth', { cacheName: 'products', cacheAuth: 'token', cacheSecretArn: SECRET_ARN }],
    [
      'a URL and token auth for an ACL user',
      {
        cacheUrl: 'redis://cache.example',
        cacheAuth: 'token',
        cacheSecretArn: SECRET_ARN,
        cacheUser: 'warmer',
      },
    ],
    ['a name and IAM auth', { cacheName: 'products', cacheAuth: 'iam', cacheUser: 'warmer' }],
    ['no auth, said so', { cacheName: 'products', cacheAuth: 'none' }],
  ])('builds a store, connecting nowhere yet, from %s', (_case, values) => {
    expect(create(values)).toBeInstanceOf(RedisStore);
  });

  it('needs the cache URL or its name', () => {
    const error = configurationError({});
    expect(error.message).toBe(
      'CODOMYRMEX_WARMING_CACHE_URL, CODOMYRMEX_WARMING_CACHE_NAME: one of them is required: the cache URL, or its name to look its endpoint up',
    );
  });

  it.each([
    ['CODOMYRMEX_BUNDLE_CACHE_LOOKUP', { cacheName: 'products' }, 'CODOMYRMEX_WARMING_CACHE_NAME'],
    [
      'CODOMYRMEX_BUNDLE_CACHE_SECRET',
      { cacheUrl: 'redis://cache.example', cacheAuth: 'token', cacheSecretArn: SECRET_ARN },
      'CODOMYRMEX_WARMING_CACHE_AUTH',
    ],
  ])('says to redeploy when a setting needs a part its bundle omits (%s)', (part, values, variable) => {
    vi.stubEnv(part, 'omitted');

    const error = configurationError(values);

    expect(error.setting).toBe(variable);
    expect(error.message).toMatch(/which this function was deployed without/);
  });

  it('connects to the URL when both are given, the name only naming the cache IAM tokens are signed for', () => {
    // Without the lookup part a name alone could not connect: with the URL beside it, nothing is looked up.
    vi.stubEnv('CODOMYRMEX_BUNDLE_CACHE_LOOKUP', 'omitted');

    const store = create({
      cacheUrl: 'rediss://cache.example:6379',
      cacheCluster: 'true',
      cacheName: 'products',
      cacheAuth: 'iam',
      cacheUser: 'warmer',
    });

    expect(store).toBeInstanceOf(RedisStore);
  });

  it.each([
    [
      { cacheName: 'products', cacheAuth: 'token' },
      'CODOMYRMEX_WARMING_CACHE_SECRET_ARN: is required with CODOMYRMEX_WARMING_CACHE_AUTH=token',
    ],
    [
      { cacheName: 'products', cacheAuth: 'iam' },
      'CODOMYRMEX_WARMING_CACHE_USER: is required with CODOMYRMEX_WARMING_CACHE_AUTH=iam: the ElastiCache user id',
    ],
    [
      { cacheUrl: 'rediss://cache.example', cacheAuth: 'iam', cacheUser: 'warmer' },
      'CODOMYRMEX_WARMING_CACHE_NAME: is required with CODOMYRMEX_WARMING_CACHE_AUTH=iam: the token is signed for the cache by name',
    ],
    [
      { cacheName: 'products', cacheAuth: 'iam', cacheUser: 'warmer', cacheSecretArn: SECRET_ARN },
      'CODOMYRMEX_WARMING_CACHE_SECRET_ARN: is not used with CODOMYRMEX_WARMING_CACHE_AUTH=iam: unset it',
    ],
    [
      { cacheName: 'products', cacheSecretArn: SECRET_ARN },
      'CODOMYRMEX_WARMING_CACHE_AUTH: is none, yet CODOMYRMEX_WARMING_CACHE_SECRET_ARN is set: set it to token or iam',
    ],
    [
      { cacheName: 'products', cacheUser: 'warmer' },
      'CODOMYRMEX_WARMING_CACHE_AUTH: is none, yet CODOMYRMEX_WARMING_CACHE_USER is set: set it to token or iam',
    ],
  ])('names the variable a CACHE_AUTH mode is missing or does not use: %j', (values, message) => {
    expect(configurationError(values).message).toBe(message);
  });

  it.each([
    [
      { cacheName: 'my_cache' },
      'CODOMYRMEX_WARMING_CACHE_NAME',
      /expected an ElastiCache serverless cache name/,
    ],
    [
      { cacheName: 'products', cacheAuth: 'password' },
      'CODOMYRMEX_WARMING_CACHE_AUTH',
      /expected none, token or iam/,
    ],
    [
      { cacheName: 'products', cacheAuth: 'token', cacheSecretArn: 'cache-token' },
      'CODOMYRMEX_WARMING_CACHE_SECRET_ARN',
      /expected a Secrets Manager secret ARN/,
    ],
    [
      { cacheName: 'products', cacheAuth: 'iam', cacheUser: 'two words' },
      'CODOMYRMEX_WARMING_CACHE_USER',
      /expected a user name/,
    ],
  ])('rejects a malformed value, naming its variable: %j', (values, variable, message) => {
    const error = configurationError(values);
    expect(error.setting).toBe(variable);
    expect(error.message).toMatch(message);
  });

  it.each([
    [{ cacheKeyTemplate: 'app:v3:' }, 'CODOMYRMEX_WARMING_CACHE_KEY_TEMPLATE', /holding \{key\}/],
    [{ cacheEncoding: 'protobuf' }, 'CODOMYRMEX_WARMING_CACHE_ENCODING', /expected json, msgpack or module/],
    [
      { cacheCompression: 'lz4' },
      'CODOMYRMEX_WARMING_CACHE_COMPRESSION',
      /expected none, gzip, brotli or zstd/,
    ],
    [{ cacheValueType: 'list' }, 'CODOMYRMEX_WARMING_CACHE_VALUE_TYPE', /expected string or hash/],
    [
      { cacheValueType: 'hash', cacheEncoding: 'msgpack' },
      'CODOMYRMEX_WARMING_CACHE_VALUE_TYPE',
      /takes no encoding or compression/,
    ],
    [
      { cacheEncoderModule: './encoder.mjs' },
      'CODOMYRMEX_WARMING_CACHE_ENCODER_MODULE',
      /only with CODOMYRMEX_WARMING_CACHE_ENCODING=module/,
    ],
    [{ cacheEncoding: 'module' }, 'CODOMYRMEX_WARMING_CACHE_ENCODING', /no encoder was loaded/],
    [
      { cacheEncoding: 'module', cacheEncoderModule: 'data:text/javascript,export const encode = 1' },
      'CODOMYRMEX_WARMING_CACHE_ENCODER_MODULE',
      /expected a file path/,
    ],
  ])('names the variable of a value layout it cannot use: %j', (values, variable, message) => {
    const error = configurationError({ cacheUrl: 'redis://cache.example', ...values });
    expect(error.setting).toBe(variable);
    expect(error.message).toMatch(message);
  });

  it('builds a store with the key template, encoding, compression and value type given', () => {
    for (const values of [
      { cacheKeyTemplate: 'app:{tenant}:{key}', cacheEncoding: 'msgpack', cacheCompression: 'gzip' },
      { cacheEncoding: 'json', cacheCompression: 'brotli' },
      { cacheValueType: 'hash' },
    ]) {
      expect(create({ cacheUrl: 'redis://cache.example', ...values })).toBeInstanceOf(RedisStore);
    }
  });

  it('loads the encoder module CACHE_ENCODING=module names, or says what is wrong with it', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'encoder-'));
    const good = join(directory, 'encoder.mjs');
    writeFileSync(good, 'export const encode = (key, value) => key + "=" + JSON.stringify(value);\n');
    const empty = join(directory, 'empty.mjs');
    writeFileSync(empty, 'export const nothing = 1;\n');
    const variables = (path?: string) =>
      resourceVariables({
        cacheEncoding: 'module',
        cacheEncoderModule: path,
        cacheUrl: 'redis://cache.example',
      });

    const encoder = await loadCacheEncoder(variables(good));
    expect(encoder?.encode('k', { a: 1 })).toBe('k={"a":1}');
    expect(createCacheStore(variables(good), defaultWarmingConfig(), clients, encoder)).toBeInstanceOf(
      RedisStore,
    );
    await expect(loadCacheEncoder(resourceVariables({ cacheEncoding: 'json' }))).resolves.toBeUndefined();
    await expect(loadCacheEncoder(variables())).rejects.toThrow(
      'CODOMYRMEX_WARMING_CACHE_ENCODER_MODULE: is required with CODOMYRMEX_WARMING_CACHE_ENCODING=module',
    );
    await expect(loadCacheEncoder(variables(empty))).rejects.toThrow(
      /exports no encode\(key, value\) function/,
    );
    await expect(loadCacheEncoder(variables(join(directory, 'missing.mjs')))).rejects.toThrow(
      /CODOMYRMEX_WARMING_CACHE_ENCODER_MODULE: cannot import/,
    );
  });
});
