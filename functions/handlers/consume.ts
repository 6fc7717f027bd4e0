import { randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse } from 'aws-lambda';
import { DynamoRunStore } from '../adapters/DynamoRunStore';
import { SqsSender } from '../adapters/SqsSender';
import { createValueLoader, parseValueSource } from '../adapters/sourceConfig';
import { WarmConsumer } from '../adapters/WarmConsumer';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../adapters/warmMessage';
import { loadWarmingConfig } from '../core';
import { createAwsClients } from './awsClients';
import { createCacheStore, loadCacheEncoder } from './cacheStore';
import { readResources } from './environment';
import { logger, metrics, withObservability } from './observability';
import { parseSqsEvent } from './sqsEvent';

const config = loadWarmingConfig(process.env);
const resources = readResources(
  process.env,
  ['warmQueueUrl', 'warmDlqUrl', 'runsTable'],
  ['maxMessageBytes', 'versionField'],
);
const clients = createAwsClients();
const maxMessageBytes = resources.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
const { versionField } = resources;

const consumer = new WarmConsumer({
  cache: createCacheStore(process.env, config, {}, await loadCacheEncoder(process.env)),
  loader: await createValueLoader(parseValueSource(process.env), clients),
  runStore: new DynamoRunStore({ client: clients.dynamodb, tableName: resources.runsTable }),
  requeue: new SqsSender(clients.sqs, resources.warmQueueUrl, { maxMessageBytes }),
  deadLetters: new SqsSender(clients.sqs, resources.warmDlqUrl, { maxMessageBytes }),
  config,
  leaseOwner: randomUUID(),
  versionOf: versionField
    ? (value) => {
        const version = (value as Record<string, unknown> | null)?.[versionField];
        return typeof version === 'number' ? version : undefined;
      }
    : undefined,
  log: (message, details) => logger.warn(message, details),
});

/** Loads the keys of a batch of warm messages into the cache; see WarmConsumer for the rules. */
export const handler = withObservability(async (event: unknown, context): Promise<SQSBatchResponse> => {
  const { batchItemFailures, summary } = await consumer.consume(parseSqsEvent(event), () =>
    context.getRemainingTimeInMillis(),
  );
  metrics.addMetric('KeysWarmed', MetricUnit.Count, summary.keysWarmed);
  metrics.addMetric('KeysFailed', MetricUnit.Count, summary.keysFailed);
  metrics.addMetric('LoadLatency', MetricUnit.Milliseconds, summary.loadDurationMs);
  for (const run of summary.runsFinished) {
    metrics.addMetric('RunDuration', MetricUnit.Milliseconds, run.durationMs);
    logger.info('run finished', { runId: run.runId, durationMs: run.durationMs });
  }
  logger.info('batch consumed', {
    ...summary,
    runsFinished: summary.runsFinished.length,
    failedMessages: batchItemFailures.length,
  });
  return { batchItemFailures };
});
