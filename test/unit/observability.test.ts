import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLambdaContext } from '../../functions/local/lambdaContext';

type Observability = typeof import('../../functions/handlers/observability');

let written: string[];
let observability: Observability;

const context = () => createLambdaContext({ functionName: 'consume', deadline: Date.now() + 30_000 });

/** The EMF documents written for CloudWatch: one JSON line each, with an `_aws` header. */
const emfDocuments = () =>
  written
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as { _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } });

const metricNames = () =>
  emfDocuments().flatMap((document) =>
    document._aws.CloudWatchMetrics.flatMap((directive) => directive.Metrics.map((metric) => metric.Name)),
  );

beforeEach(async () => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  vi.stubEnv('POWERTOOLS_DEV', 'false');
  vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'WARN');
  vi.resetModules();
  written = [];
  const capture = (chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  observability = await import('../../functions/handlers/observability');
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('withObservability', () => {
  it('publishes the metrics an invocation records, and the cold start once per container', async () => {
    const { metrics, withObservability } = observability;
    const handler = withObservability(async () => {
      metrics.addMetric('KeysWarmed', MetricUnit.Count, 10);
      return 'done';
    });

    expect(await handler({}, context())).toBe('done');
    await handler({}, context());

    expect(metricNames().filter((name) => name === 'KeysWarmed')).toHaveLength(2);
    expect(metricNames().filter((name) => name === 'ColdStart')).toHaveLength(1);
  });

  it('writes nothing at all for an invocation that recorded no metric', async () => {
    const { withObservability } = observability;
    const handler = withObservability(async () => ({ ok: true }));

    await handler({}, context());
    written = [];
    await handler({}, context());

    expect(written).toEqual([]);
  });

  it('answers bad input with the reason instead of failing the invocation', async () => {
    const { InvalidRequestError, withObservability } = observability;
    const handler = withObservability(async (): Promise<unknown> => {
      throw new InvalidRequestError('invalid payload: limit: expected a number');
    });

    expect(await handler({}, context())).toEqual({
      ok: false,
      error: 'invalid payload: limit: expected a number',
    });
  });
});
