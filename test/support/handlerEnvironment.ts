import type { createLambdaContext } from '../../functions/local/lambdaContext';
import { localAwsEnvironment } from '../../functions/local/localAws';
import type { LocalDynamo } from '../../functions/local/localDynamo';
import type { LocalSqs } from '../../functions/local/localSqs';

/**
 * Points the handlers' AWS clients at the local emulators, as the local runtime does, and sets the
 * resource variables the CDK construct sets.
 */
export const useLocalAws = (sqs: LocalSqs, dynamo: LocalDynamo, resources: Record<string, string>): void => {
  Object.assign(
    process.env,
    localAwsEnvironment({ sqs: sqs.endpoint, dynamodb: dynamo.endpoint }),
    resources,
  );
};

/** A Lambda handler as the tests invoke it: an event and a local context in, the answer out. */
export type Handler = (
  event: unknown,
  context: ReturnType<typeof createLambdaContext>,
) => Promise<Record<string, unknown>>;
