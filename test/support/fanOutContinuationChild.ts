/**
 * A warm fan-out of `keys` streamed keys carried over continuations, run in a process of its own
 * (the test starts it with a small heap). Prints one JSON line: how often each key reached the queue.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { SqsSender } from '../../functions/adapters/SqsSender';
import { type ContinuationMessage, WarmFanOut } from '../../functions/adapters/WarmFanOut';
import { DEFAULT_MAX_MESSAGE_BYTES, parseWarmMessage } from '../../functions/adapters/warmMessage';
import { CallableKeyProvider, defaultWarmingConfig } from '../../functions/core';
import { InMemoryRunStore } from './InMemoryRunStore';

const keys = Number(process.argv[2]);
const messagesPerSegment = Number(process.argv[3]);

/** Times each key reached the queue: one byte a key, so the count itself stays small. */
const queued = new Uint8Array(keys);
const runStore = new InMemoryRunStore();

/** Stands in for SQS: each message is consumed at once, counting its keys warmed. */
const countingClient = {
  async send(command: { input: { Entries?: { Id?: string; MessageBody?: string }[] } }) {
    const entries = command.input.Entries ?? [];
    for (const entry of entries) {
      const message = parseWarmMessage(entry.MessageBody ?? '');
      for (const key of message.keys) {
        const index = Number(key.slice(4));
        queued[index] = (queued[index] ?? 0) + 1;
      }
      await runStore.recordProgress(message.runId, message.id, {
        warmed: message.keys.length,
        failed: 0,
        skipped: 0,
      });
    }
    return { Successful: entries.map((entry) => ({ Id: entry.Id, MessageId: entry.Id })), Failed: [] };
  },
} as unknown as SQSClient;

const continuations: ContinuationMessage[] = [];
const fanOut = new WarmFanOut({
  providers: {
    configured: new CallableKeyProvider(async function* () {
      for (let index = 0; index < keys; index++) yield `key:${index}`;
    }),
  },
  runStore,
  sender: new SqsSender(countingClient, 'https://sqs.us-east-1.amazonaws.com/1/warm'),
  config: defaultWarmingConfig(),
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  consumerBatchSize: 10,
  continuation: {
    // Handovers are delivered in order; delayed watchdogs after them, when they are stale.
    send: async (message, delaySeconds) => {
      if (delaySeconds === 0) continuations.push(message);
    },
  },
  messagesPerSegment,
});

const started = await fanOut.warm({ trigger: 'schedule' });
let segments = 1;
for (let message = continuations.shift(); message; message = continuations.shift()) {
  const outcome = await fanOut.continueRun(message);
  if (outcome.status === 'continued') segments++;
}
const runId = started.status === 'started' ? started.runId : '';
console.log(
  JSON.stringify({
    segments,
    keysQueuedOnce: queued.filter((times) => times === 1).length,
    keysQueuedTwice: queued.filter((times) => times > 1).length,
    keysMissing: queued.filter((times) => times === 0).length,
    run: await runStore.getRun(runId),
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  }),
);
