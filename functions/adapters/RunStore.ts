/** Where a run came from. */
export type RunTrigger = 'schedule' | 'console' | 'cli' | 'deploy' | 'local' | 'redrive';

/** `running` until every planned key is accounted for (`finished`) or the run is cancelled. */
export type RunStatus = 'running' | 'finished' | 'cancelled';

/** Keys of a run skipped for one reason: how many, and a few of them (at most `SKIPPED_SAMPLE_KEYS`). */
export interface SkippedReason {
  reason: string;
  count: number;
  sample: string[];
}

/** Keys a run record keeps as the sample of one skip reason, however many keys it skipped. */
export const SKIPPED_SAMPLE_KEYS = 10;

/** A warm run as the run table keeps it. Counts are exact: each message is counted once. */
export interface RunRecord {
  runId: string;
  trigger: RunTrigger;
  strategy: string;
  keysPlanned: number;
  messages: number;
  keysWarmed: number;
  keysFailed: number;
  keysSkipped: number;
  /** The skipped keys by reason, most frequent first; the counts add up to `keysSkipped`. */
  skippedReasons: SkippedReason[];
  status: RunStatus;
  /** ISO 8601. */
  startedAt: string;
  /** ISO 8601, once the run is finished or cancelled. */
  endedAt?: string;
  /** True while the fan-out is still planning: keysPlanned and messages only grow until it is false. */
  planning: boolean;
}

/** One step of a run's plan: the messages sent since the previous step. */
export interface PlanStep {
  /** The run's message count before this step; the step adds messages messagesBefore … messagesBefore + messages − 1. */
  messagesBefore: number;
  messages: number;
  /** Keys in those messages. */
  keysPlanned: number;
  /**
   * Keys refused before packing (for example keys SQS cannot carry): they add to the run's
   * `keysPlanned` and are counted skipped under their reason at once. Send them with a step that has
   * messages, or with the complete step: a repeat of a step without messages cannot be recognized.
   */
  rejected?: readonly { reason: string; keys: readonly string[] }[];
  /** Opaque position of the fan-out's sources after this step (JSON text), read back by a continuation. */
  checkpoint?: string;
  /** True for the last step: planning is over. */
  complete: boolean;
}

/** Where a run's plan stands: what a continuation reads to carry on. */
export interface PlanState {
  messages: number;
  keysPlanned: number;
  checkpoint?: string;
  complete: boolean;
  /** Continuation segments started so far (see `startPlanSegment`). */
  segment: number;
}

/** What one consumed message contributes to its run. */
export interface MessageProgress {
  warmed: number;
  failed: number;
  skipped: number;
  /**
   * Keys of this message handed on to a later message (a re-enqueued remainder), which counts them
   * when it is consumed. Default 0.
   */
  requeued?: number;
  /** Why each skipped key was skipped (key → reason). Skipped keys missing here count under an unrecorded reason. */
  skippedKeys?: ReadonlyMap<string, string>;
}

/** A run as its creator describes it. */
export type NewRun = Pick<RunRecord, 'runId' | 'trigger' | 'strategy' | 'keysPlanned' | 'messages'> & {
  /**
   * True for a run planned in steps (`recordPlanStep`) while its messages are sent; default false:
   * the run is planned whole at creation.
   */
  planning?: boolean;
};

/**
 * The run records: created by the warm fan-out, counted by the consumers, read and cancelled by
 * control. `DynamoRunStore` keeps them in DynamoDB; tests may use any implementation.
 */
export interface RunStore {
  createRun(run: NewRun): Promise<RunRecord>;
  /** The run with every message counted so far; undefined when there is no such run. */
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Newest first. */
  listRuns(limit: number): Promise<RunRecord[]>;
  /**
   * Adds one message's counts to its run, atomically and once per `messageId` (a redelivered message
   * is not counted again). Message ids are `<runId>/<n>` for the run's messages 0 … messages − 1, and
   * `<runId>/<n>.<attempt>…` for their re-enqueued remainders. The update that accounts for the last
   * of the run's keys marks the run finished, releases the run lock and returns the finished `run`;
   * other updates return no `run`, so that counting never reads the whole run.
   */
  recordProgress(
    runId: string,
    messageId: string,
    progress: MessageProgress,
  ): Promise<{ counted: boolean; run: RunRecord | undefined }>;
  /**
   * Adds a step to a planning run, atomically and once: applied only when the run is still planning
   * and its message count is still `messagesBefore` (so a retried or duplicate step changes nothing
   * and returns applied false). The fan-out records a step BEFORE sending its messages, so a consumer
   * never counts a message the run does not know. A run never finishes while planning; the step with
   * `complete: true` finishes it when every planned key is already counted, releasing the lock and
   * returning the finished `run`. Other steps return no `run`. Repeating a complete step that was
   * applied (say after a crash) gets applied false but still finishes a run left unfinished. A step
   * whose first attempt was applied but whose answer was lost also gets applied false on retry: a
   * caller tells that apart with `getPlan` (the plan's messages already include the step's).
   * @throws Error for an unknown run or a step whose counts are not whole numbers.
   */
  recordPlanStep(runId: string, step: PlanStep): Promise<{ applied: boolean; run: RunRecord | undefined }>;
  /** The plan of a run, undefined when there is no such run. */
  getPlan(runId: string): Promise<PlanState | undefined>;
  /**
   * Claims the next continuation segment: applied (true, and the run's segment becomes `segment + 1`)
   * only when the run's segment is still `segment`; a stale or duplicate continuation message, or an
   * unknown run, gets false and changes nothing.
   */
  startPlanSegment(runId: string, segment: number): Promise<boolean>;
  /** Marks a running run cancelled (and releases the lock); returns the record as it now is. */
  cancelRun(runId: string): Promise<RunRecord | undefined>;
  /** True when the run was cancelled; consumers check it before loading. */
  isCancelled(runId: string): Promise<boolean>;
  /**
   * Takes the single "a run is in flight" lock for `runId` unless another run holds an unexpired one
   * (a conditional write). Returns the holder when the lock is taken by someone else.
   */
  acquireRunLock(
    runId: string,
    ttlSeconds: number,
  ): Promise<{ acquired: true } | { acquired: false; heldBy: string }>;
  /** Releases the lock if `runId` holds it. */
  releaseRunLock(runId: string): Promise<void>;
}

/** Keys a step refused before packing. */
export const rejectedKeyCount = (step: PlanStep): number =>
  (step.rejected ?? []).reduce((total, { keys }) => total + keys.length, 0);

/**
 * What a step adds to its run's `keysPlanned`: the keys of its messages and the keys it refused.
 * @throws Error naming the field of a step whose counts are not whole numbers.
 */
export const plannedKeysOf = (step: PlanStep): number => {
  for (const field of ['messagesBefore', 'messages', 'keysPlanned'] as const) {
    const count = step[field];
    if (!Number.isInteger(count) || count < 0) {
      throw new Error(`plan step ${field} must be a whole number, not ${count}`);
    }
  }
  return step.keysPlanned + rejectedKeyCount(step);
};
