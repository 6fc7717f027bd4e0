import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { AccessEventBatch } from '../../functions/adapters/accessEvents';
import { AccessTrackingError, DynamoAccessTracker } from '../../functions/adapters/DynamoAccessTracker';

const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const dynamo = mockClient(documentClient);
const tracker = new DynamoAccessTracker({ client: documentClient, tableName: 'tracker' });
const batch: AccessEventBatch = { v: 1, id: 'web-1/000001', at: 1_767_225_600_000, counts: { a: 2, b: 1 } };

const throttled = (): Error =>
  Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
  });

afterEach(() => {
  dynamo.reset();
});

describe('DynamoAccessTracker error paths', () => {
  it('retries a throttled write until it succeeds', async () => {
    dynamo.on(PutCommand).resolves({});
    dynamo.on(UpdateCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves({});
    await expect(tracker.recordBatches([batch])).resolves.toEqual({
      applied: 1,
      skippedDuplicates: 0,
      writes: 2,
    });
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(4);
  });

  it('surfaces a non-retryable error at once, naming the key and the table', async () => {
    dynamo.on(PutCommand).resolves({});
    dynamo.on(UpdateCommand).rejects(
      Object.assign(new Error('User is not authorized to perform dynamodb:UpdateItem'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const recording = tracker.recordBatches([{ ...batch, counts: { a: 1 } }]);
    await expect(recording).rejects.toThrow(AccessTrackingError);
    await expect(recording).rejects.toThrow(
      'could not record access counts of key "a" in table tracker: User is not authorized to perform dynamodb:UpdateItem',
    );
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(1);
  });

  it('skips a batch whose marker already exists, writing none of its counts', async () => {
    dynamo.on(PutCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    await expect(tracker.recordBatches([batch])).resolves.toEqual({
      applied: 0,
      skippedDuplicates: 1,
      writes: 0,
    });
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(1);
    const marker = dynamo.commandCalls(PutCommand)[0]?.args[0].input;
    expect(marker).toMatchObject({
      Item: { pk: 'batch#web-1/000001' },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  });
});
