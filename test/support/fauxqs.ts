import { type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

export { type LocalSqs, startLocalSqs } from '../../functions/local/localSqs';

/** Receives every message on the queue; none is deleted, so each is received once within the visibility timeout. */
export const receiveAll = async (client: SQSClient, queueUrl: string): Promise<Message[]> => {
  const received: Message[] = [];
  for (;;) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return received;
    received.push(...Messages);
  }
};
