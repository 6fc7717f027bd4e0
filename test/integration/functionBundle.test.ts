import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../functions/local/localAws';
import { FUNCTION_BUNDLE_OPTIONS, PROJECT_ROOT } from '../../infra/functionBundling';
import { type LocalSqs, startLocalSqs } from '../support/fauxqs';

/** Sends one message with the functions' own SQS client, as a handler does at its first call. */
const ENTRY = `import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { createAwsClients } from './functions/handlers/awsClients';
const { sqs } = createAwsClients();
await sqs.send(new SendMessageCommand({ QueueUrl: process.env.QUEUE_URL, MessageBody: 'from the bundle' }));
`;

let sqs: LocalSqs;
let queueUrl: string;
let directory: string;
let bundle: string;

/** Runs the bundle in a fresh node process with only the variables Lambda would give it. */
const runBundle = (credentials: Record<string, string>) =>
  promisify(execFile)(process.execPath, [bundle], {
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: LOCAL_REGION,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      QUEUE_URL: queueUrl,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...credentials,
    },
  });

beforeAll(async () => {
  sqs = await startLocalSqs();
  queueUrl = await sqs.createQueue('bundled');
  directory = await mkdtemp(join(tmpdir(), 'function-bundle-'));
  bundle = join(directory, 'index.mjs');
  await build({
    ...FUNCTION_BUNDLE_OPTIONS,
    stdin: { contents: ENTRY, resolveDir: PROJECT_ROOT, loader: 'ts' },
    outfile: bundle,
    logLevel: 'error',
  });
}, 60_000);

afterAll(async () => {
  await sqs?.close();
  if (directory) await rm(directory, { recursive: true, force: true });
});

describe('a function bundle, built as the construct builds it', () => {
  it('signs its AWS calls with the credentials Lambda puts in the environment', async () => {
    await runBundle({
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: 'session',
    });

    const { Messages } = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }),
    );
    expect(Messages?.map((message) => message.Body)).toEqual(['from the bundle']);
  }, 30_000);

  it('looks nowhere else for credentials: without them it says so, naming the environment', async () => {
    await expect(runBundle({})).rejects.toThrow(/Unable to find environment variable credentials/);
  }, 30_000);
});
