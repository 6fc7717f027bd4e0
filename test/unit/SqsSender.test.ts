import {
  QueueDoesNotExist,
  RequestThrottled,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SQSClient,
  SQSServiceException,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type OutgoingMessage, SqsSender, UnsentMessagesError } from '../../functions/adapters/SqsSender';

const sqs = mockClient(SQSClient);
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/warm';
const FAST_RETRY = { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 1 };

const messages = (count: number): OutgoingMessage[] =>
  Array.from({ length: count }, (_, index) => ({ body: `body-${index}` }));

const sender = () => new SqsSender(new SQSClient({}), QUEUE_URL, { retry: FAST_RETRY });

/** The entries of each SendMessageBatch call, in call order. */
const sentEntries = (): SendMessageBatchRequestEntry[][] =>
  sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input.Entries ?? []);

const succeedAll = (input: { Entries: { Id: string }[] }) => ({
  Successful: input.Entries.map((entry) => ({
    Id: entry.Id,
    MessageId: `m-${entry.Id}`,
    MD5OfMessageBody: '',
  })),
  Failed: [],
});

const rejected = async (promise: Promise<unknown>): Promise<UnsentMessagesError> => {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(UnsentMessagesError);
  return error as UnsentMessagesError;
};

beforeEach(() => {
  sqs.reset();
});

describe('SqsSender', () => {
  it('plans at most 10 entries and at most maxMessageBytes, attributes included, per batch', () => {
    const small = new SqsSender(new SQSClient({}), QUEUE_URL, { maxMessageBytes: 100 });

    expect(small.planBatches(messages(25)).map((batch) => batch.length)).toEqual([10, 10, 5]);
    expect(
      small
        .planBatches([{ body: 'x'.repeat(60) }, { body: 'y'.repeat(40) }, { body: 'z'.repeat(1) }])
        .map((batch) => batch.length),
    ).toEqual([2, 1]);
    // 40 body bytes + "reason" + "String" + 10 value bytes = 62: with a 40-byte neighbour the batch is over 100.
    expect(
      small
        .planBatches([
          { body: 'a'.repeat(40) },
          { body: 'b'.repeat(40), attributes: { reason: '0123456789' } },
        ])
        .map((batch) => batch.length),
    ).toEqual([1, 1]);
  });

  it('sends string attributes as SQS message attributes', async () => {
    sqs.on(SendMessageBatchCommand).callsFake(succeedAll);

    await sender().send([{ body: 'dead', attributes: { reason: 'origin said 404' }, delaySeconds: 3 }]);

    expect(sentEntries()).toEqual([
      [
        {
          Id: '0',
          MessageBody: 'dead',
          DelaySeconds: 3,
          MessageAttributes: { reason: { DataType: 'String', StringValue: 'origin said 404' } },
        },
      ],
    ]);
  });

  it('resends only the entries a successful response reports failed', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: ['0', '1', '2', '4', '5', '6', '8'].map((Id) => ({
          Id,
          MessageId: `m-${Id}`,
          MD5OfMessageBody: '',
        })),
        Failed: ['3', '7', '9'].map((Id) => ({
          Id,
          SenderFault: false,
          Code: 'InternalError',
          Message: 'try again',
        })),
      })
      .callsFake(succeedAll);

    const { requests } = await sender().send(messages(10));

    expect(requests).toBe(2);
    expect(sentEntries()[1]).toEqual([
      expect.objectContaining({ Id: '3', MessageBody: 'body-3' }),
      expect.objectContaining({ Id: '7', MessageBody: 'body-7' }),
      expect.objectContaining({ Id: '9', MessageBody: 'body-9' }),
    ]);
  });

  it.each([
    [
      'RequestThrottled',
      new RequestThrottled({ message: 'Request is throttled.', $metadata: { httpStatusCode: 400 } }),
    ],
    [
      'ThrottlingException',
      new SQSServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        message: 'Rate exceeded',
        $metadata: { httpStatusCode: 400 },
      }),
    ],
    [
      'a 500',
      new SQSServiceException({
        name: 'InternalError',
        $fault: 'server',
        message: 'We encountered an internal error.',
        $metadata: { httpStatusCode: 500 },
      }),
    ],
  ])('retries a call that fails with %s', async (_, error) => {
    sqs.on(SendMessageBatchCommand).rejectsOnce(error).callsFake(succeedAll);

    const { requests } = await sender().send(messages(4));

    expect(requests).toBe(2);
    expect(sentEntries()[1]).toEqual(sentEntries()[0]);
  });

  it('does not retry entries SQS blames on the sender, and reports them with their reason', async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: input.Entries.filter((entry) => entry.Id !== '2').map((entry) => ({
        Id: entry.Id,
        MessageId: `m-${entry.Id}`,
        MD5OfMessageBody: '',
      })),
      Failed: input.Entries.filter((entry) => entry.Id === '2').map((entry) => ({
        Id: entry.Id,
        SenderFault: true,
        Code: 'InvalidMessageContents',
        Message: 'Invalid characters found.',
      })),
    }));
    const sent = messages(5);

    const error = await rejected(sender().send(sent));

    expect(sentEntries()).toHaveLength(1);
    expect(error.unsent).toEqual([
      { message: sent[2], reason: 'InvalidMessageContents: Invalid characters found.' },
    ]);
  });

  it('reports entries that keep failing with their last reason once the retries are spent', async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: input.Entries.filter((entry) => entry.Id !== '0').map((entry) => ({
        Id: entry.Id,
        MessageId: `m-${entry.Id}`,
        MD5OfMessageBody: '',
      })),
      Failed: input.Entries.filter((entry) => entry.Id === '0').map((entry) => ({
        Id: entry.Id,
        SenderFault: false,
        Code: 'InternalError',
        Message: 'still broken',
      })),
    }));
    const sent = messages(3);

    const error = await rejected(sender().send(sent));

    expect(sentEntries()).toHaveLength(1 + FAST_RETRY.maxRetries);
    expect(error.unsent).toEqual([{ message: sent[0], reason: 'InternalError: still broken' }]);
  });

  it.each([
    [
      'QueueDoesNotExist',
      new QueueDoesNotExist({
        message: 'The specified queue does not exist.',
        $metadata: { httpStatusCode: 400 },
      }),
      /queue does not exist/,
    ],
    [
      'AccessDenied (403)',
      new SQSServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        message: 'Access to the resource is denied.',
        $metadata: { httpStatusCode: 403 },
      }),
      /Access to the resource is denied/,
    ],
  ])('fails fast on %s and lists every message it did not send', async (_, error, reason) => {
    sqs.on(SendMessageBatchCommand).rejects(error);
    const sent = messages(12);

    const unsentError = await rejected(sender().send(sent));

    expect(sentEntries()).toHaveLength(2);
    expect(unsentError.unsent.map((entry) => entry.message)).toEqual(expect.arrayContaining(sent));
    expect(unsentError.unsent).toHaveLength(12);
    for (const entry of unsentError.unsent) expect(entry.reason).toMatch(reason);
    expect(unsentError.message).toMatch(/12 message\(s\) could not be sent/);
  });
});
