import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { KEY_SOURCES_VARIABLE, VALUE_SOURCE_VARIABLE } from '../../../functions/adapters/sourceConfig';
import { resourceVariables } from '../../../functions/handlers/environment';
import {
  FUNCTION_BUNDLE_OPTIONS,
  FUNCTION_HANDLERS,
  FUNCTION_VARIANTS,
  functionVariant,
  omittedBundleParts,
} from '../../../infra/functionBundling';

const HTTP_ORIGIN = {
  [VALUE_SOURCE_VARIABLE]: JSON.stringify({ type: 'http', urlTemplate: 'https://api.example.com/{key}' }),
};

/** The packages a bundle of `handler` holds, built as the construct builds it. */
const bundledPackages = async (handler: string, define: Record<string, string>): Promise<Set<string>> => {
  const { metafile } = await build({
    ...FUNCTION_BUNDLE_OPTIONS,
    entryPoints: [fileURLToPath(new URL(`../../../functions/handlers/${handler}.ts`, import.meta.url))],
    define,
    write: false,
    outfile: 'bundle.mjs',
    metafile: true,
    logLevel: 'silent',
  });
  const bundle = Object.values(metafile.outputs).find((output) => output.entryPoint);
  // Every file esbuild read is listed; only those with bytes in the output are in the bundle.
  return new Set(
    Object.entries(bundle?.inputs ?? {}).flatMap(([input, { bytesInOutput }]) => {
      const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];
      return name && bytesInOutput > 0 ? [name] : [];
    }),
  );
};

describe('omittedBundleParts', () => {
  it('leaves out every optional part a warm function with static keys and no cache reads never calls', () => {
    const environment = { [KEY_SOURCES_VARIABLE]: JSON.stringify([{ type: 'static', keys: ['home'] }]) };

    expect(omittedBundleParts(environment)).toEqual([
      's3',
      'lambda',
      'cache',
      'cacheLookup',
      'cacheSecret',
      'headerSecrets',
      'msgpack',
    ]);
  });

  it('keeps what the sources and the cache settings name', () => {
    expect(
      omittedBundleParts({
        [KEY_SOURCES_VARIABLE]: JSON.stringify([
          { type: 's3', bucket: 'b', key: 'k' },
          { type: 'lambda', functionName: 'keys' },
        ]),
        ...resourceVariables({ cacheName: 'products', cacheAuth: 'iam', cacheUser: 'warmer' }),
      }),
    ).toEqual(['cacheSecret', 'headerSecrets', 'msgpack']);
    expect(
      omittedBundleParts({
        [VALUE_SOURCE_VARIABLE]: JSON.stringify({ type: 'lambda', functionName: 'values' }),
        ...resourceVariables({ cacheUrl: 'rediss://cache:6379', cacheAuth: 'token', cacheSecretArn: 'arn' }),
      }),
    ).toEqual(['s3', 'cacheLookup', 'headerSecrets', 'msgpack']);
    expect(
      omittedBundleParts(resourceVariables({ cacheUrl: 'redis://cache', cacheEncoding: 'msgpack' })),
    ).not.toContain('msgpack');
  });

  it('keeps the Secrets Manager client for HTTP headers read from a secret', () => {
    const headers = {
      accept: 'application/json',
      'x-api-key': { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:origin-AbCdEf' },
    };

    expect(
      omittedBundleParts({
        [VALUE_SOURCE_VARIABLE]: JSON.stringify({ type: 'http', urlTemplate: 'https://a/{key}', headers }),
      }),
    ).not.toContain('headerSecrets');
    expect(
      omittedBundleParts({
        [VALUE_SOURCE_VARIABLE]: JSON.stringify({
          type: 'http',
          urlTemplate: 'https://a/{key}',
          headers: { accept: 'application/json' },
        }),
      }),
    ).toContain('headerSecrets');
  });
});

describe('functionVariant', () => {
  it('picks the smallest bundle that holds every part the configuration uses', () => {
    const staticKeys = { [KEY_SOURCES_VARIABLE]: JSON.stringify([{ type: 'static', keys: ['home'] }]) };
    expect(functionVariant('warm', staticKeys).name).toBe('warm-s3');
    const lambdaKeys = { [KEY_SOURCES_VARIABLE]: JSON.stringify([{ type: 'lambda', functionName: 'list' }]) };
    expect(functionVariant('warm', lambdaKeys).name).toBe('warm-s3-lambda-cache-cacheLookup-cacheSecret');
    expect(
      functionVariant('warm', { ...staticKeys, ...resourceVariables({ cacheUrl: 'rediss://cache:6379' }) })
        .name,
    ).toBe('warm-s3-lambda-cache-cacheLookup-cacheSecret');
    const byUrl = resourceVariables({ cacheUrl: 'rediss://cache:6379', cacheName: 'c', cacheAuth: 'iam' });
    expect(functionVariant('consume', { ...HTTP_ORIGIN, ...byUrl }).name).toBe('consume-cache-cacheSecret');
    expect(
      functionVariant('consume', { ...HTTP_ORIGIN, ...resourceVariables({ cacheName: 'c' }) }).name,
    ).toBe('consume-lambda-cache-cacheLookup-cacheSecret-headerSecrets-msgpack');
    expect(functionVariant('track', {}).name).toBe('track');
  });

  it('has a bundle with every part a handler can use, so any configuration deploys', () => {
    for (const handler of FUNCTION_HANDLERS) {
      expect(() => functionVariant(handler, {})).not.toThrow();
    }
    expect(FUNCTION_VARIANTS.warm.at(-1)).toEqual(['s3', 'lambda', 'cache', 'cacheLookup', 'cacheSecret']);
  });

  it('builds a consume bundle for an HTTP origin and a cache by URL without the clients it never calls', async () => {
    const environment = { ...HTTP_ORIGIN, ...resourceVariables({ cacheUrl: 'rediss://cache:6379' }) };

    const trimmed = await bundledPackages('consume', functionVariant('consume', environment).define);
    const everyPart = await bundledPackages('consume', {});

    for (const client of ['@aws-sdk/client-lambda', '@aws-sdk/client-elasticache', '@msgpack/msgpack']) {
      expect(everyPart).toContain(client);
      expect(trimmed).not.toContain(client);
    }
    expect(trimmed).toContain('ioredis');
    const msgpack = { ...environment, ...resourceVariables({ cacheEncoding: 'msgpack' }) };
    expect(await bundledPackages('consume', functionVariant('consume', msgpack).define)).toContain(
      '@msgpack/msgpack',
    );
  }, 60_000);

  it('builds a warm bundle that reads no cache without the Redis client', async () => {
    const environment = { [KEY_SOURCES_VARIABLE]: JSON.stringify([{ type: 'static', keys: ['home'] }]) };

    const trimmed = await bundledPackages('warm', functionVariant('warm', environment).define);

    expect(trimmed).not.toContain('ioredis');
    expect(trimmed).toContain('@aws-sdk/client-sqs');
  }, 60_000);
});
