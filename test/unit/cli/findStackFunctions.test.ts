import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { TargetUnavailableError } from '../../../functions/local/cli/errors';
import { findStackFunctions, isOutputFor } from '../../../functions/local/cli/findStackFunctions';

const cloudFormation = mockClient(CloudFormationClient);
beforeEach(() => cloudFormation.reset());

const find = () => findStackFunctions(new CloudFormationClient({ region: 'eu-west-1' }), 'Prod', 'eu-west-1');

/** The outputs of `cdk deploy` of the example stack, whose construct id is `Warmer`. */
const cdkOutputs = [
  { OutputKey: 'WarmerWarmFunctionName6CC91AB3', OutputValue: 'Prod-WarmerwarmFunction-abc' },
  { OutputKey: 'WarmerConsumeFunctionNameD118BE9C', OutputValue: 'Prod-WarmerconsumeFunction-def' },
  { OutputKey: 'WarmerControlFunctionNameC3D3EF2F', OutputValue: 'Prod-WarmercontrolFunction-ghi' },
  { OutputKey: 'WarmerWarmQueueUrl11851487', OutputValue: 'https://sqs.eu-west-1.amazonaws.com/1/q' },
];

describe('isOutputFor', () => {
  it('matches the id behind a construct path and before the hash, nothing else', () => {
    expect(isOutputFor('WarmerWarmFunctionName6CC91AB3', 'WarmFunctionName')).toBe(true);
    expect(isOutputFor('WarmFunctionName', 'WarmFunctionName')).toBe(true);
    expect(isOutputFor('WarmerWarmFunctionNameArn6CC91AB3', 'WarmFunctionName')).toBe(false);
    expect(isOutputFor('WarmerWarmQueueUrl11851487', 'WarmFunctionName')).toBe(false);
  });
});

describe('findStackFunctions', () => {
  it('finds the warm and control functions in the stack outputs', async () => {
    cloudFormation.on(DescribeStacksCommand, { StackName: 'Prod' }).resolves({
      Stacks: [
        {
          StackName: 'Prod',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: cdkOutputs,
        },
      ],
    });
    expect(await find()).toEqual({
      warm: 'Prod-WarmerwarmFunction-abc',
      control: 'Prod-WarmercontrolFunction-ghi',
    });
  });

  it('says a stack that does not exist is not found, and where to look', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(
      new CloudFormationServiceException({
        name: 'ValidationError',
        $fault: 'client',
        message: 'Stack with id Prod does not exist',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const failure = find();
    await expect(failure).rejects.toThrow(TargetUnavailableError);
    await expect(failure).rejects.toThrow(
      'stack Prod in eu-west-1 not found: check the name and the region (`aws cloudformation list-stacks --region eu-west-1` lists them; --region R picks another)',
    );
  });

  it('says which output is missing from a stack that is not (yet) a cache warmer', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [
        { StackName: 'Prod', StackStatus: 'CREATE_IN_PROGRESS', CreationTime: new Date(), Outputs: [] },
      ],
    });
    await expect(find()).rejects.toThrow(
      'stack Prod (CREATE_IN_PROGRESS) has no WarmFunctionName output: is it a cache warmers stack, deployed to the end?',
    );
  });

  it('refuses to guess between two cache warmers in one stack', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'Prod',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: [
            { OutputKey: 'AWarmFunctionName11111111', OutputValue: 'a' },
            { OutputKey: 'BWarmFunctionName22222222', OutputValue: 'b' },
          ],
        },
      ],
    });
    await expect(find()).rejects.toThrow(
      'stack Prod holds 2 cache warmers (AWarmFunctionName11111111, BWarmFunctionName22222222)',
    );
  });

  it('reports throttling and access errors of CloudFormation itself', async () => {
    const serviceError = (name: string, message: string) =>
      new CloudFormationServiceException({
        name,
        $fault: 'client',
        message,
        $metadata: { httpStatusCode: 400 },
      });
    cloudFormation
      .on(DescribeStacksCommand)
      .rejectsOnce(serviceError('Throttling', 'Rate exceeded'))
      .rejectsOnce(serviceError('AccessDenied', 'not authorized to perform: cloudformation:DescribeStacks'));
    await expect(find()).rejects.toThrow('throttled while describing stack Prod in eu-west-1 (Throttling)');
    await expect(find()).rejects.toThrow(
      'describing stack Prod in eu-west-1 failed: AccessDenied: not authorized to perform: cloudformation:DescribeStacks',
    );
  });
});
