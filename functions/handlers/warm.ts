import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { omittedFromBundle } from '../adapters/bundleParts';
import { DynamoAccessTracker } from '../adapters/DynamoAccessTracker';
import { DynamoRunStore } from '../adapters/DynamoRunStore';
import { SqsSender } from '../adapters/SqsSender';
import { createKeyProvider, parseKeySources } from '../adapters/sourceConfig';
import { type ContinuationSender, continuationMessageSchema, WarmFanOut } from '../adapters/WarmFanOut';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../adapters/warmMessage';
import * as z from '../adapters/zod';
import { AdaptiveKeyProvider, ConfigurationError, environmentVariableFor, loadWarmingConfig } from '../core';
import { createAwsClients } from './awsClients';
import { createCacheStore } from './cacheStore';
import { readResources, resourceVariable } from './environment';
import { InvalidRequestError, logger, metrics, parseRequest, withObservability } from './observability';
import { parseSqsEvent } from './sqsEvent';

/** The payload of a console, CLI or EventBridge Scheduler invocation; unknown fields are rejected. */
export const warmRequestSchema = z.strictObject({
  keys: z.optional(z.array(z.string()).check(z.minLength(1), z.maxLength(100_000))),
  provider: z.optional(z.enum(['configured', 'adaptive'])),
  limit: z.optional(z.int().check(z.positive())),
  dryRun: z.optional(z.boolean()),
  force: z.optional(z.boolean()),
  trigger: z.optional(z.enum(['schedule', 'console', 'cli', 'deploy', 'local'])),
});

const config = loadWarmingConfig(process.env);
const resources = readResources(
  process.env,
  ['warmQueueUrl', 'runsTable'],
  ['trackerTable', 'maxMessageBytes', 'consumerBatchSize', 'cacheUrl', 'cacheName', 'continuationQueueUrl'],
);
const clients = createAwsClients();
const maxMessageBytes = resources.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
const tracker = resources.trackerTable
  ? new DynamoAccessTracker({ client: clients.dynamodb, tableName: resources.trackerTable })
  : undefined;
/**
 * Only a TTL-aware warm (`ttlSeconds` set) asks the cache which keys are due for a refresh. A TTL
 * without the cache would plan every key as due, so it is refused at cold start instead.
 */
function cacheForRemainingTtls() {
  if (config.ttlSeconds <= 0) return undefined;
  const ttlVariable = environmentVariableFor('ttlSeconds');
  // The `!== 'omitted'` form, so a bundle built without the cache part drops createCacheStore.
  if (process.env.CODOMYRMEX_BUNDLE_CACHE !== 'omitted') {
    if (!(resources.cacheUrl || resources.cacheName)) {
      throw new ConfigurationError(
        ttlVariable,
        `TTL-aware warming reads remaining TTLs from the cache: set ${resourceVariable('cacheUrl')} or ${resourceVariable('cacheName')} too`,
      );
    }
    return createCacheStore(process.env, config);
  }
  throw omittedFromBundle(ttlVariable, 'TTL-aware warming reads remaining TTLs and needs the cache client');
}

/** Continuation messages go to the queue whose event source invokes this function again. */
const continuation: ContinuationSender | undefined = resources.continuationQueueUrl
  ? (() => {
      const sender = new SqsSender(clients.sqs, resources.continuationQueueUrl);
      return {
        send: async (message, delaySeconds) => {
          await sender.send([{ body: JSON.stringify(message), delaySeconds }]);
        },
      };
    })()
  : undefined;

const fanOut = new WarmFanOut({
  providers: {
    configured: createKeyProvider(parseKeySources(process.env), clients, { adaptive: tracker }),
    // `{ "provider": "adaptive" }`: every key read at least twice, hottest first; `limit` trims it.
    adaptive: tracker && new AdaptiveKeyProvider(tracker, { threshold: 2, limit: 100_000 }),
  },
  cache: cacheForRemainingTtls(),
  runStore: new DynamoRunStore({ client: clients.dynamodb, tableName: resources.runsTable }),
  sender: new SqsSender(clients.sqs, resources.warmQueueUrl, { maxMessageBytes }),
  config,
  maxMessageBytes,
  consumerBatchSize: resources.consumerBatchSize ?? 10,
  continuation,
  log: (message, details) => logger.warn(message, details),
});

/**
 * Carries runs on from continuation messages. A message that fails is not retried by SQS: its
 * segment is claimed, so a retry would be stale; the watchdog message resumes the run instead.
 */
const continueRuns = async (event: unknown) => {
  const outcomes = [];
  for (const record of parseSqsEvent(event)) {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      throw new InvalidRequestError(
        `continuation message ${record.messageId} is not JSON: ${record.body.slice(0, 80)}`,
      );
    }
    const message = parseRequest(continuationMessageSchema, body);
    logger.appendKeys({ runId: message.runId });
    try {
      const outcome = await fanOut.continueRun(message);
      logger.info('run continued', { ...outcome });
      outcomes.push(outcome);
    } catch (error) {
      logger.error('run segment failed; its watchdog message resumes it', { ...message, error });
    }
  }
  return { ok: true, continued: outcomes };
};

/** The warm fan-out: `{}` warms the configured keys; see docs/operations.md for every payload. */
export const handler = withObservability(async (event: unknown) => {
  if (typeof event === 'object' && event !== null && 'Records' in event) return continueRuns(event);
  const request = parseRequest(warmRequestSchema, event);
  if (request.provider === 'adaptive' && !tracker) {
    throw new ConfigurationError(
      resourceVariable('trackerTable'),
      'is not set: { "provider": "adaptive" } warms the hot keys of the access tracker table; deploy with one',
    );
  }
  const outcome = await fanOut.warm({ ...request, trigger: request.trigger ?? 'console' });
  if (outcome.status === 'started') {
    logger.appendKeys({ runId: outcome.runId });
    metrics.addMetric('KeysPlanned', MetricUnit.Count, outcome.keysPlanned);
    logger.info('run started', { ...outcome });
  }
  return { ok: true, ...outcome };
});
