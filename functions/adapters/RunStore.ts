/** Where a run came from. */
export type RunTrigger = 'schedule' | 'console' | 'cli' | 'deploy' | 'local' | 'redrive';

/** `running` until every planned key is accounted for (`finished`) or the run is cancelled. */
export type RunStatus = 'running' | 'finished' | 'cancelled';

/** Why some of a run's keys were skipped: how many, and a bounded sample of them. */
export interface SkippedReason {
  reason: string;
  count: number;
  /** At most 10 of the keys, so a run of millions of keys stays a small record. */
  sample: string[];
}

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
  status: RunStatus;
  /** ISO 8601. */
  startedAt: string;
  /** ISO 8601, once the run is finished or cancelled. */
  endedAt?: string;
  /** The skipped keys by reason, where the store keeps them. */
  skippedReasons?: SkippedReason[];
}

/** What one consumed message contributes to its run. */
export interface MessageProgress {
  warmed: number;
  failed: number;
  skipped: number;
}

/**
 * The run records: created by the warm fan-out, counted by the consumers, read and cancelled by
 * control. `DynamoRunStore` keeps them in DynamoDB; tests may use any implementation.
 */
export interface RunStore {
  createRun(
    run: Pick<RunRecord, 'runId' | 'trigger' | 'strategy' | 'keysPlanned' | 'messages'>,
  ): Promise<RunRecord>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Newest first. */
  listRuns(limit: number): Promise<RunRecord[]>;
  /**
   * Adds one message's counts to its run, atomically and once per `messageId` (a redelivered message
   * is not counted again). The update that brings warmed + failed + skipped to keysPlanned marks the
   * run finished and releases the run lock.
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
