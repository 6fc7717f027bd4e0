import type { LocalInvocation } from '../LocalRuntime';
import { formatCount } from '../ProgressBar';

const FUNCTION_WIDTH = 7;
const CAUSE_WIDTH = 18;
const DURATION_WIDTH = 8;

type Answer = {
  ok?: boolean;
  error?: string;
  status?: string;
  runId?: string;
  runInFlight?: string;
  keysPlanned?: number;
  batchItemFailures?: unknown[];
};

const fieldOf = (value: unknown, field: string): unknown =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[field] : undefined;

/** What invoked the function: the warm's trigger, the control action, or the event source's batch. */
const causeOf = ({ functionKind, event }: LocalInvocation): string => {
  const records = fieldOf(event, 'Records');
  if (Array.isArray(records)) return `batch of ${formatCount(records.length)}`;
  if (functionKind === 'warm') return String(fieldOf(event, 'trigger') ?? 'console');
  if (functionKind === 'control') return String(fieldOf(event, 'action') ?? '?');
  return 'invoke';
};

/** How it ended, in a few words: the run a warm started, failed records, or the error. */
const outcomeOf = (invocation: LocalInvocation): string => {
  if (invocation.error !== undefined) return `error: ${invocation.error}`;
  const answer = (invocation.result ?? {}) as Answer;
  if (answer.ok === false) return `refused: ${answer.error ?? 'no reason given'}`;
  if (Array.isArray(answer.batchItemFailures)) {
    const records = fieldOf(invocation.event, 'Records');
    const failed = answer.batchItemFailures.length;
    return failed === 0
      ? 'ok'
      : `${formatCount(failed)} of ${formatCount(Array.isArray(records) ? records.length : failed)} records failed`;
  }
  switch (answer.status) {
    case 'started':
      return `started run ${answer.runId} (${formatCount(answer.keysPlanned ?? 0)} keys)`;
    case 'skipped':
      return `skipped: run ${answer.runInFlight} is in flight`;
    case 'planned':
      return `dry run (${formatCount(answer.keysPlanned ?? 0)} keys)`;
    default:
      return 'ok';
  }
};

const formatMilliseconds = (ms: number): string =>
  ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(1)} s`;

/**
 * One line per local invocation, as `warmers local` prints them: time, function, what invoked it,
 * how long it took and how it ended.
 *
 * @example
 * formatInvocation({ functionKind: 'warm', event: { trigger: 'schedule' }, durationMs: 412, result });
 * // '09:05:01  warm     schedule              412 ms  started run 3f1c… (5,000 keys)'
 */
export const formatInvocation = (invocation: LocalInvocation, at: Date = new Date()): string =>
  [
    at.toTimeString().slice(0, 8),
    invocation.functionKind.padEnd(FUNCTION_WIDTH),
    causeOf(invocation).padEnd(CAUSE_WIDTH),
    formatMilliseconds(invocation.durationMs).padStart(DURATION_WIDTH),
    outcomeOf(invocation),
  ].join('  ');
