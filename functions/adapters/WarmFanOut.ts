import { randomUUID } from 'node:crypto';
import {
  type CacheStore,
  CacheWarmersError,
  ConfigurationError,
  describeError,
  findKeysDueForRefresh,
  type KeyCandidate,
  type KeyProvider,
  type KeyReader,
  readKeysFrom,
  type SourcePosition,
  StaticKeyProvider,
  selectTopKeys,
  type WarmingConfig,
} from '../core';
import { estimateFanOutCostUsd } from './pricing';
import type { PlanStep, RunStore, RunTrigger } from './RunStore';
import { type OutgoingMessage, type SqsSender, UnsentMessagesError } from './SqsSender';
import { keyProblem, packKeysIntoMessages, validateKeys, type WarmMessage } from './warmMessage';
import * as z from './zod';

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
      /** Keys queued so far (all of them unless `continues`), plus the keys rejected. */
      keysPlanned: number;
      messages: number;
      /** Keys skipped because their cached value is still fresh (scheduled TTL-aware runs). */
      keysFresh: number;
      /** Keys that could not be queued; they are counted failed in the run record. */
      keysUnsent: number;
      /** Keys refused before queuing (too long, a character SQS cannot carry, …), counted skipped with the reason. */
      keysRejected: number;
      /** True when the run is still being planned by a later invocation of the warm function. */
      continues: boolean;
    }
  | { status: 'skipped'; reason: string; runInFlight: string }
  | {
      status: 'planned';
      keysPlanned: number;
      keysFresh: number;
      keysRejected: number;
      messages: number;
      sqsRequests: number;
      estimatedCostUsd: number;
      /** The first keys of the plan, highest weight first. */
      sampleKeys: string[];
    };

/** The body of a continuation message: carry on planning run `runId` as its segment `segment`. */
export const continuationMessageSchema = z.strictObject({
  runId: z.string().check(z.minLength(1)),
  segment: z.int().check(z.gte(0)),
});

export type ContinuationMessage = z.infer<typeof continuationMessageSchema>;

/** What a continuation message did. */
export type ContinuationOutcome =
  | {
      status: 'continued';
      runId: string;
      segment: number;
      keysPlanned: number;
      messages: number;
      continues: boolean;
    }
  /** The segment was already started by another message (a duplicate, or a watchdog that came late). */
  | { status: 'stale'; runId: string; segment: number };

/** Sends continuation messages to the queue that invokes the warm function again. */
export interface ContinuationSender {
  send(message: ContinuationMessage, delaySeconds: number): Promise<void>;
}

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
  /**
   * Continues a run past one invocation. Without it, a run is planned whole in the invocation that
   * starts it, however long that takes.
   */
  continuation?: ContinuationSender;
  /** Distinct keys one invocation remembers to drop repeats. Default {@link DEFAULT_REMEMBERED_KEYS}. */
  rememberKeys?: number;
  /** Ends an invocation's part of the plan after this many messages as well as after `fanOutSegmentSeconds`. */
  messagesPerSegment?: number;
  /** The clock segments are timed by, in milliseconds. Default `Date.now`. */
  now?: () => number;
  newRunId?: () => string;
  log?: (message: string, details: Record<string, unknown>) => void;
}

const SAMPLE_KEYS = 20;

/**
 * Distinct keys one invocation remembers to drop repeats: exact de-duplication up to this many keys
 * (about 12 MiB of 25-byte keys); later keys are queued without the check.
 */
export const DEFAULT_REMEMBERED_KEYS = 100_000;

/** Messages per plan step: the run records each step before its messages are sent. */
const STEP_MESSAGES = 100;

/** Steps whose messages are being sent at once (each with up to the sender's 8 requests in flight). */
const STEPS_IN_FLIGHT = 3;

/** Resumes of one segment that ended without a checkpoint before planning gives up. */
export const MAX_SEGMENT_ATTEMPTS = 3;

/** Seconds a watchdog continuation waits past the segment's budget: the warm function is surely over by then. */
const WATCHDOG_MARGIN_SECONDS = 120;

/** SQS's longest DelaySeconds. */
const MAX_DELAY_SECONDS = 900;

/** What to read, carried by the checkpoint so a continuation reads the same. */
const planSourceSchema = z.strictObject({
  provider: z.enum(['configured', 'adaptive']),
  ttlAware: z.boolean(),
});

type PlanSource = z.infer<typeof planSourceSchema>;

/**
 * The fan-out's checkpoint, stored in each plan step. `position` is where the next segment reads
 * from once every message so far was sent (`sent`); a segment that ended before that (killed,
 * timed out) is replayed from `segmentStart` instead, with the same message ids, so a message it
 * already sent is counted once.
 */
const checkpointSchema = z.strictObject({
  v: z.literal(1),
  source: planSourceSchema,
  position: z.optional(z.json()),
  sent: z.boolean(),
  segmentStart: z.strictObject({
    position: z.optional(z.json()),
    messages: z.int().check(z.gte(0)),
    /** Keys queued (in messages) before the segment. */
    keysQueued: z.int().check(z.gte(0)),
  }),
  /** Keys queued (in messages) up to this step. */
  keysQueued: z.int().check(z.gte(0)),
  /** Segments started from `segmentStart` that did not reach their end. */
  attempts: z.int().check(z.gte(0)),
  /**
   * The steps whose sends had not settled, by first message and the key count of each message: a
   * watchdog that gives the run up counts these messages failed.
   */
  unsettled: z.optional(
    z.array(z.strictObject({ first: z.int().check(z.gte(0)), keys: z.array(z.int().check(z.gte(0))) })),
  ),
  /**
   * Set for a run planned in one invocation (a payload's keys, a limit), which cannot resume: its
   * watchdog ends it instead. `keysLeft`: keys in hand not yet queued.
   */
  unresumable: z.optional(z.strictObject({ keysLeft: z.int().check(z.gte(0)) })),
});

type Checkpoint = z.infer<typeof checkpointSchema>;
type Unsettled = NonNullable<Checkpoint['unsettled']>;

const keysIn = (unsettled: Unsettled): number =>
  unsettled.reduce((total, { keys }) => total + keys.reduce((sum, n) => sum + n, 0), 0);

/** A run's checkpoint could not be read back: it was written by another version, or altered. */
export class CheckpointError extends CacheWarmersError {
  public constructor(runId: string, reason: string) {
    super(`run ${runId}: its plan checkpoint cannot be read (${reason})`);
    this.name = 'CheckpointError';
  }
}

/** Where a segment starts: from where, with how many messages and keys already in the plan. */
interface SegmentStart {
  runId: string;
  source: PlanSource;
  /** The provider to read, or undefined for the payload's keys. */
  provider: KeyProvider<string>;
  position: SourcePosition | undefined;
  messages: number;
  keysQueued: number;
  /** Messages already recorded that this segment sends again (a replay of a segment that did not finish). */
  replayUntil: number;
  attempts: number;
  limit: number | undefined;
  /** The continuation segment this is; its watchdog continues the run as this segment. */
  segment: number;
  /** False for a run planned in one invocation: it does not hand over, and its watchdog ends it. */
  resumable: boolean;
  /** The payload's key count, for a run of a payload's keys. */
  keysGiven?: number;
}

/** What one segment planned: the figures of a started outcome. */
type SegmentResult = Omit<Extract<WarmOutcome, { status: 'started' }>, 'status' | 'runId'>;

/** Keys gathered for one plan step. */
interface StepKeys {
  keys: string[];
  rejected: Map<string, string[]>;
  rejectedCount: number;
}

const newStepKeys = (): StepKeys => ({ keys: [], rejected: new Map(), rejectedCount: 0 });

/**
 * The warm fan-out: streams the keys to warm from their source, packs them into queue messages and
 * sends them as they arrive, recording the run's plan step by step (each step before its messages are
 * sent). Memory stays bounded whatever the run's size: a step of keys, a bounded set of keys seen, and
 * with a limit the top `limit` keys. A run too long for one invocation checkpoints its source's
 * position and continues in the next (see `continueRun`). Every planned key either reaches the queue
 * or is counted in the run: failed when SQS would not take it, skipped with the reason when it was
 * refused before packing.
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
    const { config, runStore } = this.#deps;
    // A payload's keys are few and typed by a person: one bad key refuses the request, naming it.
    const payloadProvider = request.keys && new StaticKeyProvider(validateKeys(request.keys));
    const source: PlanSource = {
      provider: request.provider ?? 'configured',
      ttlAware: request.trigger === 'schedule' && config.ttlSeconds > 0 && this.#deps.cache !== undefined,
    };
    const provider = payloadProvider ?? this.#provider(source.provider);
    const limit = request.limit ?? (config.maxKeysPerRun > 0 ? config.maxKeysPerRun : undefined);
    if (request.dryRun) return this.#dryRun(provider, source, limit);

    const runId = (this.#deps.newRunId ?? randomUUID)();
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
        keysPlanned: 0,
        messages: 0,
        planning: true,
      });
    } catch (error) {
      // A lock naming a run that does not exist would skip every warm until it expired.
      if (lock.acquired) await this.#releaseLock(runId);
      throw error;
    }
    const result = await this.#runSegment({
      runId,
      source,
      provider,
      position: undefined,
      messages: 0,
      keysQueued: 0,
      replayUntil: 0,
      attempts: 0,
      limit,
      segment: 0,
      // A payload's keys and a limited run's top keys are held in memory only: neither can be resumed.
      resumable: !payloadProvider && limit === undefined,
      keysGiven: request.keys?.length,
    });
    return { status: 'started', runId, ...result };
  }

  /**
   * Carries on planning a run from its checkpoint, for a continuation message. A stale or duplicate
   * message does nothing. A segment that ended without a checkpoint (the function was killed) is
   * replayed; after {@link MAX_SEGMENT_ATTEMPTS} such attempts planning ends with what was queued,
   * the keys the last segment may not have sent counted failed, so the run finishes and its lock is
   * released. A run planned in one invocation that was killed is ended the same way at once, its keys
   * not yet queued counted planned and failed.
   */
  public async continueRun(message: ContinuationMessage): Promise<ContinuationOutcome> {
    const { runStore } = this.#deps;
    const { runId, segment } = message;
    if (!(await runStore.startPlanSegment(runId, segment))) return { status: 'stale', runId, segment };
    const plan = await runStore.getPlan(runId);
    if (!plan || plan.complete) return { status: 'stale', runId, segment };
    const ended = {
      status: 'continued',
      runId,
      segment,
      keysPlanned: 0,
      messages: 0,
      continues: false,
    } as const;
    if (plan.checkpoint === undefined && plan.messages === 0) {
      // Killed before its first step: nothing was queued, and what would have been is not known.
      this.#deps.log?.('run ended: its warm function stopped before queuing any key', { runId });
      await runStore.recordPlanStep(runId, {
        messagesBefore: 0,
        messages: 0,
        keysPlanned: 0,
        complete: true,
      });
      return ended;
    }
    const checkpoint = parseCheckpoint(runId, plan.checkpoint);
    if (checkpoint.unresumable) {
      await this.#endUnresumable(runId, plan.messages, checkpoint.unsettled ?? [], checkpoint.unresumable);
      return ended;
    }
    const provider = this.#provider(checkpoint.source.provider);
    let start: SegmentStart;
    if (checkpoint.sent) {
      start = {
        runId,
        source: checkpoint.source,
        provider,
        position: checkpoint.position,
        messages: plan.messages,
        keysQueued: checkpoint.keysQueued,
        replayUntil: plan.messages,
        attempts: 0,
        limit: undefined,
        segment: segment + 1,
        resumable: true,
      };
    } else {
      const attempts = checkpoint.attempts + 1;
      if (attempts > MAX_SEGMENT_ATTEMPTS) {
        await this.#abandonPlan(runId, plan.messages, checkpoint);
        return ended;
      }
      // Counted before the replay, so a replay killed at the same place still ends planning.
      const counted = await runStore.recordPlanStep(runId, {
        messagesBefore: plan.messages,
        messages: 0,
        keysPlanned: 0,
        checkpoint: JSON.stringify({ ...checkpoint, attempts }),
        complete: false,
      });
      if (!counted.applied) return { status: 'stale', runId, segment };
      this.#deps.log?.('replaying a plan segment that did not finish', { runId, segment, attempts });
      start = {
        runId,
        source: checkpoint.source,
        provider,
        position: checkpoint.segmentStart.position,
        messages: checkpoint.segmentStart.messages,
        keysQueued: checkpoint.segmentStart.keysQueued,
        replayUntil: plan.messages,
        attempts,
        limit: undefined,
        segment: segment + 1,
        resumable: true,
      };
    }
    const result = await this.#runSegment(start);
    return {
      status: 'continued',
      runId,
      segment,
      keysPlanned: result.keysPlanned,
      messages: result.messages,
      continues: result.continues,
    };
  }

  #provider(name: PlanSource['provider']): KeyProvider<string> {
    const { providers } = this.#deps;
    if (name === 'configured') return providers.configured;
    if (!providers.adaptive) {
      throw new ConfigurationError(
        'providers.adaptive',
        'is not configured: the adaptive provider reads the hot keys of an access tracker',
      );
    }
    return providers.adaptive;
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

  /**
   * Ends planning after a segment failed too often: the keys of its messages may or may not have
   * reached the queue, so they are counted failed (a message that did arrive is then not counted again).
   */
  async #abandonPlan(runId: string, messages: number, checkpoint: Checkpoint): Promise<void> {
    const unsettled = checkpoint.unsettled ?? [];
    this.#deps.log?.('planning abandoned after repeated failures; unconfirmed keys counted failed', {
      runId,
      attempts: checkpoint.attempts,
      keysUnconfirmed: keysIn(unsettled),
    });
    const step = await this.#deps.runStore.recordPlanStep(runId, {
      messagesBefore: messages,
      messages: 0,
      keysPlanned: 0,
      checkpoint: JSON.stringify(checkpoint),
      complete: true,
    });
    if (step.applied) await this.#countUnsettledFailed(runId, unsettled);
  }

  /**
   * Ends a run planned in one invocation whose warm function was killed. The keys it held but never
   * queued join the plan as one more message, never sent, counted failed.
   */
  async #endUnresumable(
    runId: string,
    messages: number,
    unsettled: Unsettled,
    { keysLeft }: NonNullable<Checkpoint['unresumable']>,
  ): Promise<void> {
    const { runStore } = this.#deps;
    this.#deps.log?.('run ended: its warm function was killed; keys it may not have queued counted failed', {
      runId,
      keysUnconfirmed: keysIn(unsettled),
      keysNeverQueued: keysLeft,
    });
    await this.#countUnsettledFailed(runId, unsettled);
    const neverQueued = keysLeft > 0 ? 1 : 0;
    await runStore.recordPlanStep(runId, {
      messagesBefore: messages,
      messages: neverQueued,
      keysPlanned: keysLeft,
      complete: true,
    });
    if (neverQueued > 0)
      await runStore.recordProgress(runId, `${runId}/${messages}`, {
        warmed: 0,
        failed: keysLeft,
        skipped: 0,
      });
  }

  /**
   * Counts each message whose send had not settled failed under its own id, so a message that did
   * reach the queue is counted once, by whichever comes first, and the run's message count closes.
   */
  async #countUnsettledFailed(runId: string, unsettled: Unsettled): Promise<void> {
    for (const { first, keys } of unsettled) {
      for (const [index, failed] of keys.entries())
        await this.#deps.runStore.recordProgress(runId, `${runId}/${first + index}`, {
          warmed: 0,
          failed,
          skipped: 0,
        });
    }
  }

  /**
   * Reads the plan's keys in steps: each step's keys validated one by one (a bad key is rejected with
   * its reason), repeats dropped, TTL-fresh keys left out, and the rest packed. Yields each step with
   * the source's position after its keys and the keys held in memory not yet yielded (`keysLeft`: a
   * limit's top keys, or the rest of `keysGiven`).
   */
  async *#steps(
    reader: KeyReader<string>,
    source: PlanSource,
    limit: number | undefined,
    keysGiven = 0,
  ): AsyncGenerator<
    StepKeys & { keysFresh: number; done: boolean; position: SourcePosition; keysLeft: number }
  > {
    const stepKeys = STEP_MESSAGES * this.#deps.config.batchSize;
    const rememberAtMost = this.#deps.rememberKeys ?? DEFAULT_REMEMBERED_KEYS;
    // The first keys read (the heaviest sources come first) are remembered; later ones pass unchecked.
    const seen = new Set<string>();
    let step = newStepKeys();
    const reject = (key: unknown, reason: string) => {
      const shown = typeof key === 'string' ? key : String(key);
      const keys = step.rejected.get(reason);
      if (keys) keys.push(shown);
      else step.rejected.set(reason, [shown]);
      step.rejectedCount++;
    };
    const accept = (candidate: KeyCandidate<string>): boolean => {
      const weighted = typeof candidate === 'object' && candidate !== null;
      const key: unknown = weighted ? candidate.key : candidate;
      const problem =
        keyProblem(key) ??
        (weighted && !Number.isFinite(candidate.weight)
          ? `weight ${candidate.weight} is not a finite number`
          : undefined);
      if (problem !== undefined) reject(key, problem);
      return problem === undefined;
    };
    const finish = async (done: boolean, keysLeft: number) => {
      const finished = step;
      step = newStepKeys();
      const { due, fresh } = source.ttlAware
        ? await findKeysDueForRefresh(
            this.#deps.cache as Pick<CacheStore<string, unknown>, 'remainingTtl'>,
            finished.keys,
            this.#deps.config.ttlSeconds,
            this.#deps.config.refreshAheadRatio,
          )
        : { due: finished.keys, fresh: new Map() };
      return { ...finished, keys: due, keysFresh: fresh.size, done, position: reader.position(), keysLeft };
    };

    if (limit !== undefined) {
      const candidates = async function* () {
        for await (const candidate of reader) if (accept(candidate)) yield candidate;
      };
      const top = (await selectTopKeys(candidates(), limit)).map(({ key }) => key);
      // Stepped like any run, so a killed run's watchdog counts only the last steps' keys unconfirmed.
      let from = 0;
      do {
        step.keys = top.slice(from, from + stepKeys);
        from += stepKeys;
        yield await finish(from >= top.length, Math.max(0, top.length - from));
      } while (from < top.length);
      return;
    }

    let keysRead = 0;
    for await (const candidate of reader) {
      keysRead++;
      if (accept(candidate)) {
        const key = typeof candidate === 'string' ? candidate : candidate.key;
        if (!seen.has(key)) {
          if (seen.size < rememberAtMost) seen.add(key);
          step.keys.push(key);
        }
      }
      if (step.keys.length + step.rejectedCount >= stepKeys)
        yield await finish(false, Math.max(0, keysGiven - keysRead));
    }
    yield await finish(true, 0);
  }

  async #runSegment(start: SegmentStart): Promise<SegmentResult> {
    const { runStore, config, continuation } = this.#deps;
    const { runId } = start;
    const now = this.#deps.now ?? Date.now;
    const startedAt = now();
    const continuable = continuation !== undefined && start.resumable;
    const watchdogDelay = Math.min(MAX_DELAY_SECONDS, config.fanOutSegmentSeconds + WATCHDOG_MARGIN_SECONDS);
    // Every run gets a watchdog: a killed segment is resumed, a killed one-invocation run is ended.
    if (continuation) await continuation.send({ runId, segment: start.segment }, watchdogDelay);

    const result: SegmentResult = {
      keysPlanned: 0,
      messages: 0,
      keysFresh: 0,
      keysUnsent: 0,
      keysRejected: 0,
      continues: false,
    };
    let messages = start.messages;
    let keysQueued = start.keysQueued;
    // The messages of steps whose sends have not settled, for the checkpoint.
    const unsettled = new Set<{ first: number; keys: number[] }>();
    const segmentStart = { position: start.position, messages: start.messages, keysQueued: start.keysQueued };
    const checkpointAt = (
      position: SourcePosition | undefined,
      sent: boolean,
      attempts: number,
      keysLeft = 0,
    ): string =>
      JSON.stringify({
        v: 1,
        source: start.source,
        position,
        sent,
        segmentStart,
        keysQueued,
        attempts,
        unsettled: [...unsettled],
        ...(start.resumable ? {} : { unresumable: { keysLeft } }),
      } satisfies Checkpoint);
    // The sends of a few steps overlap each other and the reading of the next step.
    const sending: Promise<void>[] = [];
    const allSent = () => Promise.all(sending.splice(0));
    const reader = readKeysFrom(start.provider, start.position);

    try {
      for await (const step of this.#steps(reader, start.source, start.limit, start.keysGiven)) {
        const packed = packKeysIntoMessages(runId, step.keys, {
          maxKeysPerMessage: config.batchSize,
          maxMessageBytes: this.#deps.maxMessageBytes,
          firstMessage: messages,
        });
        const messagesBefore = messages;
        messages += packed.length;
        keysQueued += step.keys.length;
        const overBudget =
          continuable &&
          !step.done &&
          (now() - startedAt >= config.fanOutSegmentSeconds * 1000 ||
            (this.#deps.messagesPerSegment !== undefined &&
              messages - start.messages >= this.#deps.messagesPerSegment));
        const { position } = step;
        // The plan is complete only once every message was sent, so a watchdog finding it incomplete knows the run died.
        const complete = step.done && packed.length === 0;
        if (complete) await allSent();
        const stepMessages = { first: messagesBefore, keys: packed.map((message) => message.keys.length) };
        if (packed.length > 0) unsettled.add(stepMessages);
        const planStep: PlanStep = {
          messagesBefore,
          messages: packed.length,
          keysPlanned: step.keys.length,
          rejected: [...step.rejected].map(([reason, keys]) => ({ reason, keys })),
          checkpoint: checkpointAt(position, false, start.attempts, step.keysLeft),
          complete,
        };
        const recorded = await runStore.recordPlanStep(runId, planStep);
        if (!recorded.applied && messagesBefore >= start.replayUntil) {
          // Another invocation carries this run on (a watchdog came while this one was slow): leave it to it.
          this.#deps.log?.('plan step already recorded by another invocation; stopping', {
            runId,
            messagesBefore,
          });
          await allSent();
          return result;
        }
        if (recorded.applied) {
          result.keysPlanned += step.keys.length + step.rejectedCount;
          result.keysRejected += step.rejectedCount;
          result.keysFresh += step.keysFresh;
        }
        result.messages += packed.length;
        if (step.rejectedCount > 0) {
          this.#deps.log?.('keys rejected before queuing', {
            runId,
            rejected: planStep.rejected?.map(({ reason, keys }) => ({
              reason,
              keys: keys.length,
              first: keys[0],
            })),
          });
        }
        if (sending.length >= STEPS_IN_FLIGHT) await sending.shift();
        sending.push(
          this.#send(runId, packed).then((unsent) => {
            result.keysUnsent += unsent;
            unsettled.delete(stepMessages);
          }),
        );
        if (step.done) {
          await allSent();
          if (!complete)
            await runStore.recordPlanStep(runId, {
              messagesBefore: messages,
              messages: 0,
              keysPlanned: 0,
              checkpoint: checkpointAt(position, true, start.attempts),
              complete: true,
            });
          return result;
        }
        if (overBudget) {
          await allSent();
          const handover = await runStore.recordPlanStep(runId, {
            messagesBefore: messages,
            messages: 0,
            keysPlanned: 0,
            checkpoint: checkpointAt(position, true, 0),
            complete: false,
          });
          if (handover.applied) await continuation.send({ runId, segment: start.segment }, 0);
          result.continues = true;
          return result;
        }
      }
      return result;
    } finally {
      // A send still in flight when reading failed settles first; its outcome is in the run, not an unhandled rejection.
      await Promise.allSettled(sending);
    }
  }

  async #dryRun(
    provider: KeyProvider<string>,
    source: PlanSource,
    limit: number | undefined,
  ): Promise<WarmOutcome> {
    const { sender, config } = this.#deps;
    const plan = {
      keysPlanned: 0,
      keysFresh: 0,
      keysRejected: 0,
      messages: 0,
      sendRequestBytes: [] as number[],
      sampleKeys: [] as string[],
    };
    for await (const step of this.#steps(readKeysFrom(provider), source, limit)) {
      const packed = packKeysIntoMessages('dry-run', step.keys, {
        maxKeysPerMessage: config.batchSize,
        maxMessageBytes: this.#deps.maxMessageBytes,
        firstMessage: plan.messages,
      });
      plan.keysPlanned += step.keys.length + step.rejectedCount;
      plan.keysFresh += step.keysFresh;
      plan.keysRejected += step.rejectedCount;
      plan.messages += packed.length;
      for (const batch of sender.planBatches(packed.map((message) => ({ body: JSON.stringify(message) }))))
        plan.sendRequestBytes.push(
          batch.reduce((bytes, message) => bytes + Buffer.byteLength(message.body), 0),
        );
      if (plan.sampleKeys.length < SAMPLE_KEYS)
        plan.sampleKeys.push(...step.keys.slice(0, SAMPLE_KEYS - plan.sampleKeys.length));
    }
    return {
      status: 'planned',
      keysPlanned: plan.keysPlanned,
      keysFresh: plan.keysFresh,
      keysRejected: plan.keysRejected,
      messages: plan.messages,
      sqsRequests: plan.sendRequestBytes.length,
      estimatedCostUsd: estimateFanOutCostUsd({
        sendRequestBytes: plan.sendRequestBytes,
        messages: plan.messages,
        consumerBatchSize: this.#deps.consumerBatchSize,
      }),
      sampleKeys: plan.sampleKeys,
    };
  }

  /**
   * Sends the messages; keys that cannot be queued are counted failed in the run, never dropped. SQS
   * refuses a whole message for one key's content, so the keys of a refused message are sent again one
   * per message: only the key SQS cannot take fails.
   */
  async #send(runId: string, messages: WarmMessage[]): Promise<number> {
    if (messages.length === 0) return 0;
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
    if (messages.length === 0) return [];
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

const parseCheckpoint = (runId: string, text: string | undefined): Checkpoint => {
  if (text === undefined) throw new CheckpointError(runId, 'the run has none');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CheckpointError(runId, 'not JSON');
  }
  const parsed = checkpointSchema.safeParse(json);
  if (!parsed.success) throw new CheckpointError(runId, z.describeIssues(parsed.error));
  return parsed.data;
};
