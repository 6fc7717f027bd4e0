import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { cacheSuccess } from './cacheSuccess';

/** ElastiCache accepts an IAM auth token for 15 minutes after it was signed. */
export const IAM_TOKEN_LIFETIME_SECONDS = 900;
/** A token is signed anew once this old, so one handed to a (re)connect has at least 5 minutes left. */
const IAM_TOKEN_MAX_AGE_MS = 10 * 60_000;

export interface ElastiCacheIamTokenOptions {
  /** The IAM-enabled ElastiCache user's id (its user name is the same). */
  userId: string;
  /** The serverless cache's name or the replication group's id, lower case as ElastiCache keeps it. */
  cacheName: string;
  /** Signs `ResourceType=ServerlessCache`, which a serverless cache requires and a replication group rejects. */
  serverless: boolean;
  /** The cache's region, or a function that resolves it (e.g. an SDK client's `config.region`). */
  region: string | (() => Promise<string>);
  /** Default: the AWS SDK's default chain (in Lambda, the function's role). */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

/**
 * A function that returns an ElastiCache IAM auth token, the password of `AUTH <userId> <token>`: a
 * SigV4-presigned `GET http://<cacheName>/?Action=connect&User=<userId>[&ResourceType=ServerlessCache]`,
 * valid for {@link IAM_TOKEN_LIFETIME_SECONDS}, without its `http://`. The token is kept and signed
 * anew once {@link IAM_TOKEN_MAX_AGE_MS} old; signing is local, so only credentials may cost a call.
 *
 * @example
 * const token = createElastiCacheIamTokenProvider({ userId: 'warmer', cacheName: 'products', serverless: true, region: 'eu-west-1' });
 * await redis.auth('warmer', await token());
 */
export const createElastiCacheIamTokenProvider = (
  options: ElastiCacheIamTokenOptions,
): (() => Promise<string>) => {
  const signer = new SignatureV4({
    service: 'elasticache',
    region: options.region,
    credentials: options.credentials ?? defaultProvider(),
    sha256: Sha256,
  });
  const query: Record<string, string> = { Action: 'connect', User: options.userId };
  if (options.serverless) query.ResourceType = 'ServerlessCache';
  return cacheSuccess(async () => {
    const presigned = await signer.presign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: options.cacheName,
        path: '/',
        query,
        headers: { host: options.cacheName },
      },
      { expiresIn: IAM_TOKEN_LIFETIME_SECONDS },
    );
    const parameters = new URLSearchParams();
    for (const [name, value] of Object.entries(presigned.query ?? {})) {
      if (typeof value === 'string') parameters.append(name, value);
    }
    return `${presigned.hostname}${presigned.path}?${parameters}`;
  }, IAM_TOKEN_MAX_AGE_MS);
};
