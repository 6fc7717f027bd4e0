import {
  type CloudFormationClient,
  DescribeStacksCommand,
  type Output,
} from '@aws-sdk/client-cloudformation';
import { CACHE_WARMER_OUTPUTS } from '../../../infra/stackOutputs';
import { classifyAwsFailure } from './classifyAwsFailure';
import { TargetUnavailableError } from './errors';

/**
 * Whether a stack output is the construct's output `id`: CDK prefixes the construct path and appends
 * an 8-character hash (`WarmerWarmFunctionName6CC91AB3`); a hand-written template may use `id` alone.
 */
export const isOutputFor = (outputKey: string, id: string): boolean =>
  new RegExp(`^[A-Za-z0-9]*${id}(?:[0-9A-F]{8})?$`).test(outputKey);

const pickOutput = (stackName: string, outputs: readonly Output[], id: string, status: string): string => {
  const matches = outputs.filter((output) => output.OutputKey && isOutputFor(output.OutputKey, id));
  const [match] = matches;
  if (matches.length > 1)
    throw new TargetUnavailableError(
      `stack ${stackName} holds ${matches.length} cache warmers (${matches.map((output) => output.OutputKey).join(', ')}): ` +
        'the CLI drives one; deploy each in a stack of its own',
    );
  if (!match?.OutputValue)
    throw new TargetUnavailableError(
      `stack ${stackName} (${status}) has no ${id} output: is it a cache warmers stack, deployed to the end?`,
    );
  return match.OutputValue;
};

/**
 * Finds the warm and control functions of a deployed `ServerlessCacheWarmer` from its stack's outputs.
 * @throws TargetUnavailableError when the stack does not exist or has no cache warmer outputs
 *
 * @example
 * const { warm, control } = await findStackFunctions(new CloudFormationClient({ region }), 'CacheWarmers', region);
 */
export const findStackFunctions = async (
  client: CloudFormationClient,
  stackName: string,
  region: string,
): Promise<{ warm: string; control: string }> => {
  const target = `stack ${stackName} in ${region}`;
  let stack: { Outputs?: Output[]; StackStatus?: string } | undefined;
  try {
    stack = (await client.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  } catch (error) {
    const { name, message } = error as { name?: string; message?: string };
    if (name === 'ValidationError' && message?.includes('does not exist')) stack = undefined;
    else
      throw classifyAwsFailure(error, {
        action: `describing ${target}`,
        target,
        unreachableHint: 'check the network and --region',
      });
  }
  if (!stack)
    throw new TargetUnavailableError(
      `${target} not found: check the name and the region ` +
        `(\`aws cloudformation list-stacks --region ${region}\` lists them; --region R picks another)`,
    );
  const outputs = stack.Outputs ?? [];
  const status = stack.StackStatus ?? 'status unknown';
  return {
    warm: pickOutput(stackName, outputs, CACHE_WARMER_OUTPUTS.warmFunctionName, status),
    control: pickOutput(stackName, outputs, CACHE_WARMER_OUTPUTS.controlFunctionName, status),
  };
};
