import { randomUUID } from 'node:crypto';
import { DeadLetterQueue } from '../adapters/DeadLetterQueue';
import { DynamoAccessTracker } from '../adapters/DynamoAccessTracker';
import { DynamoRunStore } from '../adapters/DynamoRunStore';
import type { RunRecord } from '../adapters/RunStore';
import { requeueWaitCeilingsSeconds } from '../adapters/requeueBackoff';
import { describeRunStatus } from '../adapters/runStatus';
import { SqsSender } from '../adapters/SqsSender';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../adapters/warmMessage';
import * as z from '../adapters/zod';
import { loadWarmingConfig } from '../core';
import { createAwsClients } from './awsClients';
import { readResources } from './environment';
import { InvalidRequestError, parseRequest, withObservability } from './observability';

const limit = (fallback: number, max: number) => z._default(z.int().check(z.gte(1), z.lte(max)), fallback);

/** One operation per invocation, chosen by `action`; unknown fields are rejected. */
export const controlRequestSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('status'), runId: z.string().check(z.minLength(1)) }),
  z.strictObject({ action: z.literal('cancel'), runId: z.string().check(z.minLength(1)) }),
  z.strictObject({ action: z.literal('runs'), limit: limit(10, 100) }),
  z.strictObject({
    action: z.literal('hotKeys'),
    limit: limit(20, 1_000),
    threshold: z._default(
      z.number().check(z.gte(0), z.lte(Number.MAX_SAFE_INTEGER, 'expected a read count, at most 2^53 − 1')),
      1,
    ),
  }),
  z.strictObject({
    action: z.literal('dlq'),
    redrive: z._default(z.boolean(), false),
    limit: limit(10, 1_000),
  }),
]);

const config = loadWarmingConfig(process.env);
const resources = readResources(
  process.env,
  ['runsTable', 'warmQueueUrl', 'warmDlqUrl'],
  ['trackerTable', 'maxMessageBytes'],
);
const clients = createAwsClients();
const runStore = new DynamoRunStore({ client: clients.dynamodb, tableName: resources.runsTable });
const tracker = resources.trackerTable
  ? new DynamoAccessTracker({ client: clients.dynamodb, tableName: resources.trackerTable })
  : undefined;
const maxMessageBytes = resources.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
const deadLetters = new DeadLetterQueue({
  client: clients.sqs,
  dlqUrl: resources.warmDlqUrl,
  warmQueue: new SqsSender(clients.sqs, resources.warmQueueUrl, { maxMessageBytes }),
  runStore,
  limits: { maxKeysPerMessage: config.batchSize, maxMessageBytes },
  newRunId: randomUUID,
});

const statusOf = (run: RunRecord) =>
  describeRunStatus(run, { retryWaitsSeconds: requeueWaitCeilingsSeconds(config) });

const requireRun = async (runId: string) => {
  const run = await runStore.getRun(runId);
  if (!run) throw new InvalidRequestError(`no run ${runId}: \`warmers runs\` lists the recent runs`);
  return run;
};

/** Operations for the console and the CLI: status, cancel, runs, hotKeys, dlq (peek or redrive). */
export const handler = withObservability(async (event: unknown) => {
  const request = parseRequest(controlRequestSchema, event);
  switch (request.action) {
    case 'status':
      return { ok: true, run: statusOf(await requireRun(request.runId)) };
    case 'cancel': {
      await requireRun(request.runId);
      const run = await runStore.cancelRun(request.runId);
      return { ok: true, run: run && statusOf(run) };
    }
    case 'runs':
      return {
        ok: true,
        runs: (await runStore.listRuns(request.limit)).map(statusOf),
      };
    case 'hotKeys':
      if (!tracker)
        throw new InvalidRequestError('hot keys need the access tracker table, and this deployment has none');
      return { ok: true, hotKeys: await tracker.getHotKeyStats(request.threshold, request.limit) };
    case 'dlq':
      return request.redrive
        ? { ok: true, redrive: await deadLetters.redrive(request.limit) }
        : { ok: true, messages: await deadLetters.peek(request.limit) };
  }
});
