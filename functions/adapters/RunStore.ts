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

/**
 * The run records: created by the warm fan-out, counted by the consumers, read and cancelled by
 * control. `DynamoRunStore` keeps them in DynamoDB; tests may use any implementation.
 */
export interface RunStore {
  createRun(
    run: Pick<RunRecord, 'runId' | 'trigger' | 'strategy' | 'keysPlanned' | 'messages'>,
  ): Promise<RunRecord>;
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
