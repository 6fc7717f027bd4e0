import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { parseLambdaPayload } from '../../adapters/keySources';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../localAws';
import { classifyAwsFailure } from './classifyAwsFailure';
import { AWS_HTTP_TIMEOUTS } from './constants';
import { RemoteError, TargetUnavailableError } from './errors';
import type { ControlRequest, ControlResponses, WarmerFunctions, WarmRequest, WarmResponse } from './types';

export interface LambdaWarmerFunctionsOptions {
  client: LambdaClient;
  functionNames: { warm: string; control: string };
  /** Where the functions run, for messages: "the local runtime at …", "stack Foo in eu-west-1". */
  description: string;
  /** What to do when nothing answers, e.g. how to start the local runtime. */
  unreachableHint: string;
  /** Aborts an invocation in flight (Ctrl-C). */
  signal?: AbortSignal;
}

/**
 * The warm and control functions, invoked synchronously through the Lambda Invoke API: a deployed
 * stack's, or the local runtime's (which speaks the same API). Every failure becomes a `CliError`:
 * `{ ok: false, error }` answers and function errors a `RemoteError`, a missing function or endpoint a
 * `TargetUnavailableError`.
 *
 * @example
 * const functions = new LambdaWarmerFunctions({ client, functionNames, description: 'stack Foo', unreachableHint });
 * const { run } = await functions.control({ action: 'status', runId });
 */
export class LambdaWarmerFunctions implements WarmerFunctions {
  readonly #options: LambdaWarmerFunctionsOptions;

  public constructor(options: LambdaWarmerFunctionsOptions) {
    this.#options = options;
  }

  public get description(): string {
    return this.#options.description;
  }

  public async warm(request: WarmRequest): Promise<WarmResponse> {
    return (await this.#invoke(this.#options.functionNames.warm, request)) as WarmResponse;
  }

  public async control<Request extends ControlRequest>(
    request: Request,
  ): Promise<ControlResponses[Request['action']]> {
    return (await this.#invoke(
      this.#options.functionNames.control,
      request,
    )) as ControlResponses[Request['action']];
  }

  public close(): void {
    this.#options.client.destroy();
  }

  async #invoke(functionName: string, payload: object): Promise<unknown> {
    const { client, description, unreachableHint, signal } = this.#options;
    let output: InvokeCommandOutput;
    try {
      output = await client.send(
        new InvokeCommand({ FunctionName: functionName, Payload: JSON.stringify(payload) }),
        { abortSignal: signal },
      );
    } catch (error) {
      if ((error as { name?: string }).name === 'ResourceNotFoundException')
        throw new TargetUnavailableError(
          `function ${functionName} not found in ${description}: ${unreachableHint}`,
          { cause: error },
        );
      throw classifyAwsFailure(error, {
        action: `invoking ${functionName}`,
        target: description,
        unreachableHint,
      });
    }
    const answer = parseLambdaPayload(output.Payload, output.FunctionError, functionName, RemoteError);
    if (typeof answer !== 'object' || answer === null || !('ok' in answer))
      throw new RemoteError(
        `${functionName} answered something else than { ok, … }: ${JSON.stringify(answer)}`,
      );
    if (answer.ok !== true) {
      const reason = 'error' in answer ? String(answer.error) : JSON.stringify(answer);
      throw new RemoteError(`${functionName} refused: ${reason}`);
    }
    return answer;
  }
}

/**
 * A local runtime's warm and control functions, invoked through its Lambda endpoint as the CLI
 * invokes a deployed stack's.
 *
 * @example
 * const functions = localRuntimeFunctions(runtime, 'start it with `npx warmers local`');
 */
export const localRuntimeFunctions = (
  runtime: { endpoints: { lambda: string }; functionNames: { warm: string; control: string } },
  unreachableHint: string,
  signal?: AbortSignal,
): LambdaWarmerFunctions =>
  new LambdaWarmerFunctions({
    client: new LambdaClient({
      endpoint: runtime.endpoints.lambda,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      requestHandler: AWS_HTTP_TIMEOUTS,
    }),
    functionNames: runtime.functionNames,
    description: `the local runtime at ${runtime.endpoints.lambda}`,
    unreachableHint,
    signal,
  });
