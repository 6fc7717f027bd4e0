import {
  type MessageProgress,
  type NewRun,
  type PlanState,
  type PlanStep,
  plannedKeysOf,
  type RunRecord,
  type RunStore,
} from '../../functions/adapters/RunStore';
import { mergeSkippedReasons, summarizeSkippedKeys } from '../../functions/adapters/skippedReasons';

/** RunStore semantics in memory, for unit tests of the code that uses a run store. */
export class InMemoryRunStore implements RunStore {
  public readonly runs = new Map<string, RunRecord>();
  public readonly countedMessages = new Set<string>();
  /** The checkpoint and continuation segment of each planned run. */
  public readonly plans = new Map<string, Pick<PlanState, 'checkpoint' | 'segment'>>();
  public lock: { runId: string; expiresAt: number } | undefined;
  public failNextProgress: Error | undefined;
  public failNextCreate: Error | undefined;

  public async createRun({ planning = false, ...run }: NewRun) {
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
      planning,
    };
    this.runs.set(run.runId, record);
    this.plans.set(run.runId, { segment: 0 });
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
    return { counted: true, run: await this.#finishIfCounted(run) };
  }

  public async recordPlanStep(runId: string, step: PlanStep) {
    const keysPlanned = plannedKeysOf(step);
    const run = this.runs.get(runId);
    if (!run) throw new Error(`run ${runId} does not exist`);
    if (!run.planning || run.messages !== step.messagesBefore) {
      // A repeated complete step finishes a run that its first delivery left unfinished.
      const finished = !run.planning && step.complete ? await this.#finishIfCounted(run) : undefined;
      return { applied: false, run: finished };
    }
    run.messages += step.messages;
    run.keysPlanned += keysPlanned;
    for (const { reason, keys } of step.rejected ?? []) {
      run.keysSkipped += keys.length;
      this.recordSkipped(runId, reason, keys);
    }
    run.planning = !step.complete;
    const plan = this.plans.get(runId) ?? { segment: 0 };
    this.plans.set(runId, {
      ...plan,
      ...(step.checkpoint === undefined ? {} : { checkpoint: step.checkpoint }),
    });
    return { applied: true, run: await this.#finishIfCounted(run) };
  }

  public async getPlan(runId: string): Promise<PlanState | undefined> {
    const run = this.runs.get(runId);
    if (!run) return undefined;
    const plan = this.plans.get(runId) ?? { segment: 0 };
    return { messages: run.messages, keysPlanned: run.keysPlanned, complete: !run.planning, ...plan };
  }

  public async startPlanSegment(runId: string, segment: number) {
    const plan = this.plans.get(runId) ?? { segment: 0 };
    if (!this.runs.has(runId) || plan.segment !== segment) return false;
    this.plans.set(runId, { ...plan, segment: segment + 1 });
    return true;
  }

  /** Finishes a running run whose plan is complete and whose keys are all counted; returns it then. */
  async #finishIfCounted(run: RunRecord): Promise<RunRecord | undefined> {
    if (run.status !== 'running' || run.planning) return undefined;
    if (run.keysWarmed + run.keysFailed + run.keysSkipped < run.keysPlanned) return undefined;
    run.status = 'finished';
    run.endedAt = new Date().toISOString();
    await this.releaseRunLock(run.runId);
    return { ...run };
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
