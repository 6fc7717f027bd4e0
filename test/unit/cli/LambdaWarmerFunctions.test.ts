import {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  ResourceNotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../functions/local/cli/constants';
import { CliError, RemoteError, TargetUnavailableError } from '../../../functions/local/cli/errors';
import { LambdaWarmerFunctions } from '../../../functions/local/cli/LambdaWarmerFunctions';

const lambda = mockClient(LambdaClient);
beforeEach(() => lambda.reset());

/** A Lambda response payload; the SDK's own type adds helpers the code under test does not use. */
const payload = (value: unknown) =>
  new TextEncoder().encode(
    typeof value === 'string' ? value : JSON.stringify(value),
  ) as InvokeCommandOutput['Payload'];

const functions = () =>
  new LambdaWarmerFunctions({
    client: new LambdaClient({ region: 'eu-west-1' }),
    functionNames: { warm: 'cw-warm', control: 'cw-control' },
    description: 'stack Prod in eu-west-1',
    unreachableHint: 'check the network',
  });

const failure = async (promise: Promise<unknown>): Promise<CliError> => {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(CliError);
  return error as CliError;
};

describe('LambdaWarmerFunctions', () => {
  it('invokes warm and control with the JSON payload and returns their answers', async () => {
    lambda
      .on(InvokeCommand, { FunctionName: 'cw-warm' })
      .resolves({ StatusCode: 200, Payload: payload({ ok: true, status: 'started', runId: 'r-1' }) })
      .on(InvokeCommand, { FunctionName: 'cw-control' })
      .resolves({ StatusCode: 200, Payload: payload({ ok: true, runs: [] }) });

    expect(await functions().warm({ keys: ['a'], trigger: 'cli' })).toEqual({
      ok: true,
      status: 'started',
      runId: 'r-1',
    });
    expect(await functions().control({ action: 'runs', limit: 5 })).toEqual({ ok: true, runs: [] });
    const sent = lambda
      .commandCalls(InvokeCommand)
      .map(({ args: [{ input }] }) => [input.FunctionName, String(input.Payload)]);
    expect(sent).toEqual([
      ['cw-warm', '{"keys":["a"],"trigger":"cli"}'],
      ['cw-control', '{"action":"runs","limit":5}'],
    ]);
  });

  it('reports an { ok: false } answer as a remote error with its reason', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: payload({ ok: false, error: 'no run r-9: `warmers runs` lists the recent runs' }),
    });
    const error = await failure(functions().control({ action: 'status', runId: 'r-9' }));
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.exitCode).toBe(ExitCode.remoteError);
    expect(error.message).toBe('cw-control refused: no run r-9: `warmers runs` lists the recent runs');
  });

  it("reports a function error with the function's own message", async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: payload({
        errorType: 'Error',
        errorMessage: 'the adaptive provider is not configured',
        trace: [],
      }),
    });
    const error = await failure(functions().warm({ provider: 'adaptive', trigger: 'cli' }));
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.message).toBe('cw-warm failed: Error: the adaptive provider is not configured');
  });

  it('reports an answer that is not JSON, or not { ok, … }', async () => {
    lambda
      .on(InvokeCommand)
      .resolvesOnce({ StatusCode: 200, Payload: payload('<html>') })
      .resolvesOnce({ StatusCode: 200, Payload: payload([1]) });
    expect((await failure(functions().control({ action: 'runs' }))).message).toBe(
      'cw-control returned a payload that is not JSON: <html>',
    );
    expect((await failure(functions().control({ action: 'runs' }))).message).toBe(
      'cw-control answered something else than { ok, … }: [1]',
    );
  });

  it('reports throttling as a remote error that says to wait or raise the concurrency', async () => {
    lambda
      .on(InvokeCommand)
      .rejects(
        new TooManyRequestsException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }),
      );
    const error = await failure(functions().control({ action: 'runs' }));
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.message).toBe(
      "throttled while invoking cw-control (TooManyRequestsException): wait a moment and try again, or raise the function's reserved concurrency",
    );
  });

  it('reports a missing function as an unavailable target', async () => {
    lambda
      .on(InvokeCommand)
      .rejects(
        new ResourceNotFoundException({ message: 'Function not found', $metadata: { httpStatusCode: 404 } }),
      );
    const error = await failure(functions().warm({ trigger: 'cli' }));
    expect(error).toBeInstanceOf(TargetUnavailableError);
    expect(error.exitCode).toBe(ExitCode.targetUnavailable);
    expect(error.message).toBe('function cw-warm not found in stack Prod in eu-west-1: check the network');
  });

  it('reports a refused connection, missing credentials and other service errors', async () => {
    lambda
      .on(InvokeCommand)
      .rejectsOnce(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
      .rejectsOnce(
        Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' }),
      )
      .rejectsOnce(
        Object.assign(new Error('User is not authorized to perform: lambda:InvokeFunction'), {
          name: 'AccessDeniedException',
          $metadata: { httpStatusCode: 403 },
        }),
      );

    const refused = await failure(functions().control({ action: 'runs' }));
    expect(refused).toBeInstanceOf(TargetUnavailableError);
    expect(refused.message).toBe('stack Prod in eu-west-1 does not answer (ECONNREFUSED): check the network');
    expect((await failure(functions().control({ action: 'runs' }))).message).toContain(
      'no AWS credentials for stack Prod in eu-west-1: set AWS_PROFILE',
    );
    const denied = await failure(functions().control({ action: 'runs' }));
    expect(denied).toBeInstanceOf(RemoteError);
    expect(denied.message).toBe(
      'invoking cw-control failed: AccessDeniedException: User is not authorized to perform: lambda:InvokeFunction',
    );
  });

  it('reports Ctrl-C during an invocation as an interruption', async () => {
    lambda.on(InvokeCommand).rejects(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
    const error = await failure(functions().control({ action: 'runs' }));
    expect(error.exitCode).toBe(ExitCode.interrupted);
  });
});
