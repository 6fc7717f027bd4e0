import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../localAws';
import { classifyAwsFailure } from './classifyAwsFailure';
import { findStackFunctions } from './findStackFunctions';
import { LambdaWarmerFunctions } from './LambdaWarmerFunctions';
import { LOCAL_RUNTIME_START_HINT, requireLocalRuntime } from './localRuntimeState';
import type { WarmerFunctions } from './types';

/** A synchronous Invoke lasts up to Lambda's 15-minute limit; a connection is up in seconds or never. */
const HTTP_TIMEOUTS = { connectionTimeout: 5_000, requestTimeout: 16 * 60_000 };

export interface TargetOptions {
  /** A deployed stack's name; without it, the local runtime. */
  stack?: string;
  /** The stack's region; default: the SDK's (AWS_REGION, the profile). */
  region?: string;
  /** Where `warmers local` recorded its endpoints. */
  stateFile: string;
  /** Aborts invocations in flight (Ctrl-C). */
  signal?: AbortSignal;
}

const connectToLocalRuntime = async ({ stateFile, signal }: TargetOptions): Promise<WarmerFunctions> => {
  const state = await requireLocalRuntime(stateFile);
  return new LambdaWarmerFunctions({
    client: new LambdaClient({
      endpoint: state.endpoints.lambda,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      requestHandler: HTTP_TIMEOUTS,
    }),
    functionNames: state.functionNames,
    description: `the local runtime at ${state.endpoints.lambda}`,
    unreachableHint: `it may have stopped: ${LOCAL_RUNTIME_START_HINT}`,
    signal,
  });
};

const connectToStack = async (stack: string, { region, signal }: TargetOptions): Promise<WarmerFunctions> => {
  const cloudFormation = new CloudFormationClient({ region, requestHandler: HTTP_TIMEOUTS });
  try {
    const resolvedRegion = await cloudFormation.config.region().catch((error: unknown) => {
      throw classifyAwsFailure(error, {
        action: 'finding the AWS region',
        target: `stack ${stack}`,
        unreachableHint: 'pass --region R',
      });
    });
    const functionNames = await findStackFunctions(cloudFormation, stack, resolvedRegion);
    return new LambdaWarmerFunctions({
      client: new LambdaClient({ region: resolvedRegion, requestHandler: HTTP_TIMEOUTS }),
      functionNames,
      description: `stack ${stack} in ${resolvedRegion}`,
      unreachableHint: `check the network, and that stack ${stack} is deployed in ${resolvedRegion}`,
      signal,
    });
  } finally {
    cloudFormation.destroy();
  }
};

/**
 * The functions the command line targets: a deployed stack's (found from its outputs) with
 * `--stack`, otherwise the local runtime's (found from its state file).
 * @throws TargetUnavailableError saying how to get a target when there is none
 */
export const connectToFunctions = (options: TargetOptions): Promise<WarmerFunctions> =>
  options.stack === undefined ? connectToLocalRuntime(options) : connectToStack(options.stack, options);
