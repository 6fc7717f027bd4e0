import { EventEmitter, once } from 'node:events';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { MiddlewareStack } from '@smithy/types';
import { DynamoRunStore, runsTableDefinition } from '../functions/adapters/DynamoRunStore';
import type { MessageProgress, SkippedReason } from '../functions/adapters/RunStore';
import { type LocalDynamo, startLocalDynamo } from '../test/support/dynalite';
import type { Scenario } from './index';
import { type Figure, printFigure, printScenario } from './report';

/**
 * Two run sizes: units per message that do not grow from one to the other are independent of size.
 * `BENCH_RUN_MESSAGES=2000,20000` picks others, for a machine too busy for 100,000 messages.
 */
const RUN_MESSAGES = (process.env.BENCH_RUN_MESSAGES ?? '10000,100000').split(',').map(Number);
const WRITERS = 50;
const KEYS_PER_MESSAGE = 100;
/** Messages a consumer takes per invocation: it asks once per batch whether the run was cancelled. */
const CONSUMER_BATCH = 10;
const LEASE_HELD = 'another loader holds its lease';
const NO_VALUE = 'the loader returned no value';
/**
 * Messages the fan-out sends between two plan steps of a run planned in steps: not a multiple of a
 * page (100 messages), so that pages span steps.
 */
const PLAN_STEP_MESSAGES = 237;
/** Steps' worth of messages the fan-out keeps queued ahead of the consumers, so that planning spans the run. */
const PLAN_STEPS_AHEAD = 2;

/** How the run is planned: whole at creation, or in steps while consumers count (a streaming fan-out). */
type Planning = 'whole' | 'steps';
/** `BENCH_RUN_PLANNING=steps` (or `whole`) measures one way of planning alone; default both. */
const PLANNINGS = (process.env.BENCH_RUN_PLANNING ?? 'whole,steps').split(',').map((planning) => {
  if (planning !== 'whole' && planning !== 'steps') {
    throw new Error(`BENCH_RUN_PLANNING lists "whole" or "steps", not "${planning}"`);
  }
  return planning as Planning;
});

/** Capacity units and writes per partition key per second, as DynamoDB would bill and throttle them. */
interface Usage {
  readUnits: number;
  writeUnits: number;
  /** Conditional writes refused (redeliveries): DynamoDB bills each; dynalite reports no units for them. */
  refusedWrites: number;
  writesPerKeySecond: Map<string, number>;
}

const WRITE_COMMANDS = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand']);

/**
 * Asks dynalite for the consumed capacity of every request (it computes units from item sizes as
 * DynamoDB bills them) and counts the writes each partition key takes in each second.
 */
const measureUsage = (client: DynamoDBDocumentClient, startedAt: number): Usage => {
  const usage: Usage = { readUnits: 0, writeUnits: 0, refusedWrites: 0, writesPerKeySecond: new Map() };
  (client.middlewareStack as MiddlewareStack<object, object>).add(
    (next, context) => async (args) => {
      const input = args.input as { ReturnConsumedCapacity?: string; Key?: { pk?: string } };
      input.ReturnConsumedCapacity = 'TOTAL';
      const isWrite = WRITE_COMMANDS.has(String(context.commandName));
      if (isWrite) {
        const slot = `${input.Key?.pk}@${Math.floor((performance.now() - startedAt) / 1000)}`;
        usage.writesPerKeySecond.set(slot, (usage.writesPerKeySecond.get(slot) ?? 0) + 1);
      }
      try {
        const result = await next(args);
        const units =
          (result.output as { ConsumedCapacity?: { CapacityUnits?: number } }).ConsumedCapacity
            ?.CapacityUnits ?? 0;
        if (isWrite) usage.writeUnits += units;
        else usage.readUnits += units;
        return result;
      } catch (error) {
        if (error instanceof Error && error.name === 'ConditionalCheckFailedException') usage.refusedWrites++;
        throw error;
      }
    },
    { step: 'initialize', name: 'measureUsage' },
  );
  return usage;
};

/** What a consumer reports for message `index`: mostly warmed, some keys skipped, failed or requeued. */
const progressOf = (index: number): MessageProgress => {
  const skippedKeys = new Map<string, string>();
  if (index % 10 === 0) for (const key of [0, 1]) skippedKeys.set(`key:${index}:${key}`, LEASE_HELD);
  if (index % 25 === 0) skippedKeys.set(`key:${index}:2`, NO_VALUE);
  const failed = index % 40 === 0 ? 1 : 0;
  const requeued = index % 50 === 0 ? 3 : 0;
  return {
    warmed: KEYS_PER_MESSAGE - skippedKeys.size - failed - requeued,
    failed,
    skipped: skippedKeys.size,
    skippedKeys,
    requeued,
  };
};

/** The remainder of message `index`: its 3 requeued keys, of which 2 load and 1 fails for good. */
const REMAINDER: MessageProgress = { warmed: 2, failed: 1, skipped: 0 };

interface Delivery {
  messageId: string;
  progress: MessageProgress;
}

/**
 * One run of `messages` recorded by `WRITERS` stores, as that many consumer containers would. A run
 * planned in steps is planned by a store of its own, as the fan-out would, a step at a time just
 * before its messages are queued, while the writers count the messages queued so far.
 */
const recordRun = async (dynamo: LocalDynamo, messages: number, planning: Planning) => {
  const tableName = `runs-${messages}-${planning}`;
  await dynamo.createTable(runsTableDefinition(tableName));
  const runId = `bench-${messages}-${planning}`;
  const stores = Array.from(
    { length: WRITERS },
    () => new DynamoRunStore({ client: dynamo.documentClient, tableName }),
  );
  const planner = new DynamoRunStore({ client: dynamo.documentClient, tableName });
  const whole = planning === 'whole';
  await planner.createRun({
    runId,
    trigger: 'cli',
    strategy: 'SCHEDULED',
    keysPlanned: whole ? messages * KEYS_PER_MESSAGE : 0,
    messages: whole ? messages : 0,
    planning: !whole,
  });

  // The queue as SQS roughly delivers it: in order, remainders later, and one message in 100 twice.
  const queue: Delivery[] = [];
  const queued = new EventEmitter();
  let next = 0;
  let counted = 0;
  let finishedBy = 0;
  let planned = 0;
  const enqueue = (count: number) => {
    for (let index = planned; index < planned + count; index++) {
      queue.push({ messageId: `${runId}/${index}`, progress: progressOf(index) });
      if (index % 100 === 7) queue.push({ messageId: `${runId}/${index}`, progress: progressOf(index) });
    }
    planned += count;
    queued.emit('change');
  };
  const startedAt = performance.now();
  const usage = measureUsage(dynamo.documentClient, startedAt);
  const plan = async () => {
    if (whole) {
      enqueue(messages);
      return;
    }
    while (planned < messages) {
      while (queue.length - next > PLAN_STEPS_AHEAD * PLAN_STEP_MESSAGES) await once(queued, 'taken');
      const count = Math.min(PLAN_STEP_MESSAGES, messages - planned);
      const step = await planner.recordPlanStep(runId, {
        messagesBefore: planned,
        messages: count,
        keysPlanned: count * KEYS_PER_MESSAGE,
        checkpoint: JSON.stringify({ messages: planned + count }),
        complete: planned + count === messages,
      });
      if (!step.applied)
        throw new Error(`plan step after message ${planned} of run ${runId} was not applied`);
      if (step.run?.status === 'finished') finishedBy++;
      enqueue(count);
    }
  };
  const consume = async (store: DynamoRunStore) => {
    for (;;) {
      if (next >= queue.length) {
        // Every delivery is taken: done unless the plan or another writer's remainders may add more.
        if (planned === messages && counted === messages + remaindersOf(messages)) return;
        await once(queued, 'change');
        continue;
      }
      const batch = queue.slice(next, next + CONSUMER_BATCH);
      next += batch.length;
      queued.emit('taken');
      if (await store.isCancelled(runId)) throw new Error(`run ${runId} was cancelled`);
      for (const { messageId, progress } of batch) {
        const result = await store.recordProgress(runId, messageId, progress);
        if (result.counted) counted++;
        if (result.run?.status === 'finished') finishedBy++;
        if (result.counted && progress.requeued) {
          queue.push({ messageId: `${messageId}.1`, progress: REMAINDER });
        }
      }
      queued.emit('change');
    }
  };
  queued.setMaxListeners(WRITERS + 1);
  await Promise.all([plan(), ...stores.map(consume)]);
  const seconds = (performance.now() - startedAt) / 1000;
  dynamo.documentClient.middlewareStack.remove('measureUsage');

  const statusUsage = measureUsage(dynamo.documentClient, performance.now());
  const run = await stores[0]?.getRun(runId);
  dynamo.documentClient.middlewareStack.remove('measureUsage');
  return { run, usage, statusUsage, seconds, counted, finishedBy, deliveries: queue.length };
};

/** Remainders of a run of `messages`: one for each message that requeues keys. */
const remaindersOf = (messages: number) =>
  Array.from({ length: messages }, (_, index) => progressOf(index)).filter((progress) => progress.requeued)
    .length;

/** The figures a run of `messages` must end with, from the same rules the writers followed. */
const expectedFigures = (messages: number) => {
  const expected = { warmed: 0, failed: 0, skipped: 0, leaseHeld: 0, noValue: 0 };
  for (let index = 0; index < messages; index++) {
    const progress = progressOf(index);
    expected.warmed += progress.warmed + (progress.requeued ? REMAINDER.warmed : 0);
    expected.failed += progress.failed + (progress.requeued ? REMAINDER.failed : 0);
    expected.skipped += progress.skipped;
    for (const reason of progress.skippedKeys?.values() ?? []) {
      if (reason === LEASE_HELD) expected.leaseHeld++;
      else expected.noValue++;
    }
  }
  return expected;
};

const countOf = (reasons: SkippedReason[], reason: string) =>
  reasons.find((entry) => entry.reason === reason)?.count ?? 0;

export const run: Scenario = async () => {
  printScenario(
    `Run records (DynamoRunStore against dynalite: ${WRITERS} concurrent writers, ${KEYS_PER_MESSAGE} keys a message, 1 message in 100 delivered twice, 1 in 50 with a remainder; planned whole, or in steps of ${PLAN_STEP_MESSAGES} messages while the writers count)`,
  );
  const dynamo = await startLocalDynamo();
  const figures: Figure[] = [];
  try {
    for (const [messages, planning] of RUN_MESSAGES.flatMap((size) =>
      PLANNINGS.map((planning) => [size, planning] as const),
    )) {
      const { run, usage, statusUsage, seconds, counted, finishedBy, deliveries } = await recordRun(
        dynamo,
        messages,
        planning,
      );
      const expected = expectedFigures(messages);
      const planned = messages * KEYS_PER_MESSAGE;
      const exact =
        run?.status === 'finished' &&
        !run.planning &&
        run.keysPlanned === planned &&
        finishedBy === 1 &&
        run.keysWarmed === expected.warmed &&
        run.keysFailed === expected.failed &&
        run.keysSkipped === expected.skipped &&
        run.keysWarmed + run.keysFailed + run.keysSkipped === planned &&
        countOf(run.skippedReasons, LEASE_HELD) === expected.leaseHeld &&
        countOf(run.skippedReasons, NO_VALUE) === expected.noValue &&
        run.skippedReasons.every(({ sample }) => sample.length <= 10);
      if (!exact) {
        throw new Error(
          `run of ${messages} messages planned ${planning} ended ${run?.status} (finished by ${finishedBy} updates) with ${run?.keysWarmed}/${run?.keysFailed}/${run?.keysSkipped} warmed/failed/skipped; expected finished with ${expected.warmed}/${expected.failed}/${expected.skipped}`,
        );
      }
      const size = `${messages.toLocaleString('en-US')} messages planned ${planning === 'whole' ? 'whole' : 'in steps'}`;
      const busiest = Math.max(...usage.writesPerKeySecond.values());
      const writesPerKey = new Map<string, number>();
      for (const [slot, count] of usage.writesPerKeySecond) {
        const key = slot.slice(0, slot.lastIndexOf('@'));
        writesPerKey.set(key, (writesPerKey.get(key) ?? 0) + count);
      }
      const allWrites = [...usage.writesPerKeySecond.values()].reduce((sum, count) => sum + count, 0);
      const sizeFigures: Figure[] = [
        {
          label: `${size}: write units per message`,
          value: (usage.writeUnits + usage.refusedWrites) / messages,
          goal: { atMost: 5 },
          detail: `${Math.round(usage.writeUnits).toLocaleString('en-US')} WCU from item sizes + ${usage.refusedWrites} refused conditional writes at 1 WCU each`,
        },
        {
          label: `${size}: read units per message`,
          value: usage.readUnits / messages,
          goal: { atMost: 5 },
          detail: `${usage.readUnits.toLocaleString('en-US')} RCU: each writer's run reads (again past a plan step), one cancel check per ${CONSUMER_BATCH} messages, redeliveries' page reads`,
        },
        {
          label: `${size}: most writes one partition key took in one second`,
          value: busiest,
          unit: 'writes',
          detail: `of ${Math.round(allWrites / seconds).toLocaleString('en-US')} writes/s over all keys; at most ${Math.max(...writesPerKey.values())} writes to one key in the whole run; ${deliveries.toLocaleString('en-US')} deliveries (${counted.toLocaleString('en-US')} counted) in ${seconds.toFixed(1)} s, ended finished with exact sums`,
        },
        {
          label: `${size}: read units of one status read of the finished run`,
          value: statusUsage.readUnits,
          unit: 'RCU',
        },
      ];
      for (const figure of sizeFigures) printFigure(figure);
      figures.push(...sizeFigures);
    }
  } finally {
    await dynamo.close();
  }
  return figures;
};
