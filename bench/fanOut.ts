import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsSender } from '../functions/adapters/SqsSender';
import { WarmFanOut } from '../functions/adapters/WarmFanOut';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../functions/adapters/warmMessage';
import { defaultWarmingConfig, StaticKeyProvider } from '../functions/core';
import { startLocalSqs } from '../test/support/fauxqs';
import { InMemoryRunStore } from '../test/support/InMemoryRunStore';
import type { Scenario } from './index';
import { type Figure, printFigure, printScenario } from './report';

const KEYS = 1_000_000;

/** Counts the SQS requests a client makes, by operation, as a middleware sees them leave. */
const countRequests = (client: SQSClient) => {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => (args) => {
      counts.set(context.commandName ?? 'unknown', (counts.get(context.commandName ?? 'unknown') ?? 0) + 1);
      return next(args);
    },
    { step: 'finalizeRequest', name: 'countRequests' },
  );
  return counts;
};

export const run: Scenario = async () => {
  const config = defaultWarmingConfig();
  printScenario(
    `Warm fan-out (${KEYS.toLocaleString('en-US')} keys into fauxqs, default settings: batchSize ${config.batchSize})`,
  );
  const sqs = await startLocalSqs();
  try {
    const queueUrl = await sqs.createQueue('bench-warm');
    const client = new SQSClient({
      endpoint: sqs.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const requests = countRequests(client);
    const keys = Array.from({ length: KEYS }, (_, index) => `product:${index}`);
    const fanOut = new WarmFanOut({
      providers: { configured: new StaticKeyProvider(keys) },
      runStore: new InMemoryRunStore(),
      sender: new SqsSender(client, queueUrl),
      config,
      maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
      consumerBatchSize: 10,
    });
    const startedAt = performance.now();
    const outcome = await fanOut.warm({ trigger: 'schedule' });
    const seconds = (performance.now() - startedAt) / 1000;
    if (outcome.status !== 'started' || outcome.keysUnsent > 0)
      throw new Error(`fan-out did not queue every key: ${JSON.stringify(outcome)}`);
    const total = [...requests.values()].reduce((sum, count) => sum + count, 0);
    const figures: Figure[] = [
      {
        label: 'SQS requests per 1,000,000 keys fanned out',
        value: (total * 1_000_000) / KEYS,
        goal: { atMost: 1_000 },
        detail: `${outcome.messages.toLocaleString('en-US')} messages in ${[...requests].map(([name, count]) => `${count.toLocaleString('en-US')} ${name}`).join(', ')}; ${seconds.toFixed(1)} s against fauxqs`,
      },
    ];
    for (const figure of figures) printFigure(figure);
    return figures;
  } finally {
    await sqs.close();
  }
};
