import { formatCount, formatDuration } from '../ProgressBar';
import { renderFields, renderTable } from './renderTable';
import type { DeadLetter, DlqRedrive, KeyAccess, RunStatusReport, WarmOutcome } from './types';

/** `2025-01-31T09:05:00.123Z` → `2025-01-31 09:05:00Z`; epoch milliseconds are accepted too. */
export const formatTime = (time: string | number | undefined): string => {
  if (time === undefined) return '-';
  const date = new Date(time);
  return Number.isNaN(date.getTime())
    ? String(time)
    : `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
};

const runDurationMs = (run: RunStatusReport): number | undefined =>
  run.endedAt ? Date.parse(run.endedAt) - Date.parse(run.startedAt) : undefined;

/** The skipped keys by reason, most first: how many, and the sample the run keeps of them. */
export const renderSkippedReasons = (run: RunStatusReport): string | undefined => {
  const reasons = [...(run.skippedReasons ?? [])].sort((a, b) => b.count - a.count);
  if (reasons.length === 0) return undefined;
  return [
    'skipped keys, by reason:',
    renderTable(
      [{ header: '', align: 'right' }, { header: '' }, { header: '' }],
      reasons.map(({ reason, count, sample }) => [
        formatCount(count),
        reason,
        sample.join(', ') + (count > sample.length ? ', …' : ''),
      ]),
      { header: false },
    )
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n'),
  ].join('\n');
};

/** A run's status, saying so while its plan still grows. */
const statusOf = (run: RunStatusReport): string =>
  run.status === 'running' && run.planning ? 'running (planning)' : run.status;

/** One run, field by field, then why keys were skipped: what `status`, `cancel` and the end of `warm --wait` show. */
export const renderRunStatus = (run: RunStatusReport): string =>
  [renderRunFields(run), renderSkippedReasons(run)].filter((part) => part !== undefined).join('\n\n');

const renderRunFields = (run: RunStatusReport): string =>
  renderFields([
    ['run', run.runId],
    ['status', statusOf(run)],
    ['trigger', run.trigger],
    ['started', formatTime(run.startedAt)],
    ['ended', formatTime(run.endedAt)],
    ['planned', formatCount(run.planned)],
    ['warmed', formatCount(run.warmed)],
    ['failed', formatCount(run.failed)],
    ['skipped', formatCount(run.skipped)],
    ['remaining', formatCount(run.remaining)],
    ['rate', `${formatCount(run.keysPerSecond)} keys/s`],
    run.status === 'running'
      ? ['eta', formatDuration(run.etaSeconds === undefined ? undefined : run.etaSeconds * 1000)]
      : ['took', formatDuration(runDurationMs(run))],
  ]);

/** What `cancel` did: cancelled the run, or found it already over. */
export const renderCancelled = (runId: string, run: RunStatusReport | undefined): string => {
  if (!run) return `Run ${runId} is not running: nothing to cancel.`;
  const outcome =
    run.status === 'cancelled'
      ? `Run ${runId} is cancelled: consumers drop the keys not yet loaded.`
      : `Run ${runId} had already ${run.status}: nothing to cancel.`;
  return `${outcome}\n${renderRunStatus(run)}`;
};

/** What to do next about a run that is over; nothing for a clean one. */
export const describeRunOutcome = (run: RunStatusReport): string | undefined => {
  if (run.status === 'cancelled') return `run ${run.runId} was cancelled`;
  if (run.failed > 0)
    return `${formatCount(run.failed)} key(s) failed: \`warmers dlq\` shows them with their reasons`;
  return undefined;
};

export const renderRuns = (runs: readonly RunStatusReport[]): string =>
  runs.length === 0
    ? 'No runs yet: start one with `warmers warm`.'
    : renderTable(
        [
          { header: 'RUN' },
          { header: 'STATUS' },
          { header: 'TRIGGER' },
          { header: 'STARTED' },
          { header: 'PLANNED', align: 'right' },
          { header: 'WARMED', align: 'right' },
          { header: 'FAILED', align: 'right' },
          { header: 'SKIPPED', align: 'right' },
        ],
        runs.map((run) => [
          run.runId,
          statusOf(run),
          run.trigger,
          formatTime(run.startedAt),
          formatCount(run.planned),
          formatCount(run.warmed),
          formatCount(run.failed),
          formatCount(run.skipped),
        ]),
      );

export const renderHotKeys = (hotKeys: readonly KeyAccess<string>[]): string =>
  hotKeys.length === 0
    ? 'No hot keys yet: the tracker learns them from the access events applications send.'
    : renderTable(
        [
          { header: '#', align: 'right' },
          { header: 'KEY', maxWidth: 60 },
          { header: 'READS', align: 'right' },
          { header: 'LAST READ' },
        ],
        hotKeys.map((hot, index) => [
          String(index + 1),
          hot.key,
          formatCount(hot.count),
          formatTime(hot.lastAccess),
        ]),
      );

/** One row per dead-lettered key with its own last error; a malformed message gets one row. */
export const renderDeadLetters = (letters: readonly DeadLetter[]): string => {
  if (letters.length === 0) return 'The dead-letter queue is empty.';
  const rows = letters.flatMap((letter) => {
    const keys = letter.keys.length > 0 ? letter.keys : ['-'];
    return keys.map((key) => [
      key,
      letter.runId ?? '-',
      formatTime(letter.sentAt),
      letter.errors[key] ?? letter.reason,
    ]);
  });
  const keyCount = letters.reduce((count, letter) => count + letter.keys.length, 0);
  return [
    renderTable(
      [
        { header: 'KEY', maxWidth: 40 },
        { header: 'RUN' },
        { header: 'SENT' },
        { header: 'REASON', wrap: true },
      ],
      rows,
    ),
    '',
    `${formatCount(keyCount)} key(s) in ${formatCount(letters.length)} message(s) shown; ` +
      '`warmers dlq --redrive` warms them again as a new run.',
  ].join('\n');
};

export const renderRedrive = (redrive: DlqRedrive): string => {
  const lines =
    redrive.runId === undefined
      ? ['Nothing to redrive: the dead-letter queue holds no warmable keys.']
      : [
          `Redrove ${formatCount(redrive.keys)} key(s) in ${formatCount(redrive.messages)} message(s) as run ${redrive.runId}.`,
          `Follow it with \`warmers status ${redrive.runId}\`.`,
        ];
  if (redrive.leftMalformed.length > 0)
    lines.push(
      `${redrive.leftMalformed.length} malformed message(s) stay in the dead-letter queue:`,
      renderDeadLetters(redrive.leftMalformed),
    );
  return lines.join('\n');
};

/** What `warm` answers before any waiting: the run it started, why it started none, or the plan. */
export const renderWarmOutcome = (outcome: WarmOutcome): string => {
  switch (outcome.status) {
    case 'started': {
      const notes = [
        outcome.keysFresh > 0 ? `${formatCount(outcome.keysFresh)} still fresh, left alone` : undefined,
        outcome.keysUnsent > 0 ? `${formatCount(outcome.keysUnsent)} could not be queued` : undefined,
        outcome.keysRejected > 0
          ? `${formatCount(outcome.keysRejected)} rejected, counted skipped with the reason`
          : undefined,
      ].filter((note) => note !== undefined);
      return (
        `Run ${outcome.runId} started: ${formatCount(outcome.keysPlanned)} key(s) in ` +
        `${formatCount(outcome.messages)} message(s)${notes.length > 0 ? ` (${notes.join('; ')})` : ''}` +
        `${outcome.continues ? '; more keys are being queued by the next invocation' : ''}.`
      );
    }
    case 'skipped':
      return (
        `No run started: run ${outcome.runInFlight} is still in flight. ` +
        `Follow it with \`warmers status ${outcome.runInFlight}\`, or pass --force to start another.`
      );
    case 'planned':
      return [
        'Dry run: nothing was sent.',
        renderFields([
          ['keys planned', formatCount(outcome.keysPlanned)],
          ['keys still fresh', formatCount(outcome.keysFresh)],
          ['keys rejected', formatCount(outcome.keysRejected)],
          ['messages', formatCount(outcome.messages)],
          ['SQS requests', formatCount(outcome.sqsRequests)],
          ['estimated cost', `$${outcome.estimatedCostUsd.toFixed(6)}`],
          ['first keys', outcome.sampleKeys.join(', ') || '-'],
        ]),
      ].join('\n');
  }
};
