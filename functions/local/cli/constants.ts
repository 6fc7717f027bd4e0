/**
 * What `warmers` exits with. Scripts rely on these numbers: change none, only add.
 */
export const ExitCode = {
  /** The command did what was asked (for `warm --wait`: every key warmed or skipped). */
  ok: 0,
  /** The run ended with failed keys, was cancelled, or `--wait` gave up before it ended. */
  runIncomplete: 1,
  /** The command line is wrong: unknown command or flag, missing or malformed value, unreadable `--file`. */
  usage: 2,
  /** No target to talk to: no local runtime running, stack or function not found, network or credentials. */
  targetUnavailable: 3,
  /** The target answered with an error: a rejected payload, a function error, throttling. */
  remoteError: 4,
  /** `warm` started nothing because another run is in flight (`--force` runs anyway). */
  runSkipped: 5,
  /** A bug in `warmers` itself: the message and stack trace are worth an issue. */
  internal: 70,
  /** Interrupted (Ctrl-C); a run already started goes on. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A synchronous Invoke lasts up to Lambda's 15-minute limit; a connection is up in seconds or never. */
export const AWS_HTTP_TIMEOUTS = { connectionTimeout: 5_000, requestTimeout: 16 * 60_000 };

/** How often `warm --wait` asks for the run's status. */
export const STATUS_POLL_INTERVAL_MS = 500;

/** How long `warm --wait` waits by default: Lambda's longest timeout, 15 minutes. */
export const DEFAULT_WAIT_TIMEOUT_SECONDS = 900;

/** The command that starts the local runtime, as error messages suggest it. */
export const START_LOCAL_COMMAND = 'npx warmers local';
