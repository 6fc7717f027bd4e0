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
});
