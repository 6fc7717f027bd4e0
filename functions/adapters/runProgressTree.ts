// A run's progress as `DynamoRunStore` counts it: the items of a run, which page counts a message,
// when a page is finished, and how an item keeps its figures. No I/O here.
import type { RunRecord, SkippedReason } from './RunStore';

/** Attribute name prefixes of one skip reason's count and sample. */
const SKIP_COUNT = 'skip:';
export const SKIP_SAMPLE = 'sample:';

/**
 * How a run's progress is split over items. Each page counts up to `pageMessages` of the run's
 * messages (and their remainders); each group rolls up `groupPages` finished pages; the tally rolls
 * up finished groups. Every item therefore takes a bounded number of writes over the whole run.
 */
export interface ProgressTreeShape {
  pageMessages: number;
  groupPages: number;
}

/** Pages of 100 messages (~1 KB of applied ids) and groups of 100 pages: one group per 10,000 messages. */
export const DEFAULT_PROGRESS_TREE: ProgressTreeShape = { pageMessages: 100, groupPages: 100 };

export type Item = Record<string, unknown>;
export type ItemKey = { pk: string; sk: string };

export const runKey = (runId: string): ItemKey => ({ pk: `run#${runId}`, sk: 'run' });
export const tallyKey = (runId: string): ItemKey => ({ pk: `run#${runId}`, sk: 'tally' });
export const groupKey = (runId: string, group: number): ItemKey => ({
  pk: `run#${runId}#group#${group}`,
  sk: 'group',
});
export const pageKey = (runId: string, page: number): ItemKey => ({
  pk: `run#${runId}#page#${page}`,
  sk: 'page',
});
const numberOf = (value: unknown): number => (typeof value === 'number' ? value : 0);
export const setOf = <Member = number>(value: unknown): Set<Member> =>
  value instanceof Set ? (value as Set<Member>) : new Set();
/** Members of `started` not yet in `done`: the children of an item still counting. */
export const stillOpen = (started: unknown, done: unknown): number[] => {
  const finished = setOf(done);
  return [...setOf(started)].filter((child) => !finished.has(child));
};

/**
 * The run item: the record's fixed part, with the progress tree it was created with. A run planned
 * in steps (`stepped`) grows `messages` and `keysPlanned` until `planning` is false; its shape is
 * then written to its last page, last group and tally (`finalMessages`, `finalPages`,
 * `finalGroups`), so that each item knows when it is finished from itself alone.
 */
export interface RunItem extends ProgressTreeShape {
  runId: string;
  trigger: RunRecord['trigger'];
  strategy: string;
  keysPlanned: number;
  messages: number;
  status: RunRecord['status'];
  startedAt: string;
  endedAt?: string;
  stepped?: boolean;
  planning?: boolean;
  checkpoint?: string;
  segment?: number;
}

const pageCount = (run: RunItem) => Math.ceil(run.messages / run.pageMessages);
export const groupCount = (run: RunItem) => Math.ceil(pageCount(run) / run.groupPages);
const messagesInPage = (run: RunItem, page: number) =>
  Math.min(run.pageMessages, run.messages - page * run.pageMessages);
export const pagesInGroup = (run: RunItem, group: number) =>
  Math.min(run.groupPages, pageCount(run) - group * run.groupPages);

/** What an item counts: its own messages (a page) or its finished children (a group, the tally). */
export interface Figures {
  warmed: number;
  failed: number;
  skipped: number;
  skippedReasons: SkippedReason[];
}

export const figuresOf = (item: Item): Figures => ({
  warmed: numberOf(item.keysWarmed),
  failed: numberOf(item.keysFailed),
  skipped: numberOf(item.keysSkipped),
  skippedReasons: Object.keys(item)
    .filter((name) => name.startsWith(SKIP_COUNT))
    .map((name) => {
      const reason = name.slice(SKIP_COUNT.length);
      const sample = item[`${SKIP_SAMPLE}${reason}`];
      return {
        reason,
        count: numberOf(item[name]),
        sample: Array.isArray(sample) ? (sample as string[]) : [],
      };
    }),
});

/**
 * A page is finished when all its messages are counted and no key of theirs waits in a remainder. A
 * page of a run planned in steps holds `pageMessages` messages unless it is the run's last page,
 * which learns its count (`finalMessages`) when planning completes.
 */
export const isPageFinished = (run: RunItem, page: number, item: Item): boolean => {
  const { warmed, failed, skipped } = figuresOf(item);
  const messages = run.stepped ? (item.finalMessages ?? run.pageMessages) : messagesInPage(run, page);
  return (
    numberOf(item.messagesCounted) === messages && warmed + failed + skipped === numberOf(item.keysExpected)
  );
};

/** A group is finished when it holds all its pages (a stepped run's last group learns how many: `finalPages`). */
export const isGroupFinished = (run: RunItem, group: number, item: Item): boolean =>
  setOf(item.donePages).size ===
  (run.stepped ? (item.finalPages ?? run.groupPages) : pagesInGroup(run, group));

/** The tally is finished when it holds every group; a stepped run's tally knows how many once planning completes. */
export const isTallyFinished = (run: RunItem, tally: Item): boolean =>
  setOf(tally.doneGroups).size === (run.stepped ? tally.finalGroups : groupCount(run));

/** Where a completed plan of `messages` messages ends: its last page and group, and how full they are. */
export const finalShape = (run: ProgressTreeShape, messages: number) => {
  const pages = Math.ceil(messages / run.pageMessages);
  const groups = Math.ceil(pages / run.groupPages);
  return {
    groups,
    lastGroup: groups - 1,
    pagesInLastGroup: pages - (groups - 1) * run.groupPages,
    lastPage: pages - 1,
    messagesInLastPage: messages - (pages - 1) * run.pageMessages,
  };
};

/** The clauses and values of an UpdateItem that adds `figures` to an item and sets its expiry once. */
export const addingFigures = (figures: Figures, expiresAt: number) => {
  const add = ['keysWarmed :warmed', 'keysFailed :failed', 'keysSkipped :skipped'];
  const set = ['expiresAt = if_not_exists(expiresAt, :expiresAt)'];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {
    ':warmed': figures.warmed,
    ':failed': figures.failed,
    ':skipped': figures.skipped,
    ':expiresAt': expiresAt,
  };
  figures.skippedReasons.forEach(({ reason, count, sample }, index) => {
    names[`#count${index}`] = `${SKIP_COUNT}${reason}`;
    values[`:count${index}`] = count;
    add.push(`#count${index} :count${index}`);
    if (sample.length === 0) return;
    names[`#sample${index}`] = `${SKIP_SAMPLE}${reason}`;
    values[`:sample${index}`] = sample;
    set.push(`#sample${index} = if_not_exists(#sample${index}, :sample${index})`);
  });
  return { add, set, names, values };
};

/** Where a message is counted: its page, whether it is one of the run's messages, its id within the page. */
export const placeMessage = (run: RunItem, messageId: string) => {
  const { match, suffix, index } = parseMessageId(run.runId, messageId);
  if (!match || index >= run.messages) {
    throw new Error(
      `message ${messageId} is not one of run ${run.runId}'s ${run.messages} messages (${run.runId}/<n>, or ${run.runId}/<n>.<attempt> for a remainder)`,
    );
  }
  return { page: Math.floor(index / run.pageMessages), isRunMessage: match[2] === '', appliedId: suffix };
};

const parseMessageId = (runId: string, messageId: string) => {
  const prefix = `${runId}/`;
  const suffix = messageId.startsWith(prefix) ? messageId.slice(prefix.length) : '';
  const match = /^(\d+)((?:\.\d+)*)$/.exec(suffix);
  return { match, suffix, index: Number(match?.[1]) };
};

/** True when `messageId` names a message past the run's known messages (the plan may have grown since). */
export const isBeyondKnownMessages = (run: RunItem, messageId: string): boolean => {
  const { match, index } = parseMessageId(run.runId, messageId);
  return match !== null && index >= run.messages;
};
