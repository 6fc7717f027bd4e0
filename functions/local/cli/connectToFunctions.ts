import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { classifyAwsFailure } from './classifyAwsFailure';
import { AWS_HTTP_TIMEOUTS } from './constants';
import { findStackFunctions } from './findStackFunctions';
import { LambdaWarmerFunctions, localRuntimeFunctions } from './LambdaWarmerFunctions';
import { LOCAL_RUNTIME_START_HINT, requireLocalRuntime } from './localRuntimeState';
import type { WarmerFunctions } from './types';

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

const connectToLocalRuntime = async ({ stateFile, signal }: TargetOptions): Promise<WarmerFunctions> =>
  localRuntimeFunctions(
    await requireLocalRuntime(stateFile),
    `it may have stopped: ${LOCAL_RUNTIME_START_HINT}`,
    signal,
  );

const connectToStack = async (stack: string, { region, signal }: TargetOptions): Promise<WarmerFunctions> => {
  const cloudFormation = new CloudFormationClient({ region, requestHandler: AWS_HTTP_TIMEOUTS });
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
      client: new LambdaClient({ region: resolvedRegion, requestHandler: AWS_HTTP_TIMEOUTS }),
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
