import type { MessageProgress, RunRecord, RunStore } from '../../functions/adapters/RunStore';
import { mergeSkippedReasons, summarizeSkippedKeys } from '../../functions/adapters/skippedReasons';

/** RunStore semantics in memory, for unit tests of the code that uses a run store. */
export class InMemoryRunStore implements RunStore {
  public readonly runs = new Map<string, RunRecord>();
  public readonly countedMessages = new Set<string>();
  public lock: { runId: string; expiresAt: number } | undefined;
  public failNextProgress: Error | undefined;
  public failNextCreate: Error | undefined;

  public async createRun(
    run: Pick<RunRecord, 'runId' | 'trigger' | 'strategy' | 'keysPlanned' | 'messages'>,
  ) {
    if (this.failNextCreate) {
      const error = this.failNextCreate;
      this.failNextCreate = undefined;
      throw error;
    }
    const record: RunRecord = {
      ...run,
      keysWarmed: 0,
      keysFailed: 0,
      keysSkipped: 0,
      skippedReasons: [],
      status: 'running',
      startedAt: new Date().toISOString(),
    };
    this.runs.set(run.runId, record);
    return { ...record };
  }

  public async getRun(runId: string) {
    const run = this.runs.get(runId);
    return run && { ...run };
  }

  public async listRuns(limit: number) {
    return [...this.runs.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt)).slice(0, limit);
  }

  public async recordProgress(runId: string, messageId: string, progress: MessageProgress) {
    if (this.failNextProgress) {
      const error = this.failNextProgress;
      this.failNextProgress = undefined;
      throw error;
    }
    const run = this.runs.get(runId);
    if (!run || this.countedMessages.has(messageId)) return { counted: false, run: undefined };
    this.countedMessages.add(messageId);
    run.keysWarmed += progress.warmed;
    run.keysFailed += progress.failed;
    run.keysSkipped += progress.skipped;
    run.skippedReasons = mergeSkippedReasons([run.skippedReasons, summarizeSkippedKeys(progress)]);
    if (run.status === 'running' && run.keysWarmed + run.keysFailed + run.keysSkipped >= run.keysPlanned) {
      run.status = 'finished';
      run.endedAt = new Date().toISOString();
      await this.releaseRunLock(runId);
      return { counted: true, run: { ...run } };
    }
    return { counted: true, run: undefined };
  }

  /** Counts skipped keys under their reason, with the bounded sample run stores keep. */
  public recordSkipped(runId: string, reason: string, keys: readonly string[]): void {
    const run = this.runs.get(runId);
    if (!run) return;
    run.skippedReasons = mergeSkippedReasons([
      run.skippedReasons,
      [{ reason, count: keys.length, sample: [...keys] }],
    ]);
  }

  public async cancelRun(runId: string) {
    const run = this.runs.get(runId);
    if (run?.status === 'running') {
      run.status = 'cancelled';
      run.endedAt = new Date().toISOString();
      await this.releaseRunLock(runId);
    }
    return run && { ...run };
  }

  public async isCancelled(runId: string) {
    return this.runs.get(runId)?.status === 'cancelled';
  }

  public async acquireRunLock(runId: string, ttlSeconds: number) {
    if (this.lock && this.lock.expiresAt > Date.now() && this.lock.runId !== runId) {
      return { acquired: false as const, heldBy: this.lock.runId };
    }
    this.lock = { runId, expiresAt: Date.now() + ttlSeconds * 1000 };
    return { acquired: true as const };
  }

  public async releaseRunLock(runId: string) {
    if (this.lock?.runId === runId) this.lock = undefined;
  }
}
