import {
  backoffDelayMs,
  type CacheStore,
  CacheWarmer,
  describeError,
  type LeaseStore,
  StaticKeyProvider,
  type ValueLoader,
  type WarmingConfig,
  type WarmingStats,
} from '../core';
import type { RunStore } from './RunStore';
import { requeueBackoff } from './requeueBackoff';
import type { OutgoingMessage, SqsSender } from './SqsSender';
import {
  MalformedMessageError,
  packFailedKeys,
  parseWarmMessage,
  truncateReason,
  type WarmMessage,
} from './warmMessage';

/** The part of an SQS record the consumer reads. */
export interface ConsumedRecord {
  messageId: string;
  body: string;
}

export interface WarmConsumerDependencies {
  cache: CacheStore<string, unknown> & LeaseStore<string>;
  loader: ValueLoader<string, unknown>;
  runStore: RunStore;
  /** Sends to the warm queue: the failed remainder of a message, to try again later. */
  requeue: SqsSender;
  /** Sends to the warm queue's DLQ: malformed bodies and keys out of deliveries. */
  deadLetters: SqsSender;
  config: WarmingConfig;
  /** Who holds the leases this consumer takes: unique per container. */
  leaseOwner: string;
  /** The version a value carries, for `ifNewer` writes; omit for plain overwrites. */
  versionOf?: (value: unknown) => number | undefined;
  log?: (message: string, details: Record<string, unknown>) => void;
}

/** What one invocation did, for metrics and logs. */
export interface ConsumeSummary {
  keysWarmed: number;
  keysFailed: number;
  keysSkipped: number;
  keysRequeued: number;
  loadDurationMs: number;
  /** Runs this invocation finished, with how long each took. */
  runsFinished: { runId: string; durationMs: number }[];
}

/** Time kept back from the warm for sending remainders and counting progress. */
const RESERVED_MS = 5_000;
/** Room kept in each message for its attributes (the dead-letter reason) besides its body. */
const ATTRIBUTE_BYTES = 1_024;

/** How one message's keys ended. */
interface MessageOutcome {
  warmed: number;
  /** Key → why it was skipped. */
  skipped: Map<string, string>;
  failures: Map<string, string>;
}

/**
 * The consume side of the pipeline: loads the keys of a batch of warm messages through `CacheWarmer`
 * into the cache and accounts for each message once in its run.
 *
 * A message's keys that fail are not reported as a failed message (that would reload the keys that
 * loaded): the remainder is re-enqueued as a smaller message with its attempt count, after a backoff,
 * and dead-lettered with each key's last error once `maxRetries` deliveries are spent. A malformed
 * body is dead-lettered at once. Only a message whose outcome could not be recorded is reported as a
 * batch item failure, so SQS delivers it again.
 */
export class WarmConsumer {
  readonly #deps: WarmConsumerDependencies;

  public constructor(deps: WarmConsumerDependencies) {
    this.#deps = deps;
  }

  public async consume(
    records: readonly ConsumedRecord[],
    remainingTimeMs: () => number,
  ): Promise<{ batchItemFailures: { itemIdentifier: string }[]; summary: ConsumeSummary }> {
    const failedRecords: string[] = [];
    const summary: ConsumeSummary = {
      keysWarmed: 0,
      keysFailed: 0,
      keysSkipped: 0,
      keysRequeued: 0,
      loadDurationMs: 0,
      runsFinished: [],
    };
    const messages: { record: ConsumedRecord; message: WarmMessage }[] = [];
    for (const record of records) {
      try {
        messages.push({ record, message: parseWarmMessage(record.body) });
      } catch (error) {
        if (!(error instanceof MalformedMessageError)) throw error;
        if (
          !(await this.#deadLetter(
            [{ body: record.body, attributes: { reason: truncateReason(error.message) } }],
            record,
          ))
        ) {
          failedRecords.push(record.messageId);
        }
      }
    }

    const cancelledRuns = await this.#cancelledRuns(messages.map(({ message }) => message.runId));
    const keysToLoad = messages
      .filter(({ message }) => !cancelledRuns.has(message.runId))
      .flatMap(({ message }) => message.keys);
    const stats = await this.#load(keysToLoad, remainingTimeMs);
    summary.loadDurationMs = stats.durationMs;

    for (const { record, message } of messages) {
      const outcome = cancelledRuns.has(message.runId)
        ? {
            warmed: 0,
            skipped: new Map(message.keys.map((key) => [key, 'the run was cancelled'])),
            failures: new Map<string, string>(),
          }
        : this.#outcomeOf(message, stats);
      const settled = await this.#settle(record, message, outcome, summary);
      if (!settled) failedRecords.push(record.messageId);
    }
    return { batchItemFailures: failedRecords.map((itemIdentifier) => ({ itemIdentifier })), summary };
  }

  async #cancelledRuns(runIds: string[]): Promise<Set<string>> {
    const distinct = [...new Set(runIds)];
    const cancelled = await Promise.all(distinct.map((runId) => this.#deps.runStore.isCancelled(runId)));
    return new Set(distinct.filter((_, index) => cancelled[index]));
  }

  /** Leases the keys, loads and writes those it got, and gives the leases back. */
  async #load(keys: string[], remainingTimeMs: () => number): Promise<WarmingStats<string>> {
    const { cache, config, leaseOwner } = this.#deps;
    const budgetMs = Math.min(config.warmupTimeoutSeconds * 1000, remainingTimeMs() - RESERVED_MS);
    const distinct = [...new Set(keys)];
    if (distinct.length === 0 || budgetMs <= 0) {
      return this.#notLoaded(distinct, 'the invocation had no time left to load it');
    }
    let leased: Set<string>;
    try {
      leased = await cache.acquireLeases(distinct, leaseOwner, budgetMs + RESERVED_MS);
    } catch (error) {
      // The cache is unreachable: nothing can be written now, so the keys go back with the reason.
      return this.#notLoaded(distinct, `not loaded: the cache could not be reached: ${describeError(error)}`);
    }
    try {
      const warmer = new CacheWarmer(
        cache,
        new StaticKeyProvider<string>([]),
        this.#deps.loader,
        { ...config, warmupTimeoutSeconds: budgetMs / 1000 },
        { versionOf: this.#deps.versionOf },
      );
      const stats = await warmer.warm(distinct.filter((key) => leased.has(key)));
      for (const key of distinct) {
        if (!leased.has(key)) stats.skipped.set(key, 'another loader holds its lease');
      }
      return stats;
    } finally {
      await this.#releaseLeases([...leased]);
    }
  }

  /**
   * Gives the leases back so another loader need not wait for them to expire. A failure (the cache
   * went away mid-batch) is only logged: the leases expire on their own, and throwing here would hide
   * the batch's results, leaving every message to wait out the visibility timeout.
   */
  async #releaseLeases(keys: string[]): Promise<void> {
    try {
      await this.#deps.cache.releaseLeases(keys, this.#deps.leaseOwner);
    } catch (error) {
      this.#deps.log?.('leases not released; they expire on their own', {
        keys: keys.length,
        error: describeError(error),
      });
    }
  }

  #notLoaded(keys: string[], reason: string): WarmingStats<string> {
    return {
      keysWarmed: 0,
      keysFailed: keys.length,
      keysSkipped: 0,
      successRate: 0,
      durationMs: 0,
      failures: new Map(keys.map((key) => [key, reason])),
      skipped: new Map(),
      cancelled: false,
    };
  }

  #outcomeOf(message: WarmMessage, stats: WarmingStats<string>): MessageOutcome {
    const outcome: MessageOutcome = { warmed: 0, skipped: new Map(), failures: new Map() };
    for (const key of new Set(message.keys)) {
      const failure = stats.failures.get(key);
      const skipReason = stats.skipped.get(key);
      if (failure !== undefined) outcome.failures.set(key, failure);
      else if (skipReason !== undefined) outcome.skipped.set(key, skipReason);
      else outcome.warmed++;
    }
    return outcome;
  }

  /**
   * Re-enqueues or dead-letters the failed keys, then counts the message in its run. False when any
   * of that failed: the message must then be delivered again.
   */
  async #settle(
    record: ConsumedRecord,
    message: WarmMessage,
    outcome: MessageOutcome,
    summary: ConsumeSummary,
  ): Promise<boolean> {
    const { config, runStore } = this.#deps;
    const failedKeys = [...outcome.failures.keys()];
    const deliveries = message.attempt + 1;
    const retryLater = failedKeys.length > 0 && deliveries < Math.max(1, config.maxRetries);
    if (failedKeys.length > 0) {
      const remainder: WarmMessage = {
        ...message,
        id: `${message.id}.${deliveries}`,
        keys: failedKeys,
        attempt: deliveries,
        errors: Object.fromEntries(outcome.failures),
      };
      // Keys and reasons can outgrow the queue's limit (long keys, long errors): re-packed to fit.
      const parts = packFailedKeys(remainder, this.#deps.requeue.maxMessageBytes - ATTRIBUTE_BYTES);
      const sent = retryLater
        ? await this.#requeue(parts, record)
        : await this.#deadLetter(
            parts.map((part) => ({
              body: JSON.stringify(part),
              attributes: { reason: `failed ${deliveries} deliveries` },
            })),
            record,
          );
      if (!sent) return false;
    }
    const progress = {
      warmed: outcome.warmed,
      skipped: outcome.skipped.size,
      skippedKeys: outcome.skipped,
      failed: retryLater ? 0 : failedKeys.length,
      requeued: retryLater ? failedKeys.length : 0,
    };
    try {
      const { counted, run } = await runStore.recordProgress(message.runId, message.id, progress);
      if (counted) {
        summary.keysWarmed += progress.warmed;
        summary.keysSkipped += progress.skipped;
        summary.keysFailed += progress.failed;
        if (retryLater) summary.keysRequeued += failedKeys.length;
        if (run?.status === 'finished' && run.endedAt) {
          const durationMs = Date.parse(run.endedAt) - Date.parse(run.startedAt);
          const done = run.keysWarmed + run.keysFailed + run.keysSkipped;
          // Only the message that completed the run reports its duration.
          if (done - (progress.warmed + progress.skipped + progress.failed) < run.keysPlanned) {
            summary.runsFinished.push({ runId: run.runId, durationMs });
          }
        }
      }
      return true;
    } catch (error) {
      this.#deps.log?.('progress not recorded; the message will be delivered again', {
        messageId: record.messageId,
        runId: message.runId,
        error: describeError(error),
      });
      return false;
    }
  }

  async #requeue(parts: WarmMessage[], record: ConsumedRecord): Promise<boolean> {
    const { config } = this.#deps;
    const messages = parts.map((part) => {
      const delayMs = backoffDelayMs(part.attempt, requeueBackoff(config));
      return { body: JSON.stringify(part), delaySeconds: Math.floor(delayMs / 1000) };
    });
    return this.#sendOrLog(this.#deps.requeue, messages, record);
  }

  #deadLetter(messages: OutgoingMessage[], record: ConsumedRecord): Promise<boolean> {
    return this.#sendOrLog(this.#deps.deadLetters, messages, record);
  }

  async #sendOrLog(sender: SqsSender, messages: OutgoingMessage[], record: ConsumedRecord): Promise<boolean> {
    try {
      await sender.send(messages);
      return true;
    } catch (error) {
      this.#deps.log?.('could not send; the message will be delivered again', {
        messageId: record.messageId,
        error: describeError(error),
      });
      return false;
    }
  }
}
