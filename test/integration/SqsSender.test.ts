import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OutgoingMessage, SqsSender, UnsentMessagesError } from '../../functions/adapters/SqsSender';
import { type LocalSqs, receiveAll, startLocalSqs } from '../support/fauxqs';

let sqs: LocalSqs;
let queueNumber = 0;

beforeAll(async () => {
  sqs = await startLocalSqs();
});

afterAll(async () => {
  await sqs?.close();
});

const filler = (bytes: number, tag: string): string => `${tag}:`.padEnd(bytes, 'x');

describe('SqsSender against fauxqs', () => {
  it('delivers 2,001 small messages in ceil(n / 10) SendMessageBatch requests', async () => {
    const queueUrl = await sqs.createQueue(`sender-${++queueNumber}`, { VisibilityTimeout: '300' });
    const bodies = Array.from({ length: 2_001 }, (_, index) => `key-${index}`);

    const { requests } = await new SqsSender(sqs.client, queueUrl).send(bodies.map((body) => ({ body })));

    expect(requests).toBe(201);
    const received = (await receiveAll(sqs.client, queueUrl)).map((message) => message.Body);
    expect(received).toHaveLength(bodies.length);
    expect(new Set(received)).toEqual(new Set(bodies));
  });

  it('splits batches by bytes when messages are near the size limit', async () => {
    const queueUrl = await sqs.createQueue(`sender-${++queueNumber}`, {
      MaximumMessageSize: '262144',
      VisibilityTimeout: '300',
    });
    // Two 100 KiB messages fit in one 256 KiB batch, a third does not; the last one is exactly at the limit.
    const messages: OutgoingMessage[] = [
      ...Array.from({ length: 6 }, (_, index) => ({ body: filler(100 * 1_024, `m${index}`) })),
      { body: filler(262_144, 'at-limit') },
    ];
    const sender = new SqsSender(sqs.client, queueUrl, { maxMessageBytes: 262_144 });

    const { requests } = await sender.send(messages);

    expect(sender.planBatches(messages).map((batch) => batch.length)).toEqual([2, 2, 2, 1]);
    expect(requests).toBe(4);
    const received = await receiveAll(sqs.client, queueUrl);
    expect(new Set(received.map((message) => message.Body))).toEqual(
      new Set(messages.map((message) => message.body)),
    );
  });

  it('counts message attributes towards the batch size, as SQS does', async () => {
    const queueUrl = await sqs.createQueue(`sender-${++queueNumber}`, { VisibilityTimeout: '300' });
    // Bodies alone fill exactly one 1 MiB batch; the dead-letter reasons push it over.
    const reason = filler(2_000, 'reason');
    const messages: OutgoingMessage[] = Array.from({ length: 2 }, (_, index) => ({
      body: filler(524_288, `dead-${index}`),
      attributes: { reason },
    }));
    const sender = new SqsSender(sqs.client, queueUrl, { maxMessageBytes: 1_048_576 });

    const { requests } = await sender.send(messages);

    expect(requests).toBe(2);
    const received = await receiveAll(sqs.client, queueUrl);
    expect(received).toHaveLength(2);
    expect(received.every((message) => message.MessageAttributes?.reason?.StringValue === reason)).toBe(true);
  });

  it('reports a message over the queue limit with the reason SQS gives, and sends the rest', async () => {
    const queueUrl = await sqs.createQueue(`sender-${++queueNumber}`, {
      MaximumMessageSize: '1024',
      VisibilityTimeout: '300',
    });
    const tooBig = { body: filler(2_000, 'too-big') };
    const small = [{ body: 'a' }, { body: 'b' }];

    const sending = new SqsSender(sqs.client, queueUrl, { maxMessageBytes: 1_024 }).send([...small, tooBig]);

    await expect(sending).rejects.toBeInstanceOf(UnsentMessagesError);
    const error = (await sending.catch((thrown: unknown) => thrown)) as UnsentMessagesError;
    expect(error.unsent).toEqual([
      { message: tooBig, reason: expect.stringMatching(/shorter than 1024 bytes/) },
    ]);
    expect((await receiveAll(sqs.client, queueUrl)).map((message) => message.Body).sort()).toEqual([
      'a',
      'b',
    ]);
  });
});
