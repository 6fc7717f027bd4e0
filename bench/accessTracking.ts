import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoAccessTracker, trackerTableDefinition } from '../functions/adapters/DynamoAccessTracker';
import { AccessReporter } from '../functions/core';
import { createZipfSampler, seededRandom } from '../functions/local/sampleCatalog';
import { startLocalDynamo } from '../test/support/dynalite';
import type { Scenario } from './index';
import { type Figure, printFigure, printScenario } from './report';

const EVENTS = 1_000_000;
const DISTINCT_KEYS = 1_000_000;
const MAX_KEYS = 10_000;
const TOP = 100;
const PROBE_WRITES = 2_000;
/** Time the scenario may spend writing to dynalite; the flush size is chosen to fit it. */
const WRITE_BUDGET_SECONDS = 120;

/**
 * Counts every write request the client sends, as DynamoDB bills them: one per UpdateItem, PutItem
 * or DeleteItem, one per item of a BatchWriteItem or TransactWriteItems.
 */
const countWrites = (client: DynamoDBDocumentClient): { readonly writes: number } => {
  const counter = { writes: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { RequestItems?: Record<string, unknown[]>; TransactItems?: unknown[] };
      const command = context.commandName ?? '';
      if (/^(Update|Put|Delete)(Item)?Command$/.test(command)) counter.writes += 1;
      else if (/^BatchWrite(Item)?Command$/.test(command)) {
        for (const requests of Object.values(input.RequestItems ?? {})) counter.writes += requests.length;
      } else if (/^TransactWrite(Items)?Command$/.test(command))
        counter.writes += input.TransactItems?.length ?? 0;
      return next(args);
    },
    { step: 'initialize', name: 'countWriteRequests' },
  );
  return counter;
};

export const run: Scenario = async () => {
  printScenario(
    `Access tracking (${EVENTS.toLocaleString('en-US')} reads, Zipf s = 1 over ${DISTINCT_KEYS.toLocaleString('en-US')} keys, AccessReporter → DynamoAccessTracker on dynalite)`,
  );
  const dynamo = await startLocalDynamo();
  try {
    const counter = countWrites(dynamo.documentClient);

    // How fast this machine's dynalite takes key updates decides how many flushes fit the budget.
    await dynamo.createTable(trackerTableDefinition('probe'));
    const probe = new DynamoAccessTracker({ client: dynamo.documentClient, tableName: 'probe' });
    const probeBatch = (id: string, keys: number) => ({
      v: 1 as const,
      id,
      at: Date.now(),
      counts: Object.fromEntries(Array.from({ length: keys }, (_, index) => [`probe:${index}`, 2])),
    });
    // A first round warms the JIT and the connections, so the timed round measures dynalite itself.
    await probe.recordBatches([probeBatch('probe/warm-up', PROBE_WRITES / 4)]);
    const probeStart = performance.now();
    const probeWritesBefore = counter.writes;
    await probe.recordBatches([probeBatch('probe/timed', PROBE_WRITES)]);
    const writesPerSecond = (counter.writes - probeWritesBefore) / ((performance.now() - probeStart) / 1000);
    // A flush writes at most MAX_KEYS keys (and far fewer after the minCount filter): budget for that bound.
    const flushes = Math.max(
      1,
      Math.min(10, Math.floor((writesPerSecond * WRITE_BUDGET_SECONDS) / MAX_KEYS)),
    );
    const flushEveryEvents = Math.ceil(EVENTS / flushes);

    await dynamo.createTable(trackerTableDefinition('access'));
    const tracker = new DynamoAccessTracker({ client: dynamo.documentClient, tableName: 'access' });
    let batches = 0;
    let reportedWrites = 0;
    const reporter = new AccessReporter({
      send: async (batch) => {
        batches += 1;
        const result = await tracker.recordBatches([batch]);
        reportedWrites += result.applied + result.writes;
      },
      reporterId: 'bench',
      flushEveryEvents,
      maxKeys: MAX_KEYS,
      onError: (error) => {
        throw error;
      },
    });

    const draw = createZipfSampler(DISTINCT_KEYS, seededRandom(7));
    const exact = new Map<number, number>();
    const writesBefore = counter.writes;
    const startedAt = performance.now();
    for (let event = 0; event < EVENTS; event++) {
      const rank = draw();
      exact.set(rank, (exact.get(rank) ?? 0) + 1);
      reporter.record(`key:${rank}`);
    }
    await reporter.close();
    const seconds = (performance.now() - startedAt) / 1000;
    const writes = counter.writes - writesBefore;
    if (writes < reportedWrites) {
      throw new Error(
        `the write counter saw ${writes} writes, fewer than the ${reportedWrites} the tracker made`,
      );
    }

    const exactTop = new Set(
      [...exact]
        .sort((a, b) => b[1] - a[1] || a[0] - b[0])
        .slice(0, TOP)
        .map(([rank]) => `key:${rank}`),
    );
    const found = (await tracker.getHotKeys(0, TOP)).filter((key) => exactTop.has(key)).length;

    const figures: Figure[] = [
      {
        label: 'DynamoDB write requests ÷ access events',
        value: writes / EVENTS,
        goal: { atMost: 0.1 },
        detail: `${writes.toLocaleString('en-US')} writes (${batches} batches, ${flushes} flushes of ${flushEveryEvents.toLocaleString('en-US')} events; dynalite took ${writesPerSecond.toFixed(0)} writes/s) in ${seconds.toFixed(1)} s`,
      },
      {
        label: `recall of the exact top ${TOP} in getHotKeys(0, ${TOP})`,
        value: found / TOP,
        goal: { atLeast: 0.95 },
      },
    ];
    for (const figure of figures) printFigure(figure);
    return figures;
  } finally {
    await dynamo.close();
  }
};
