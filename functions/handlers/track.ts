import type { SQSBatchResponse } from 'aws-lambda';
import { type AccessEventBatch, parseAccessEventBatch } from '../adapters/accessEvents';
import { DynamoAccessTracker } from '../adapters/DynamoAccessTracker';
import { SqsSender } from '../adapters/SqsSender';
import { MalformedMessageError } from '../adapters/warmMessage';
import { describeError } from '../core';
import { createAwsClients } from './awsClients';
import { readResources } from './environment';
import { logger, withObservability } from './observability';
import { parseSqsEvent } from './sqsEvent';

const resources = readResources(process.env, ['trackerTable', 'accessDlqUrl']);
const clients = createAwsClients();
const tracker = new DynamoAccessTracker({ client: clients.dynamodb, tableName: resources.trackerTable });
const deadLetters = new SqsSender(clients.sqs, resources.accessDlqUrl);

/**
 * Applies a batch of access-event messages to the tracker table: each distinct key written once.
 * A malformed body goes to the DLQ at once; if the table cannot be written, the messages are
 * reported failed and SQS delivers them again (applied batches are skipped by id, so none counts twice).
 */
export const handler = withObservability(async (event: unknown): Promise<SQSBatchResponse> => {
  const batches: { messageId: string; batch: AccessEventBatch }[] = [];
  const failed: string[] = [];
  for (const record of parseSqsEvent(event)) {
    try {
      batches.push({ messageId: record.messageId, batch: parseAccessEventBatch(record.body) });
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      try {
        await deadLetters.send([{ body: record.body, attributes: { reason: error.message } }]);
      } catch (sendError) {
        logger.warn('malformed access event not dead-lettered', {
          messageId: record.messageId,
          error: describeError(sendError),
        });
        failed.push(record.messageId);
      }
    }
  }
  if (batches.length > 0) {
    try {
      const result = await tracker.recordBatches(batches.map(({ batch }) => batch));
      logger.info('access events applied', { ...result });
    } catch (error) {
      logger.warn('access events not applied; they will be delivered again', { error: describeError(error) });
      failed.push(...batches.map(({ messageId }) => messageId));
    }
  }
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
});
