import { randomUUID } from 'node:crypto';
import {
  type CacheStore,
  ConfigurationError,
  collectWeightedKeys,
  describeError,
  findKeysDueForRefresh,
  type KeyCandidate,
  type KeyProvider,
  type KeySource,
  type WarmingConfig,
} from '../core';
import { estimateFanOutCostUsd } from './pricing';
import type { RunStore, RunTrigger } from './RunStore';
import { type OutgoingMessage, type SqsSender, UnsentMessagesError } from './SqsSender';
import { packKeysIntoMessages, validateKeys, type WarmMessage } from './warmMessage';

/** What a warm invocation asks for (the validated console / CLI / schedule payload). */
export interface WarmRequest {
  trigger: RunTrigger;
  /** Warm just these keys instead of asking the providers. */
  keys?: string[];
  /** `adaptive` takes the hot keys only. Default: the configured providers. */
  provider?: 'configured' | 'adaptive';
  /** Warm at most this many keys of the highest weight. */
  limit?: number;
  /** Plan without sending. */
  dryRun?: boolean;
  /** Run even while another run holds the lock. */
  force?: boolean;
}

export type WarmOutcome =
  | {
      status: 'started';
      runId: string;
      keysPlanned: number;
      messages: number;
      /** Keys skipped because their cached value is still fresh (scheduled TTL-aware runs). */
      keysFresh: number;
      /** Keys that could not be queued; they are counted failed in the run record. */
      keysUnsent: number;
    }
  | { status: 'skipped'; reason: string; runInFlight: string }
  | {
      status: 'planned';
      keysPlanned: number;
      keysFresh: number;
      messages: number;
      sqsRequests: number;
      estimatedCostUsd: number;
      /** The first keys of the plan, highest weight first. */
      sampleKeys: string[];
    };

export interface WarmFanOutDependencies {
  providers: { configured: KeyProvider<string>; adaptive?: KeyProvider<string> };
  runStore: RunStore;
  /** Sends to the warm queue. */
  sender: SqsSender;
  /** Asked for remaining TTLs on scheduled runs when `ttlSeconds` is set. */
  cache?: Pick<CacheStore<string, unknown>, 'remainingTtl'>;
  config: WarmingConfig;
  /** The warm queue's MaximumMessageSize. */
  maxMessageBytes: number;
  /** Messages the consumer's event source takes per invocation, for the cost estimate. */
  consumerBatchSize: number;
  newRunId?: () => string;
  log?: (message: string, details: Record<string, unknown>) => void;
}

const SAMPLE_KEYS = 20;

/**
 * The warm fan-out: gathers the keys to warm, packs them into queue messages, records the run and
 * sends the messages. Every planned key either reaches the queue or is counted failed in the run.
 *
 * @example
 * const outcome = await fanOut.warm({ trigger: 'console', keys: ['product:1', 'product:2'] });
 */
export class WarmFanOut {
  readonly #deps: WarmFanOutDependencies;

  public constructor(deps: WarmFanOutDependencies) {
    this.#deps = deps;
  }

  public async warm(request: WarmRequest): Promise<WarmOutcome> {
    const { config, sender, runStore } = this.#deps;
    const { keys, keysFresh } = await this.#planKeys(request);
    const runId = (this.#deps.newRunId ?? randomUUID)();
    const messages = packKeysIntoMessages(runId, keys, {
      maxKeysPerMessage: config.batchSize,
      maxMessageBytes: this.#deps.maxMessageBytes,
    });

    if (request.dryRun) {
      const batches = sender.planBatches(messages.map((message) => ({ body: JSON.stringify(message) })));
      return {
        status: 'planned',
        keysPlanned: keys.length,
        keysFresh,
        messages: messages.length,
        sqsRequests: batches.length,
        estimatedCostUsd: estimateFanOutCostUsd({
          sendRequestBytes: batches.map((batch) =>
            batch.reduce((bytes, message) => bytes + Buffer.byteLength(message.body), 0),
          ),
          messages: messages.length,
          consumerBatchSize: this.#deps.consumerBatchSize,
        }),
        sampleKeys: keys.slice(0, SAMPLE_KEYS),
      };
    }

    const lock = await runStore.acquireRunLock(
      runId,
      Math.max(config.warmupTimeoutSeconds, config.refreshIntervalSeconds),
    );
    if (!lock.acquired && !request.force) {
      const reason = `run ${lock.heldBy} is still in flight; pass "force": true to run anyway`;
      this.#deps.log?.('warm skipped', { trigger: request.trigger, runInFlight: lock.heldBy });
      return { status: 'skipped', reason, runInFlight: lock.heldBy };
    }

    try {
      await runStore.createRun({
        runId,
        trigger: request.trigger,
        strategy: request.provider === 'adaptive' ? 'ADAPTIVE' : config.strategy,
        keysPlanned: keys.length,
        messages: messages.length,
      });
    } catch (error) {
      // A lock naming a run that does not exist would skip every warm until it expired.
      if (lock.acquired) await this.#releaseLock(runId);
      throw error;
    }
    const keysUnsent = await this.#send(runId, messages);
    if (messages.length === 0)
      await runStore.recordProgress(runId, `${runId}/empty`, { warmed: 0, failed: 0, skipped: 0 });
    return {
      status: 'started',
      runId,
      keysPlanned: keys.length,
      messages: messages.length,
      keysFresh,
      keysUnsent,
    };
  }

  /** Releases the run lock; a failure is logged, so it never hides the error that led here. */
  async #releaseLock(runId: string): Promise<void> {
    try {
      await this.#deps.runStore.releaseRunLock(runId);
    } catch (error) {
      this.#deps.log?.('run lock not released; it expires on its own', {
        runId,
        error: describeError(error),
      });
    }
  }

  async #planKeys(request: WarmRequest): Promise<{ keys: string[]; keysFresh: number }> {
    const { providers, config, cache } = this.#deps;
    let source: KeySource<KeyCandidate<string>>;
    if (request.keys) source = request.keys;
    else if (request.provider === 'adaptive') {
      if (!providers.adaptive) {
        throw new ConfigurationError(
          'providers.adaptive',
          'is not configured: the adaptive provider reads the hot keys of an access tracker',
        );
      }
      source = await providers.adaptive.getKeys();
    } else source = await providers.configured.getKeys();

    const weighted = await collectWeightedKeys(source);
    const limit = request.limit ?? (config.maxKeysPerRun > 0 ? config.maxKeysPerRun : undefined);
    let keys = validateKeys(weighted.slice(0, limit).map(({ key }) => key));
    let keysFresh = 0;
    if (request.trigger === 'schedule' && config.ttlSeconds > 0 && cache?.remainingTtl) {
      const { due, fresh } = await findKeysDueForRefresh(
        cache,
        keys,
        config.ttlSeconds,
        config.refreshAheadRatio,
      );
      keys = due;
      keysFresh = fresh.size;
    }
    return { keys, keysFresh };
  }

  /**
   * Sends the messages; keys that cannot be queued are counted failed in the run, never dropped. SQS
   * refuses a whole message for one key's content, so the keys of a refused message are sent again one
   * per message: only the key SQS cannot take fails.
   */
  async #send(runId: string, messages: WarmMessage[]): Promise<number> {
    const refused = await this.#sendMessages(messages);
    const single = refused.filter(({ message }) => message.keys.length === 1);
    const split = refused
      .filter(({ message }) => message.keys.length > 1)
      .flatMap(({ message }) =>
        message.keys.map((key, index) => ({ ...message, id: `${message.id}.${index}`, keys: [key] })),
      );
    const unsent = [...single, ...(await this.#sendMessages(split))];
    for (const { message, reason } of unsent) {
      this.#deps.log?.('keys could not be queued', { runId, keys: message.keys, reason });
      await this.#deps.runStore.recordProgress(runId, message.id, {
        warmed: 0,
        failed: message.keys.length,
        skipped: 0,
      });
    }
    return unsent.reduce((keys, { message }) => keys + message.keys.length, 0);
  }

  /** The messages SQS did not take, with why. */
  async #sendMessages(messages: WarmMessage[]): Promise<{ message: WarmMessage; reason: string }[]> {
    const outgoing: OutgoingMessage[] = messages.map((message) => ({ body: JSON.stringify(message) }));
    try {
      await this.#deps.sender.send(outgoing);
      return [];
    } catch (error) {
      if (!(error instanceof UnsentMessagesError)) throw error;
      const messageOf = new Map(outgoing.map((body, index) => [body, messages[index] as WarmMessage]));
      return error.unsent.map(({ message, reason }) => ({
        message: messageOf.get(message) as WarmMessage,
        reason,
      }));
    }
  }
}
