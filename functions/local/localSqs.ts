import type { AddressInfo } from 'node:net';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { CacheWarmersError } from '../core';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './localAws';

/** An in-process SQS (fauxqs), and a client pointed at it. */
export interface LocalSqs {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  client: SQSClient;
  /** Creates a standard queue and returns its URL. */
  createQueue(name: string, attributes?: Record<string, string>): Promise<string>;
  /**
   * Creates a queue whose RedrivePolicy sends a message to a new `<name>-dlq` once it has been received
   * `maxReceiveCount` times, as the CDK construct configures the warm and access queues.
   */
  createQueueWithDlq(
    name: string,
    options: {
      maxReceiveCount: number;
      visibilityTimeoutSeconds: number;
      attributes?: Record<string, string>;
      dlqAttributes?: Record<string, string>;
    },
  ): Promise<{ queueUrl: string; dlqUrl: string }>;
  close(): Promise<void>;
}

/**
 * Starts fauxqs in this process on a free port of 127.0.0.1 (never a fixed port, never all interfaces).
 * fauxqs keeps SQS's own rules: visibility timeouts, long polling, and the RedrivePolicy move to the
 * DLQ on the receive after `maxReceiveCount`.
 *
 * @example
 * const sqs = await startLocalSqs();
 * const { queueUrl, dlqUrl } = await sqs.createQueueWithDlq('warm', { maxReceiveCount: 5, visibilityTimeoutSeconds: 30 });
 * await sqs.close();
 */
export const startLocalSqs = async (): Promise<LocalSqs> => {
  // `startFauxqs` listens on every interface; a local emulator has no business outside loopback.
  const app = buildApp({ logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new SQSClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });

  const createQueue = async (name: string, attributes?: Record<string, string>): Promise<string> => {
    const { QueueUrl } = await client.send(
      new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
    );
    if (!QueueUrl) throw new CacheWarmersError(`CreateQueue ${name} returned no QueueUrl`);
    return QueueUrl;
  };

  return {
    endpoint,
    client,
    createQueue,
    async createQueueWithDlq(name, { maxReceiveCount, visibilityTimeoutSeconds, attributes, dlqAttributes }) {
      const dlqUrl = await createQueue(`${name}-dlq`, dlqAttributes);
      const { Attributes } = await client.send(
        new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
      );
      const queueUrl = await createQueue(name, {
        ...attributes,
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount }),
      });
      return { queueUrl, dlqUrl };
    },
    async close() {
      client.destroy();
      await app.close();
    },
  };
};
