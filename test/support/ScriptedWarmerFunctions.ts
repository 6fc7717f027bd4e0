import type {
  ControlRequest,
  ControlResponses,
  RunStatusReport,
  WarmerFunctions,
  WarmRequest,
  WarmResponse,
} from '../../functions/local/cli/types';

export interface ScriptedAnswers {
  warm?: WarmResponse;
  /** Answered to `status` one after the other; the last one repeats. */
  statuses?: RunStatusReport[];
  answers?: Partial<{ [Action in keyof ControlResponses]: ControlResponses[Action] }>;
}

/** Warm and control functions that answer from a script and record every request, for CLI tests. */
export class ScriptedWarmerFunctions implements WarmerFunctions {
  public readonly description = 'the scripted functions';
  public readonly requests: (WarmRequest | ControlRequest)[] = [];
  public closed = false;
  readonly #script: ScriptedAnswers;

  public constructor(script: ScriptedAnswers) {
    this.#script = { ...script, statuses: [...(script.statuses ?? [])] };
  }

  public async warm(request: WarmRequest): Promise<WarmResponse> {
    this.requests.push(request);
    if (!this.#script.warm) throw new Error('no warm answer scripted');
    return this.#script.warm;
  }

  public async control<Request extends ControlRequest>(
    request: Request,
  ): Promise<ControlResponses[Request['action']]> {
    this.requests.push(request);
    if (request.action === 'status') {
      const statuses = this.#script.statuses ?? [];
      const run = statuses.length > 1 ? statuses.shift() : statuses[0];
      if (!run) throw new Error('no status scripted');
      return { ok: true, run } as ControlResponses[Request['action']];
    }
    const answer = this.#script.answers?.[request.action];
    if (!answer) throw new Error(`no ${request.action} answer scripted`);
    return answer as ControlResponses[Request['action']];
  }

  public close(): void {
    this.closed = true;
  }
}
