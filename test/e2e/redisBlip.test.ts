import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../functions/adapters/DeadLetterQueue';
import type { RunStatusReport } from '../../functions/adapters/runStatus';
import { sleep } from '../../functions/core';
import { type LocalRuntime, startLocalRuntime } from '../../functions/local/LocalRuntime';
import { type LocalRedis, startRedisServer } from '../support/redisServer';

const KEYS = 10_000;
const keys = Array.from({ length: KEYS }, (_, index) => `blip:${index}`);
/**
 * The consume function's timeout (the construct's default; shorter ones time out on a busy machine);
 * the warm queue's visibility timeout is six times it, the wait a batch that threw would have to sit
 * out before it was delivered again.
 */
const CONSUMER_TIMEOUT_SECONDS = 60;
const VISIBILITY_TIMEOUT_MS = 6 * CONSUMER_TIMEOUT_SECONDS * 1_000;
/** How long redis-server stays down. */
const DOWN_MS = 4_000;
/**
 * The acceptance bound: the run ends this soon after Redis returns. By configuration, a key that
 * failed while Redis was down waits under 2 s, then under 4 s, before its next deliveries, so what
 * remains after the return is those waits and loading the keys left; a batch that waited out the
 * visibility timeout would take VISIBILITY_TIMEOUT_MS (12 times this).
 */
const ENDS_WITHIN_MS = 30_000;

let redis: LocalRedis;
let origin: Server;
let runtime: LocalRuntime;
/** Consume invocations that failed their whole batch or some of its messages. */
const failedBatches: string[] = [];

const runStatus = async (runId: string): Promise<RunStatusReport> =>
  ((await runtime.invoke('control', { action: 'status', runId })) as { run: RunStatusReport }).run;

/** Polls the run until `until` holds or `deadline` (epoch ms) passes; returns the last status. */
const waitForRun = async (
  runId: string,
  until: (run: RunStatusReport) => boolean,
  deadline = Number.POSITIVE_INFINITY,
): Promise<RunStatusReport> => {
  for (;;) {
    const run = await runStatus(runId);
    if (until(run) || Date.now() > deadline) return run;
    await sleep(250);
  }
};

beforeAll(async () => {
  [redis, origin] = await Promise.all([
    startRedisServer(),
    new Promise<Server>((resolve) => {
      const server = createServer((request, response) => {
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ url: request.url }));
      });
      server.listen(0, '127.0.0.1', () => resolve(server));
    }),
  ]);
  runtime = await startLocalRuntime({
    cacheUrl: redis.url,
    // A re-enqueued remainder waits at most 2 s, then 4 s: the backoff of the fault window, shortened
    // by configuration.
    warming: { maxWorkers: 8, retryBaseDelayMs: 5, maxRetries: 3, requeueDelaySeconds: 1 },
    valueSource: {
      type: 'http',
      urlTemplate: `http://127.0.0.1:${(origin.address() as AddressInfo).port}/values/{key}`,
    },
    consumerTimeoutSeconds: CONSUMER_TIMEOUT_SECONDS,
    logLevel: 'SILENT',
    onInvoke: (kind, report) => {
      if (kind === 'consume' && (report.error || report.failedMessageIds.length > 0)) {
        failedBatches.push(report.error ?? `${report.failedMessageIds.length} message(s) failed`);
      }
    },
  });
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
  await redis?.stop();
  origin?.close();
});

describe('a Redis blip during a warm through the local runtime', () => {
  it('ends the run soon after Redis returns, every key counted and every failed key in the DLQ with its reason', async () => {
    const started = (await runtime.invoke('warm', { keys, trigger: 'cli' })) as { runId: string };
    const runId = started.runId;
    const before = await waitForRun(runId, (run) => run.warmed >= KEYS / 10 || run.status !== 'running');
    expect(before.status).toBe('running');

    await redis.kill();
    await sleep(DOWN_MS);
    await redis.restart();
    // restart() resolves once redis-server answers again.
    const returnedAt = Date.now();
    // Bounded by the event that marks the defect: a batch thrown while Redis was down comes back only
    // after the visibility timeout, so a run that ends before it never waited one out.
    const run = await waitForRun(
      runId,
      (current) => current.status !== 'running',
      returnedAt + VISIBILITY_TIMEOUT_MS,
    );

    expect(failedBatches).toEqual([]);
    expect(run.status).toBe('finished');
    // Measured to the end the run store recorded, not to when this test's polling noticed it.
    const endedAfterMs = Date.parse(run.endedAt ?? '') - returnedAt;
    expect(endedAfterMs).toBeLessThan(ENDS_WITHIN_MS);
    expect(run.planned).toBe(KEYS);
    expect(run.warmed + run.failed + run.skipped).toBe(run.planned);
    const { messages } = (await runtime.invoke('control', { action: 'dlq', limit: 1_000 })) as {
      messages: DeadLetter[];
    };
    const letters = messages.filter((letter) => letter.runId === runId);
    const deadLettered = letters.flatMap((letter) => letter.keys);
    // Each failed key is in the DLQ once, with the reason it last failed.
    expect(new Set(deadLettered).size).toBe(run.failed);
    expect(deadLettered).toHaveLength(run.failed);
    for (const letter of letters) {
      for (const key of letter.keys) {
        expect(key).toMatch(/^blip:\d+$/);
        expect(letter.errors[key]).toMatch(/\S/);
      }
    }
    console.log(
      `Redis down ${DOWN_MS} ms: ${run.warmed} warmed, ${run.failed} failed, ${run.skipped} skipped, ended ${endedAfterMs} ms after it returned`,
    );
  }, 600_000);
});
