import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { estimateRun, type RunEstimate, type RunShape } from '../../../functions/adapters/runEstimate';
import { packKeysIntoMessages } from '../../../functions/adapters/warmMessage';
import { ServerlessCacheWarmer } from '../../../infra/ServerlessCacheWarmer';

const OPERATIONS = new URL('../../../docs/operations.md', import.meta.url);
const RUN_SIZES = [1_000_000, 10_000_000, 100_000_000];
/** The origin the table assumes: 50 ms a key, and no limit on concurrent requests below ~400. */
const LOAD_LATENCY_MS = 50;

/** The consume side as the construct deploys it with default props, read from its template. */
const deployedDefaults = (() => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Defaults');
  const warmer = new ServerlessCacheWarmer(stack, 'Warmer', {
    valueSource: { type: 'http', urlTemplate: 'https://api.example.com/items/{key}' },
  });
  const template = Template.fromStack(stack);
  const consumeId = stack.getLogicalId(warmer.consumeFunction.node.defaultChild as never);
  const mapping = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).find(
    (resource) => resource.Properties.FunctionName.Ref === consumeId,
  )?.Properties;
  const consume = template.findResources('AWS::Lambda::Function')[consumeId]?.Properties;
  return {
    config: warmer.config,
    consumerBatchSize: mapping.BatchSize as number,
    consumerConcurrency: mapping.ScalingConfig.MaximumConcurrency as number,
    memoryMb: consume.MemorySize as number,
  };
})();

/** A full warm message of keys of ~20 bytes, as the fan-out packs it. */
const messageBytes = (() => {
  const keys = Array.from(
    { length: deployedDefaults.config.batchSize },
    (_, index) => `product:${String(index).padStart(12, '0')}`,
  );
  const [message] = packKeysIntoMessages('0f8e1c2a-5b7d-4e3f-9a6b-1c2d3e4f5a6b', keys, {
    maxKeysPerMessage: deployedDefaults.config.batchSize,
    maxMessageBytes: 262_144,
  });
  return Buffer.byteLength(JSON.stringify(message));
})();

const shapeOf = (keys: number): RunShape => ({
  keys,
  keysPerMessage: deployedDefaults.config.batchSize,
  messageBytes,
  consumerBatchSize: deployedDefaults.consumerBatchSize,
  consumerConcurrency: deployedDefaults.consumerConcurrency,
  maxWorkers: deployedDefaults.config.maxWorkers,
  loadLatencyMs: LOAD_LATENCY_MS,
  memoryMb: deployedDefaults.memoryMb,
});

const count = (value: number): string => Math.round(value).toLocaleString('en-US');
const dollars = (value: number): string => `$${Number(value.toPrecision(2))}`;
const duration = (seconds: number): string => {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${Number((seconds / 3_600).toFixed(1))} h`;
};

/** A markdown table laid out as the formatter lays it out: cells padded to their column's width. */
const markdownTable = (rows: string[][]): string => {
  const widths =
    rows[0]?.map((_, column) => Math.max(3, ...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  const [header, ...body] = rows;
  return [line(header ?? []), line(widths.map((width) => '-'.repeat(width))), ...body.map(line)].join('\n');
};

const tableOf = (estimates: [number, RunEstimate][]): string =>
  markdownTable([
    [
      'keys',
      'messages',
      'consume invocations',
      'SQS requests',
      'run record WCU / RCU',
      'SQS + Lambda requests',
      'DynamoDB',
      'Lambda compute',
      'total',
      `time at ${deployedDefaults.consumerConcurrency} consumers`,
    ],
    ...estimates.map(([keys, estimate]) => [
      count(keys),
      count(estimate.messages),
      count(estimate.consumeInvocations),
      count(estimate.sqsRequests),
      `${count(estimate.writeUnits)} / ${count(estimate.readUnits)}`,
      dollars(estimate.requestsUsd),
      dollars(estimate.dynamoDbUsd),
      dollars(estimate.computeUsd),
      `**${dollars(estimate.totalUsd)}**`,
      duration(estimate.durationSeconds),
    ]),
  ]);

describe('the time and cost of a run (docs/operations.md)', () => {
  const estimates = RUN_SIZES.map((keys): [number, RunEstimate] => [keys, estimateRun(shapeOf(keys))]);

  it('warms 10 million keys in under half an hour at the default consumer concurrency', () => {
    const tenMillion = estimates.find(([keys]) => keys === 10_000_000)?.[1];
    expect(tenMillion?.durationSeconds).toBeLessThan(30 * 60);
  });

  it('costs the same per key at every size, the time growing with the keys', () => {
    const perKey = estimates.map(([keys, estimate]) => estimate.totalUsd / keys);
    for (const cost of perKey) expect(cost).toBeCloseTo(perKey[0] ?? 0, 12);
    const [small, , large] = estimates.map(([, estimate]) => estimate.durationSeconds);
    expect(large).toBe(100 * (small ?? 0));
  });

  it('is the table docs/operations.md shows', () => {
    expect(readFileSync(OPERATIONS, 'utf8')).toContain(tableOf(estimates));
  });
});
