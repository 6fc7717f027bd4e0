import { createHash, createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createElastiCacheIamTokenProvider,
  type ElastiCacheIamTokenOptions,
  IAM_TOKEN_LIFETIME_SECONDS,
} from '../../functions/adapters/elastiCacheIamToken';
import { advanceClock, useFakeClock } from '../support/fakeClock';

const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session+token/with=padding',
};
const OPTIONS: ElastiCacheIamTokenOptions = {
  userId: 'warmer',
  cacheName: 'products',
  serverless: true,
  region: 'eu-west-1',
  credentials: CREDENTIALS,
};
const MINUTE = 60_000;

/** The token's parts: everything before `?`, and its query parameters. */
const parse = (token: string) => {
  const [target = '', query = ''] = token.split('?');
  return { target, params: new URLSearchParams(query) };
};

/** RFC 3986 encoding, as SigV4's canonical query string wants it. */
const encode = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
const sha256Hex = (data: string) => createHash('sha256').update(data).digest('hex');

/** The SigV4 signature of a presigned `GET http://<host>/?<params>`, computed from the specification alone. */
const expectedSignature = (host: string, params: URLSearchParams, region: string): string => {
  const unsigned = [...params.entries()].filter(([name]) => name !== 'X-Amz-Signature');
  const canonicalQuery = unsigned
    .map(([name, value]) => `${encode(name)}=${encode(value)}`)
    .sort()
    .join('&');
  const canonicalRequest = ['GET', '/', canonicalQuery, `host:${host}`, '', 'host', sha256Hex('')].join('\n');
  const amzDate = params.get('X-Amz-Date') ?? '';
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${region}/elasticache/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${CREDENTIALS.secretAccessKey}`, day);
  for (const part of [region, 'elasticache', 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(stringToSign).digest('hex');
};

describe('createElastiCacheIamTokenProvider', () => {
  beforeEach(() => {
    useFakeClock();
    vi.setSystemTime(new Date('2025-01-02T03:04:05Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is a presigned connect request for the cache, without its scheme, valid for 900 s', async () => {
    const token = await createElastiCacheIamTokenProvider(OPTIONS)();
    const { target, params } = parse(token);

    expect(token.startsWith('http')).toBe(false);
    expect(target).toBe('products/');
    expect(params.get('Action')).toBe('connect');
    expect(params.get('User')).toBe('warmer');
    expect(params.get('ResourceType')).toBe('ServerlessCache');
    expect(params.get('X-Amz-Expires')).toBe(String(IAM_TOKEN_LIFETIME_SECONDS));
    expect(IAM_TOKEN_LIFETIME_SECONDS).toBe(900);
    expect(params.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(params.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20250102/eu-west-1/elasticache/aws4_request');
    expect(params.get('X-Amz-Date')).toBe('20250102T030405Z');
    expect(params.get('X-Amz-SignedHeaders')).toBe('host');
    expect(params.get('X-Amz-Security-Token')).toBe(CREDENTIALS.sessionToken);
    expect(params.get('X-Amz-Signature')).toBe(expectedSignature('products', params, 'eu-west-1'));
  });

  it('leaves ResourceType out for a replication group, and resolves the region lazily', async () => {
    const token = await createElastiCacheIamTokenProvider({
      ...OPTIONS,
      serverless: false,
      cacheName: 'orders-rg',
      region: async () => 'us-east-2',
    })();
    const { target, params } = parse(token);

    expect(target).toBe('orders-rg/');
    expect(params.has('ResourceType')).toBe(false);
    expect(params.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20250102/us-east-2/elasticache/aws4_request');
    expect(params.get('X-Amz-Signature')).toBe(expectedSignature('orders-rg', params, 'us-east-2'));
  });

  it('reuses a token for 10 minutes, then signs a new one well before the 15 run out', async () => {
    const token = createElastiCacheIamTokenProvider(OPTIONS);
    const first = await token();

    await advanceClock(10 * MINUTE - 1_000, MINUTE);
    expect(await token()).toBe(first);

    await advanceClock(1_000);
    const second = await token();
    expect(second).not.toBe(first);
    expect(parse(second).params.get('X-Amz-Date')).toBe('20250102T031405Z');
  });

  it('does not keep a failure: the next call signs again', async () => {
    const credentials = vi
      .fn<() => Promise<typeof CREDENTIALS>>()
      .mockRejectedValueOnce(new Error('no credentials yet'))
      .mockResolvedValue(CREDENTIALS);
    const token = createElastiCacheIamTokenProvider({ ...OPTIONS, credentials });

    await expect(token()).rejects.toThrow('no credentials yet');
    expect(parse(await token()).params.get('User')).toBe('warmer');
  });
});
