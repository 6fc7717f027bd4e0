import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { cacheSuccess } from './cacheSuccess';
import { readSecretString } from './cacheTokenSecret';
import { ValueSourceError } from './valueSources';

/**
 * A header value kept in Secrets Manager: the configuration (and so the template and the console)
 * holds only the secret's ARN.
 */
export interface SecretHeaderValue {
  /** The secret's full ARN (with its random suffix), which is all the consume function is granted. */
  secretArn: string;
  /** For a secret holding a JSON object: the field whose (string) value is sent. @default the whole string */
  jsonField?: string;
  /** Text sent before the secret, e.g. `Bearer `. @default none */
  prefix?: string;
}

/** A header's value as configured: sent as given (not a secret), or read from a secret. */
export type HeaderValue = string | SecretHeaderValue;

/** A header's secret could not be read, or does not hold a value to send. */
export class HeaderSecretError extends ValueSourceError {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HeaderSecretError';
  }
}

/** The secrets that header values are read from, each once. */
export const headerSecretArns = (headers: Readonly<Record<string, HeaderValue>> | undefined): string[] => [
  ...new Set(
    Object.values(headers ?? {}).flatMap((value) => (typeof value === 'string' ? [] : [value.secretArn])),
  ),
];

/** Whether every header value is given as text (none is read from a secret). */
export const isPlainHeaders = (
  headers: Readonly<Record<string, HeaderValue>>,
): headers is Readonly<Record<string, string>> =>
  Object.values(headers).every((value) => typeof value === 'string');

/** The value a secret gives a header: its text, or one string field of its JSON object. */
const valueInSecret = (text: string, { secretArn, jsonField }: SecretHeaderValue): string => {
  if (jsonField === undefined) return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the text, which is the secret.
    throw new HeaderSecretError(`secret ${secretArn} is not JSON, so it has no field "${jsonField}"`);
  }
  const field = (parsed as Record<string, unknown> | null)?.[jsonField];
  if (typeof field !== 'string' || field === '') {
    throw new HeaderSecretError(`secret ${secretArn} has no non-empty string field "${jsonField}"`);
  }
  return field;
};

/**
 * The headers to send, with every secret value read from Secrets Manager once per container and
 * shared by all requests after that (a failed read is tried again on the next request). Rotate a
 * secret by keeping the old value valid until the functions' containers have recycled.
 *
 * @throws HeaderSecretError (from the returned function) naming the secret, never its value.
 *
 * @example
 * const headers = headersWithSecrets(
 *   { accept: 'application/json', 'x-api-key': { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:origin-AbCdEf' } },
 *   new SecretsManagerClient({}),
 * );
 * const loader = new HttpValueLoader({ urlTemplate: 'https://api.example.com/items/{key}', headers });
 */
export const headersWithSecrets = (
  headers: Readonly<Record<string, HeaderValue>>,
  client: SecretsManagerClient,
): (() => Promise<Record<string, string>>) =>
  cacheSuccess(async () => {
    const texts = new Map(
      await Promise.all(
        headerSecretArns(headers).map(
          async (arn) => [arn, await readSecretString(client, arn, HeaderSecretError)] as const,
        ),
      ),
    );
    return Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [
        name,
        typeof value === 'string'
          ? value
          : `${value.prefix ?? ''}${valueInSecret(texts.get(value.secretArn) ?? '', value)}`,
      ]),
    );
  });
