import { DEPLOY_PAYLOAD, SCHEDULE_PAYLOAD } from '../adapters/warmTriggers';
import { describeError, WarmingStrategy } from '../core';

type SchedulerPayload = typeof SCHEDULE_PAYLOAD | typeof DEPLOY_PAYLOAD;

/** One invocation of the warm function by the schedule (or the start, for EAGER), and how it ended. */
export interface ScheduledWarm {
  trigger: SchedulerPayload['trigger'];
  /** ISO 8601. */
  at: string;
  /** The function's response, when it answered. */
  result?: unknown;
  /** Why the invocation failed, when it did. */
  error?: string;
}

export interface LocalSchedulerOptions {
  strategy: WarmingStrategy;
  refreshIntervalSeconds: number;
  /** Invokes the warm function. */
  invokeWarm: (payload: SchedulerPayload) => Promise<unknown>;
  /** Told after every invocation it made. */
  onScheduledWarm?: (warm: ScheduledWarm) => void;
}

/**
 * The local stand-in for the construct's EventBridge schedule and after-deploy warm: every strategy
 * but LAZY invokes the warm function with `{ "trigger": "schedule" }` at once and then every
 * `refreshIntervalSeconds` (a rate schedule without a start date starts invoking when it is created);
 * EAGER also invokes it with `{ "trigger": "deploy" }` at start, as the construct does after a deploy.
 * Invocations may overlap, as in AWS: the warm function's run lock decides.
 *
 * @example
 * const scheduler = new LocalScheduler({ strategy: 'SCHEDULED', refreshIntervalSeconds: 300, invokeWarm });
 * scheduler.start();
 * await scheduler.stop();
 */
export class LocalScheduler {
  readonly #options: LocalSchedulerOptions;
  readonly #inFlight = new Set<Promise<void>>();
  #timer: ReturnType<typeof setInterval> | undefined;

  public constructor(options: LocalSchedulerOptions) {
    this.#options = options;
  }

  public start(): void {
    const { strategy, refreshIntervalSeconds } = this.#options;
    if (strategy === WarmingStrategy.LAZY) return;
    if (strategy === WarmingStrategy.EAGER) this.#invoke(DEPLOY_PAYLOAD);
    this.#invoke(SCHEDULE_PAYLOAD);
    this.#timer = setInterval(() => this.#invoke(SCHEDULE_PAYLOAD), refreshIntervalSeconds * 1_000);
  }

  /** Stops the timer and resolves once the invocations it started have ended. */
  public async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.all(this.#inFlight);
  }

  #invoke(payload: SchedulerPayload): void {
    const at = new Date().toISOString();
    const { trigger } = payload;
    const invocation = this.#options
      .invokeWarm(payload)
      .then(
        (result): ScheduledWarm => ({ trigger, at, result }),
        (error: unknown): ScheduledWarm => ({ trigger, at, error: describeError(error) }),
      )
      .then((warm) => this.#options.onScheduledWarm?.(warm))
      // A listener that throws must not become an unhandled rejection, nor make stop() reject.
      .catch((error: unknown) => console.error(`onScheduledWarm failed: ${describeError(error)}`))
      .finally(() => this.#inFlight.delete(invocation));
    this.#inFlight.add(invocation);
  }
}
