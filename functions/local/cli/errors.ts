import { CacheWarmersError } from '../../core';
import { ExitCode } from './constants';

/** An error the CLI reports as one line (no stack trace) and exits with `exitCode`. */
export class CliError extends CacheWarmersError {
  public readonly exitCode: ExitCode;

  public constructor(message: string, exitCode: ExitCode, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** The command line is wrong; the message names what and how to fix it. */
export class UsageError extends CliError {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.usage, options);
    this.name = 'UsageError';
  }
}

/** Nothing answers: no local runtime, an unknown stack or function, no network or no credentials. */
export class TargetUnavailableError extends CliError {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.targetUnavailable, options);
    this.name = 'TargetUnavailableError';
  }
}

/** The function answered with an error: `{ ok: false }`, a function error or throttling. */
export class RemoteError extends CliError {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.remoteError, options);
    this.name = 'RemoteError';
  }
}
