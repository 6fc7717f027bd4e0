import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError } from '../core';

/** A local function as the server runs it: the parsed JSON payload in, a JSON-serializable result out. */
export type LocalFunction = (payload: unknown) => Promise<unknown>;

export interface LambdaInvokeServerOptions {
  /** The functions by name. */
  functions: ReadonlyMap<string, LocalFunction>;
  /** Port on 127.0.0.1. @default a free port */
  port?: number;
  /** Told when an asynchronous (`Event`) invocation fails; nobody else hears of it. */
  onAsyncError?: (functionName: string, error: unknown) => void;
}

export interface LambdaInvokeServer {
  /** `http://127.0.0.1:<port>`: the `endpoint` of a `LambdaClient`. */
  endpoint: string;
  /** Stops accepting invocations and resolves once those in flight (asynchronous ones too) have ended. */
  close(): Promise<void>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
/** Lambda's limit on a synchronous invocation's request and response payloads. */
const MAX_PAYLOAD_BYTES = 6_291_456;

/** An error as Lambda's REST API answers it: the type in `x-amzn-ErrorType`, a JSON body. */
const sendApiError = (response: ServerResponse, status: number, type: string, message: string): void => {
  response
    .writeHead(status, { 'content-type': 'application/json', 'x-amzn-ErrorType': type })
    .end(JSON.stringify({ Type: 'User', message }));
};

/** A function's name from a name, a partial ARN (`123:function:name`) or an ARN, and its qualifier. */
const parseFunctionName = (text: string): { name: string; qualifier: string | undefined } => {
  const parts = text.split(':');
  const at = parts.indexOf('function');
  return at === -1
    ? { name: text, qualifier: undefined }
    : { name: parts[at + 1] ?? '', qualifier: parts[at + 2] };
};

const readBody = async (request: IncomingMessage): Promise<Buffer | undefined> => {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes <= MAX_PAYLOAD_BYTES) chunks.push(chunk);
  }
  return bytes > MAX_PAYLOAD_BYTES ? undefined : Buffer.concat(chunks);
};

/**
 * Why a request is refused, if it is: a browser's cross-site request (any `Origin` but the server's own;
 * SDK clients send none) or a `Host` other than the loopback address served (DNS rebinding).
 */
const refuseForeignRequest = (request: IncomingMessage, servedHost: string): string | undefined => {
  const { host, origin } = request.headers;
  if (host !== servedHost)
    return `the local runtime answers requests to ${servedHost} only, not to Host ${String(host)}`;
  if (origin !== undefined && origin !== `http://${servedHost}`)
    return `the local runtime refuses cross-origin requests (Origin ${origin})`;
  return undefined;
};

/** The body the Node.js runtime answers for an error the function threw. */
const describeFunctionError = (error: unknown) =>
  error instanceof Error
    ? { errorType: error.name, errorMessage: error.message, trace: error.stack?.split('\n') ?? [] }
    : { errorType: 'Error', errorMessage: describeError(error), trace: [] };

/**
 * Serves local functions over Lambda's Invoke API (`POST /2015-03-31/functions/{FunctionName}/invocations`),
 * as `sam local start-lambda` does, so `@aws-sdk/client-lambda` talks to the local runtime exactly as to
 * AWS. It keeps the API's answers: `RequestResponse` → 200 with the result (a thrown error → 200 with
 * `X-Amz-Function-Error: Unhandled` and `{ errorType, errorMessage, trace }`), `Event` → 202 and the
 * function runs on, `DryRun` → 204; an unknown function or qualifier → 404 `ResourceNotFoundException`;
 * a payload that is not JSON → 400 `InvalidRequestContentException`; over 6 MB → 413 `RequestTooLargeException`.
 * Only `$LATEST` exists; credentials and signatures are not checked, but a request with a foreign
 * `Origin` (a web page's) or a `Host` other than `127.0.0.1:<port>` is refused with 403.
 *
 * @example
 * const server = await startLambdaInvokeServer({ functions: new Map([['echo', async (payload) => payload]]) });
 * const lambda = new LambdaClient({ endpoint: server.endpoint, region: 'us-east-1', credentials });
 */
export const startLambdaInvokeServer = async (
  options: LambdaInvokeServerOptions,
): Promise<LambdaInvokeServer> => {
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    promise.then(
      () => inFlight.delete(promise),
      () => inFlight.delete(promise),
    );
    return promise;
  };

  /** `127.0.0.1:<port>`, once listening: the one Host the server answers. */
  let servedHost = '';
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const refusal = refuseForeignRequest(request, servedHost);
    if (refusal) {
      sendApiError(response, 403, 'AccessDeniedException', refusal);
      return;
    }
    const url = new URL(request.url ?? '/', 'http://localhost');
    const match = INVOKE_PATH.exec(url.pathname);
    if (request.method !== 'POST' || !match?.[1]) {
      sendApiError(
        response,
        404,
        'UnknownOperationException',
        `no operation ${request.method} ${url.pathname}`,
      );
      return;
    }
    const requested = decodeURIComponent(match[1]);
    const { name, qualifier: arnQualifier } = parseFunctionName(requested);
    const qualifier = url.searchParams.get('Qualifier') ?? arnQualifier;
    const run = options.functions.get(name);
    if (!run || (qualifier !== undefined && qualifier !== '$LATEST')) {
      sendApiError(
        response,
        404,
        'ResourceNotFoundException',
        `Function not found: ${requested}${qualifier ? ` (qualifier ${qualifier})` : ''}; the local runtime serves ${[...options.functions.keys()].join(', ')}`,
      );
      return;
    }
    const body = await readBody(request);
    if (!body) {
      sendApiError(
        response,
        413,
        'RequestTooLargeException',
        `Request must be smaller than ${MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation`,
      );
      return;
    }
    let payload: unknown;
    try {
      payload = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch (error) {
      sendApiError(
        response,
        400,
        'InvalidRequestContentException',
        `Could not parse request body into json: ${describeError(error)}`,
      );
      return;
    }
    const invocationType = request.headers['x-amz-invocation-type'] ?? 'RequestResponse';
    const headers = { 'X-Amz-Executed-Version': '$LATEST' };
    if (invocationType === 'DryRun') {
      response.writeHead(204, headers).end();
      return;
    }
    if (invocationType === 'Event') {
      track(run(payload)).catch((error: unknown) => options.onAsyncError?.(name, error));
      response.writeHead(202, headers).end();
      return;
    }
    if (invocationType !== 'RequestResponse') {
      sendApiError(
        response,
        400,
        'InvalidParameterValueException',
        `X-Amz-Invocation-Type must be RequestResponse, Event or DryRun, got ${String(invocationType)}`,
      );
      return;
    }
    try {
      const result = await run(payload);
      response
        .writeHead(200, { ...headers, 'content-type': 'application/json' })
        .end(JSON.stringify(result ?? null));
    } catch (error) {
      response
        .writeHead(200, {
          ...headers,
          'content-type': 'application/json',
          'X-Amz-Function-Error': 'Unhandled',
        })
        .end(JSON.stringify(describeFunctionError(error)));
    }
  };

  const server = createServer((request, response) => {
    track(new Promise((resolve) => response.once('close', resolve)));
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendApiError(response, 500, 'ServiceException', describeError(error));
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  servedHost = `127.0.0.1:${port}`;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...inFlight]);
      server.closeAllConnections();
      await closed;
    },
  };
};
