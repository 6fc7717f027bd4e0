/**
 * One fan-out of the warm fan-out bench, alone in its process so its peak RSS is its own:
 * `node --import tsx bench/fanOutChild.ts <keys> <fauxqs|counting>` prints one JSON line.
 */
import {
  type SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { SqsSender } from '../functions/adapters/SqsSender';
import { WarmFanOut } from '../functions/adapters/WarmFanOut';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../functions/adapters/warmMessage';
import { CallableKeyProvider, defaultWarmingConfig } from '../functions/core';
import { startLocalSqs } from '../test/support/fauxqs';
import { InMemoryRunStore } from '../test/support/InMemoryRunStore';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const keys = Number(process.argv[2]);
const queue = process.argv[3] === 'fauxqs' ? 'fauxqs' : 'counting';

/** Stands in for SQS: takes every entry of every SendMessageBatch and counts the keys. */
class CountingSqsClient {
  public keys = 0;

  public async send(command: SendMessageBatchCommand) {
    const { Entries = [] } = command.input as SendMessageBatchCommandInput;
    for (const entry of Entries)
      this.keys += (JSON.parse(entry.MessageBody ?? '{}') as { keys: string[] }).keys.length;
    return { Successful: Entries.map((entry) => ({ Id: entry.Id, MessageId: entry.Id })), Failed: [] };
  }
}

/** Keys of 26 bytes (`product:catalog:0000000042`), streamed one by one as a paged source yields them. */
const streamedKeys = new CallableKeyProvider(async function* () {
  for (let index = 0; index < keys; index++) yield `product:catalog:${String(index).padStart(10, '0')}`;
});

const sqs = queue === 'fauxqs' ? await startLocalSqs() : undefined;
const counting = new CountingSqsClient();
const client = sqs
  ? new SQSClient({
      endpoint: sqs.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    })
  : (counting as unknown as SQSClient);
const queueUrl = sqs
  ? await sqs.createQueue('bench-warm')
  : 'https://sqs.us-east-1.amazonaws.com/1/bench-warm';

const fanOut = new WarmFanOut({
  providers: { configured: streamedKeys },
  runStore: new InMemoryRunStore(),
  sender: new SqsSender(client, queueUrl),
  config: defaultWarmingConfig(),
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  consumerBatchSize: 10,
});
const baselineRssKiB = process.resourceUsage().maxRSS;
const startedAt = performance.now();
const outcome = await fanOut.warm({ trigger: 'schedule' });
const seconds = (performance.now() - startedAt) / 1000;
if (outcome.status !== 'started' || outcome.keysUnsent > 0 || outcome.keysPlanned !== keys)
  throw new Error(`fan-out did not queue every key: ${JSON.stringify(outcome)}`);
if (!sqs && counting.keys !== keys)
  throw new Error(`${counting.keys} keys reached the counting sender, not ${keys}`);
console.log(
  JSON.stringify({
    keys,
    queue,
    seconds,
    messages: outcome.messages,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    baselineRssMiB: baselineRssKiB / 1024,
  }),
);
await sqs?.close();
