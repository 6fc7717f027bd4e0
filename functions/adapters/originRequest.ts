import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CacheWarmersError, describeError } from '../core';

/** An HTTP origin answered in a way that fails the request: a redirect elsewhere, a body too large. */
export class OriginRequestError extends CacheWarmersError {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OriginRequestError';
  }
}

/** The most a response body may hold unless configured: far below a function's 512 MB. */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1_048_576;

/** Redirects followed (within the origin) before a request fails. */
const MAX_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * A URL as failure reasons and logs may show it: without credentials, and without its query string,
 * which often carries an API key (`?api_key=…`).
 *
 * @example
 * redactUrl('https://user:pw@api.example.com/items/1?api_key=SECRET'); // 'https://api.example.com/items/1?…'
 */
export const redactUrl = (url: string | URL): string => {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(a URL that cannot be parsed)';
  }
  return `${parsed.origin}${parsed.pathname}${parsed.search ? '?…' : ''}`;
};

/**
 * Replaces every occurrence of a secret in `text` (an origin's error body may echo the request) by `…`.
 * Secrets shorter than 4 characters are left: they would blank out ordinary words.
 */
export const redactSecrets = (text: string, secrets: Iterable<string>): string => {
  let redacted = text;
  for (const secret of secrets) if (secret.length >= 4) redacted = redacted.replaceAll(secret, '…');
  return redacted;
};

/** The secrets of a URL: its password, and the values of its query string. */
export const urlSecrets = (url: URL): string[] => [
  ...(url.password ? [decodeURIComponent(url.password)] : []),
  ...url.searchParams.values(),
];

export interface OriginRequest {
  method: 'GET' | 'POST';
  /** The origin, e.g. `https://api.example.com`. */
  origin: string;
  /**
   * The path and query exactly as sent: never normalized, so an encoded key (`%2E%2E`) stays one
   * segment instead of becoming a `..` that climbs the path.
   */
  path: string;
  headers: OutgoingHttpHeaders;
  body?: string;
  signal: AbortSignal;
  maxBodyBytes: number;
}

export interface OriginResponse {
  status: number;
  statusText: string;
  body: Buffer;
}

/** Sends one request and resolves with the response once its headers arrive. */
const send = (request: OriginRequest): Promise<IncomingMessage> =>
  new Promise((resolve, reject) => {
    const url = new URL(request.origin);
    const sendRequest = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const outgoing = sendRequest(
      {
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port,
        method: request.method,
        path: request.path,
        headers: request.headers,
        signal: request.signal,
      },
      resolve,
    );
    outgoing.once('error', reject);
    outgoing.end(request.body);
  });

/** The body, or an error as soon as it grows past `maxBodyBytes` (the rest is never read). */
const readBody = async (response: IncomingMessage, maxBodyBytes: number, where: string): Promise<Buffer> => {
  const tooLarge = () =>
    new OriginRequestError(
      `${where} answered a body over ${maxBodyBytes} bytes (maxBodyBytes); it was not read further`,
    );
  const declared = Number(response.headers['content-length']);
  if (declared > maxBodyBytes) {
    response.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > maxBodyBytes) {
      response.destroy();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, bytes);
};

/**
 * Sends a request to an HTTP origin and reads the whole response, up to `maxBodyBytes`. Redirects are
 * followed only within the origin (at most 5), so the request's headers never reach another host; a
 * redirect elsewhere fails the request. `where` names the request in every error, and the origin
 * being unreachable is one too (an aborted request keeps the signal's reason).
 *
 * @throws OriginRequestError on a redirect to another origin, too many redirects, a body too large,
 * or a network failure.
 */
export const requestOrigin = async (request: OriginRequest, where: string): Promise<OriginResponse> => {
  let current = request;
  for (let redirects = 0; ; redirects++) {
    let response: IncomingMessage;
    try {
      response = await send(current);
    } catch (error) {
      if (request.signal.aborted) throw request.signal.reason;
      throw new OriginRequestError(`${where} failed: ${describeError(error)}`, { cause: error });
    }
    const location = response.headers.location;
    if (!REDIRECT_STATUSES.has(response.statusCode ?? 0) || location === undefined) {
      try {
        const body = await readBody(response, request.maxBodyBytes, where);
        return { status: response.statusCode ?? 0, statusText: response.statusMessage ?? '', body };
      } catch (error) {
        if (request.signal.aborted) throw request.signal.reason;
        if (error instanceof OriginRequestError) throw error;
        throw new OriginRequestError(`${where} failed reading the body: ${describeError(error)}`, {
          cause: error,
        });
      }
    }
    response.resume();
    const target = new URL(location, `${current.origin}${current.path}`);
    if (target.origin !== request.origin) {
      throw new OriginRequestError(
        `${where} was redirected (${response.statusCode}) to another origin, ${redactUrl(target)}; redirects are followed within ${request.origin} only`,
      );
    }
    if (redirects === MAX_REDIRECTS) {
      throw new OriginRequestError(`${where} was redirected more than ${MAX_REDIRECTS} times`);
    }
    // As fetch does: 303, and 301/302 after a POST, continue with a GET without the body.
    const asGet =
      response.statusCode === 303 ||
      (current.method === 'POST' && response.statusCode !== 307 && response.statusCode !== 308);
    current = {
      ...current,
      path: `${target.pathname}${target.search}`,
      ...(asGet && { method: 'GET', body: undefined }),
    };
  }
};
