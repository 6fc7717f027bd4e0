import { request as httpRequest } from 'node:http';
import { InvokeCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LambdaInvokeServer,
  type LocalFunction,
  startLambdaInvokeServer,
} from '../../functions/local/LambdaInvokeServer';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../functions/local/localAws';

let server: LambdaInvokeServer;
let lambda: LambdaClient;
const eventsReceived: unknown[] = [];
const asyncErrors: { functionName: string; error: unknown }[] = [];

const payload = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decode = (bytes: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(bytes)) as unknown;

beforeAll(async () => {
  server = await startLambdaInvokeServer({
    functions: new Map<string, LocalFunction>([
      ['echo', async (event) => ({ ok: true, event })],
      [
        'broken',
        async () => {
          throw new RangeError('limit must be positive');
        },
      ],
      [
        'record',
        async (event) => {
          eventsReceived.push(event);
        },
      ],
    ]),
    onAsyncError: (functionName, error) => asyncErrors.push({ functionName, error }),
  });
  lambda = new LambdaClient({
    endpoint: server.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
});

afterAll(async () => {
  lambda?.destroy();
  await server?.close();
});

describe('the local Lambda Invoke endpoint, through @aws-sdk/client-lambda', () => {
  it('answers a synchronous invocation with the function’s result', async () => {
    const output = await lambda.send(
      new InvokeCommand({ FunctionName: 'echo', Payload: payload({ keys: ['a'] }) }),
    );

    expect(output.StatusCode).toBe(200);
    expect(output.FunctionError).toBeUndefined();
    expect(output.ExecutedVersion).toBe('$LATEST');
    expect(decode(output.Payload)).toEqual({ ok: true, event: { keys: ['a'] } });
  });

  it('finds a function by ARN', async () => {
    const output = await lambda.send(
      new InvokeCommand({
        FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:echo',
        Payload: payload({}),
      }),
    );

    expect(decode(output.Payload)).toEqual({ ok: true, event: {} });
  });

  it('reports a thrown error as Lambda does: FunctionError Unhandled, the type and the message', async () => {
    const output = await lambda.send(new InvokeCommand({ FunctionName: 'broken', Payload: payload({}) }));

    expect(output.StatusCode).toBe(200);
    expect(output.FunctionError).toBe('Unhandled');
    expect(decode(output.Payload)).toMatchObject({
      errorType: 'RangeError',
      errorMessage: 'limit must be positive',
    });
  });

  it('answers an unknown function or qualifier with ResourceNotFoundException, naming the ones it serves', async () => {
    const unknown = lambda.send(new InvokeCommand({ FunctionName: 'nope', Payload: payload({}) }));
    const qualified = lambda.send(
      new InvokeCommand({ FunctionName: 'echo', Qualifier: 'live', Payload: payload({}) }),
    );

    await expect(unknown).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(unknown).rejects.toThrow(/nope.*serves echo, broken, record/);
    await expect(qualified).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('rejects a payload that is not JSON', async () => {
    const invalid = lambda.send(
      new InvokeCommand({ FunctionName: 'echo', Payload: new TextEncoder().encode('{ keys: ') }),
    );

    await expect(invalid).rejects.toMatchObject({ name: 'InvalidRequestContentException' });
  });

  it('accepts an Event invocation with 202 and runs the function, telling of its failure; DryRun runs nothing', async () => {
    const dryRun = await lambda.send(
      new InvokeCommand({ FunctionName: 'record', InvocationType: 'DryRun', Payload: payload({ n: 1 }) }),
    );
    const event = await lambda.send(
      new InvokeCommand({ FunctionName: 'record', InvocationType: 'Event', Payload: payload({ n: 2 }) }),
    );
    const failing = await lambda.send(
      new InvokeCommand({ FunctionName: 'broken', InvocationType: 'Event', Payload: payload({}) }),
    );
    await server.close();

    expect(dryRun.StatusCode).toBe(204);
    expect(event.StatusCode).toBe(202);
    expect(eventsReceived).toEqual([{ n: 2 }]);
    // The caller got its 202 before the function ran; its failure is told to whoever listens.
    expect(failing.StatusCode).toBe(202);
    expect(asyncErrors).toEqual([
      { functionName: 'broken', error: new RangeError('limit must be positive') },
    ]);
  });
});

describe('requests from elsewhere than a local client', () => {
  let guarded: LambdaInvokeServer;
  const ran: unknown[] = [];

  beforeAll(async () => {
    guarded = await startLambdaInvokeServer({
      functions: new Map<string, LocalFunction>([['record', async (event) => ran.push(event)]]),
    });
  });

  afterAll(async () => {
    await guarded?.close();
  });

  /** A raw POST, as a web page (or a rebinding DNS name) would send it. */
  const post = (headers: Record<string, string>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const { hostname, port } = new URL(guarded.endpoint);
      const request = httpRequest(
        {
          hostname,
          port,
          method: 'POST',
          path: '/2015-03-31/functions/record/invocations',
          headers: { 'content-type': 'text/plain', ...headers },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
        },
      );
      request.once('error', reject);
      request.end('{"keys":["from a web page"]}');
    });

  it('refuses a cross-site request, and runs nothing', async () => {
    const answer = await post({ origin: 'http://evil.example' });

    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toEqual({
      Type: 'User',
      message: 'the local runtime refuses cross-origin requests (Origin http://evil.example)',
    });
    expect(ran).toEqual([]);
  });

  it('refuses a Host other than the loopback address it serves', async () => {
    const answer = await post({ host: `rebound.example:${new URL(guarded.endpoint).port}` });

    expect(answer.status).toBe(403);
    expect(answer.body).toContain(
      `the local runtime answers requests to ${new URL(guarded.endpoint).host} only, not to Host rebound.example:`,
    );
  });

  it('accepts its own origin', async () => {
    const answer = await post({ origin: guarded.endpoint });

    expect(answer.status).toBe(200);
    expect(ran).toEqual([{ keys: ['from a web page'] }]);
  });
});
