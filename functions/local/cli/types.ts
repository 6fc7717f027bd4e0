import type { DeadLetter } from '../../adapters/DeadLetterQueue';
import type { RunStatusReport } from '../../adapters/runStatus';
import type { WarmOutcome } from '../../adapters/WarmFanOut';
import type * as z from '../../adapters/zod';
import type { KeyAccess } from '../../core';
import type { controlRequestSchema } from '../../handlers/control';
import type { warmRequestSchema } from '../../handlers/warm';

/** The warm function's payload, as its handler's schema accepts it. */
export type WarmRequest = z.input<typeof warmRequestSchema>;

/** The control function's payload, as its handler's schema accepts it. */
export type ControlRequest = z.input<typeof controlRequestSchema>;

export type WarmResponse = { ok: true } & WarmOutcome;

export type DlqRedrive = { runId?: string; keys: number; messages: number; leftMalformed: DeadLetter[] };

/** The control function's answer to each action. */
export interface ControlResponses {
  status: { ok: true; run: RunStatusReport };
  cancel: { ok: true; run: RunStatusReport | undefined };
  runs: { ok: true; runs: RunStatusReport[] };
  hotKeys: { ok: true; hotKeys: KeyAccess<string>[] };
  dlq: { ok: true; messages: DeadLetter[] } | { ok: true; redrive: DlqRedrive };
}

/** The deployed (or local) functions the CLI talks to. */
export interface WarmerFunctions {
  /** Where the functions run, for messages: "the local runtime at …" or "stack … in …". */
  readonly description: string;
  warm(request: WarmRequest): Promise<WarmResponse>;
  control<Request extends ControlRequest>(request: Request): Promise<ControlResponses[Request['action']]>;
  /** Releases the connections. */
  close(): void;
}

export type { DeadLetter, KeyAccess, RunStatusReport, WarmOutcome };
