import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runsTableDefinition } from '../../functions/adapters/DynamoRunStore';
import { createLambdaContext } from '../../functions/local/lambdaContext';
import { type LocalDynamo, startLocalDynamo } from '../support/dynalite';
import { type LocalSqs, startLocalSqs } from '../support/fauxqs';
import { type Handler, useLocalAws } from '../support/handlerEnvironment';

const REFUSAL = {
  __type: 'com.amazonaws.dynamodb.v20120810#AccessDeniedException',
  message:
    'User: arn:aws:sts::123456789012:assumed-role/warm/warm is not authorized to perform: dynamodb:PutItem on resource: runs',
};

/**
 * dynalite behind a proxy that, while `refuseRunRecords` is set, answers every write of a run record
 * (a request naming `keysPlanned`) as DynamoDB answers a role without the permission. Everything
 * else, the run lock included, reaches dynalite.
 */
const startRefusingProxy = async (dynamo: LocalDynamo) => {
  const target = new URL(dynamo.endpoint);
  const state = { refuseRunRecords: false, refused: 0 };
  const server = createServer((incoming, answer) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      if (state.refuseRunRecords && body.includes('"keysPlanned"')) {
        state.refused++;
        answer.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(REFUSAL));
        return;
      }
      const forwarded = request(
        {
          host: target.hostname,
          port: target.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (response) => {
          answer.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(answer);
        },
      );
      forwarded.on('error', (error) => answer.destroy(error));
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, state, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
};

let sqs: LocalSqs;
let dynamo: LocalDynamo;
let proxy: Awaited<ReturnType<typeof startRefusingProxy>>;
let warm: Handler;
let control: Handler;

const context = (functionName: string) =>
  createLambdaContext({ functionName, deadline: Date.now() + 30_000 });

beforeAll(async () => {
  [sqs, dynamo] = await Promise.all([startLocalSqs(), startLocalDynamo()]);
  const queues = await sqs.createQueueWithDlq('warm', { maxReceiveCount: 5, visibilityTimeoutSeconds: 30 });
  await dynamo.createTable(runsTableDefinition('runs'));
  proxy = await startRefusingProxy(dynamo);
  useLocalAws(
    sqs,
    { ...dynamo, endpoint: proxy.endpoint },
    {
      CODOMYRMEX_WARMING_WARM_QUEUE_URL: queues.queueUrl,
      CODOMYRMEX_WARMING_WARM_DLQ_URL: queues.dlqUrl,
      CODOMYRMEX_WARMING_RUNS_TABLE: 'runs',
      CODOMYRMEX_WARMING_KEY_SOURCES: JSON.stringify([{ type: 'static', keys: ['home', 'menu'] }]),
    },
  );
  warm = (await import('../../functions/handlers/warm')).handler as unknown as Handler;
  control = (await import('../../functions/handlers/control')).handler as unknown as Handler;
});

afterAll(async () => {
  proxy?.server.close();
  await Promise.all([sqs?.close(), dynamo?.close()]);
});

describe('the run lock against DynamoDB (dynalite)', () => {
  it('is released when the run record cannot be written, so the next scheduled warm runs', async () => {
    proxy.state.refuseRunRecords = true;
    await expect(warm({ trigger: 'schedule' }, context('warm'))).rejects.toThrow(
      /AccessDeniedException|not authorized/,
    );
    expect(proxy.state.refused).toBeGreaterThan(0);

    proxy.state.refuseRunRecords = false;
    const next = await warm({ trigger: 'schedule' }, context('warm'));

    // Not `skipped` behind a lock naming a run that was never recorded.
    expect(next).toMatchObject({ ok: true, status: 'started', keysPlanned: 2 });
    const status = await control({ action: 'status', runId: String(next.runId) }, context('control'));
    expect(status).toMatchObject({ ok: true, run: { status: 'running', planned: 2 } });
    // The lock is held again, by the run that exists.
    expect(await warm({ trigger: 'schedule' }, context('warm'))).toMatchObject({
      status: 'skipped',
      runInFlight: next.runId,
    });
  });
});
