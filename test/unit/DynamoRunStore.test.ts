import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoRunStore } from '../../functions/adapters/DynamoRunStore';

const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const dynamo = mockClient(documentClient);
const store = new DynamoRunStore({
  client: documentClient,
  tableName: 'runs',
  retry: { maxRetries: 3, baseDelayMs: 0, maxDelayMs: 0 },
});

const awsError = (name: string, status: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

beforeEach(() => {
  dynamo.reset();
});

describe('DynamoRunStore error paths', () => {
  it('retries a throttled write and then succeeds', async () => {
    dynamo.on(PutCommand).rejectsOnce(awsError('ProvisionedThroughputExceededException', 400)).resolves({});

    await store.createRun({ runId: 'r1', trigger: 'console', strategy: 'LAZY', keysPlanned: 1, messages: 1 });

    expect(dynamo.commandCalls(PutCommand)).toHaveLength(2);
  });

  it('does not retry access denied, and surfaces it', async () => {
    dynamo.on(GetCommand).rejects(awsError('AccessDeniedException', 400));

    await expect(store.isCancelled('r1')).rejects.toThrow('AccessDeniedException');
    expect(dynamo.commandCalls(GetCommand)).toHaveLength(1);
  });

  it('reports who holds the lock when the conditional write fails', async () => {
    dynamo.on(PutCommand).rejects(awsError('ConditionalCheckFailedException', 400));
    dynamo.on(GetCommand).resolves({ Item: { pk: 'lock', sk: 'lock', runId: 'other-run' } });

    expect(await store.acquireRunLock('r1', 60)).toEqual({ acquired: false, heldBy: 'other-run' });
  });

  it('refuses a count that is not a whole number of keys before writing anything', async () => {
    await expect(store.recordProgress('r1', 'r1/0', { warmed: -1, failed: 0, skipped: 0 })).rejects.toThrow(
      'progress.warmed must be a whole number of keys, not -1',
    );
    await expect(
      store.recordProgress('r1', 'r1/0', {
        warmed: 0,
        failed: 0,
        skipped: 1,
        skippedKeys: new Map([
          ['a', 'fresh'],
          ['b', 'fresh'],
        ]),
      }),
    ).rejects.toThrow('progress lists 2 skipped keys but counts 1');
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('surfaces a failed count so the message is delivered again, after reading the run once', async () => {
    dynamo.on(GetCommand).resolves({
      Item: {
        runId: 'r1',
        messages: 2,
        keysPlanned: 2,
        pageMessages: 100,
        groupPages: 100,
        status: 'running',
      },
    });
    dynamo.on(UpdateCommand).rejects(awsError('AccessDeniedException', 400));

    await expect(store.recordProgress('r1', 'r1/0', { warmed: 1, failed: 0, skipped: 0 })).rejects.toThrow(
      'AccessDeniedException',
    );
    await expect(store.recordProgress('r1', 'r1/1', { warmed: 1, failed: 0, skipped: 0 })).rejects.toThrow(
      'AccessDeniedException',
    );
    expect(dynamo.commandCalls(GetCommand)).toHaveLength(1);
  });

  const planStep = { messagesBefore: 0, messages: 3, keysPlanned: 30, complete: false };
  const planningRun = {
    runId: 'r1',
    messages: 3,
    keysPlanned: 30,
    pageMessages: 100,
    groupPages: 100,
    status: 'running',
    stepped: true,
    planning: true,
  };

  it('retries a throttled plan step and applies it once', async () => {
    dynamo
      .on(UpdateCommand)
      .rejectsOnce(awsError('ThrottlingException', 400))
      .resolves({ Attributes: planningRun });

    expect(await store.recordPlanStep('r1', planStep)).toEqual({ applied: true, run: undefined });
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(2);
    expect(dynamo.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('surfaces a plan step DynamoDB refuses, without reading the run', async () => {
    dynamo.on(UpdateCommand).rejects(awsError('AccessDeniedException', 400));

    await expect(store.recordPlanStep('r1', planStep)).rejects.toThrow('AccessDeniedException');
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(1);
    expect(dynamo.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('reads a planning run again when a message is past the messages it knows, once for concurrent ones', async () => {
    dynamo
      .on(GetCommand)
      .resolvesOnce({ Item: planningRun })
      .resolves({ Item: { ...planningRun, messages: 6 } });
    dynamo.on(UpdateCommand).resolves({ Attributes: {} });
    const progress = { warmed: 10, failed: 0, skipped: 0 };
    // A store of its own: the shared one knows r1 from earlier tests.
    const consumer = new DynamoRunStore({ client: documentClient, tableName: 'runs' });

    await consumer.recordProgress('r1', 'r1/0', progress);
    await Promise.all([
      consumer.recordProgress('r1', 'r1/4', progress),
      consumer.recordProgress('r1', 'r1/5', progress),
    ]);
    await consumer.recordProgress('r1', 'r1/2', progress);

    expect(dynamo.commandCalls(GetCommand)).toHaveLength(2);
  });
});
