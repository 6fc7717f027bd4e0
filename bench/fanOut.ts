import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { defaultWarmingConfig } from '../functions/core';
import type { Scenario } from './index';
import { type Figure, printFigure, printScenario } from './report';

const execFileAsync = promisify(execFile);

/** What one child fan-out reports (see fanOutChild.ts). */
interface FanOutRun {
  keys: number;
  queue: 'fauxqs' | 'counting';
  seconds: number;
  messages: number;
  peakRssMiB: number;
}

/**
 * The old space every child gets, as a warm function's heap is bounded by its memory: without a bound V8
 * lets garbage pile up over a longer run, and the peak would measure its laziness rather than what the
 * fan-out keeps.
 */
const CHILD_OLD_SPACE_MIB = 128;

/** Runs one fan-out in a child process of its own, so its peak RSS is measured alone. */
const fanOutInChild = async (keys: number, queue: FanOutRun['queue']): Promise<FanOutRun> => {
  const child = fileURLToPath(new URL('./fanOutChild.ts', import.meta.url));
  const { stdout } = await execFileAsync(
    process.execPath,
    [`--max-old-space-size=${CHILD_OLD_SPACE_MIB}`, '--import', 'tsx', child, String(keys), queue],
    { maxBuffer: 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as FanOutRun;
};

const describeRun = (fanOut: FanOutRun): string =>
  `${fanOut.keys.toLocaleString('en-US')} keys into ${fanOut.queue === 'fauxqs' ? 'fauxqs' : 'a counting sender'}: ` +
  `${fanOut.messages.toLocaleString('en-US')} messages in ${fanOut.seconds.toFixed(1)} s, peak RSS ${fanOut.peakRssMiB.toFixed(0)} MiB`;

export const run: Scenario = async () => {
  const config = defaultWarmingConfig();
  printScenario(
    `Warm fan-out (a streamed provider of 26-byte keys, each size in its own process with a ${CHILD_OLD_SPACE_MIB} MiB old space; default settings: batchSize ${config.batchSize})`,
  );
  const fauxqs = await fanOutInChild(1_000_000, 'fauxqs');
  const million = await fanOutInChild(1_000_000, 'counting');
  const tenMillion = await fanOutInChild(10_000_000, 'counting');
  const sqsRequestsPerMillion = Math.ceil(fauxqs.messages / 10);
  const figures: Figure[] = [
    {
      label: 'fan-out throughput, 1,000,000 keys into fauxqs',
      value: Math.round(fauxqs.keys / fauxqs.seconds),
      unit: 'keys/s',
      goal: { atLeast: 150_000 },
      detail: `${describeRun(fauxqs)}; ${sqsRequestsPerMillion.toLocaleString('en-US')} SendMessageBatch`,
    },
    {
      label: 'fan-out throughput, 10,000,000 keys',
      value: Math.round(tenMillion.keys / tenMillion.seconds),
      unit: 'keys/s',
      goal: { atLeast: 150_000 },
      detail: describeRun(tenMillion),
    },
    {
      label: 'fan-out peak RSS, 10,000,000 keys',
      value: Math.round(tenMillion.peakRssMiB),
      unit: 'MiB',
      goal: { atMost: 256 },
      detail: describeRun(tenMillion),
    },
    {
      label: 'fan-out peak RSS, 10,000,000 keys ÷ 1,000,000 keys',
      value: tenMillion.peakRssMiB / million.peakRssMiB,
      goal: { atMost: 1.2 },
      detail: `${describeRun(million)}; into fauxqs: peak ${fauxqs.peakRssMiB.toFixed(0)} MiB`,
    },
  ];
  for (const figure of figures) printFigure(figure);
  return figures;
};
