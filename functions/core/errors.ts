/** Base class of every error the cache warmers raise, so callers can catch them as one family. */
export class CacheWarmersError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CacheWarmersError';
  }
}

/** A configuration value (option or environment variable) is malformed. */
export class ConfigurationError extends CacheWarmersError {
  /** The option or environment variable that was wrong, e.g. `CODOMYRMEX_WARMING_MAX_WORKERS`. */
  public readonly setting: string;
  /** What was wrong with it, without the setting's name: to say the same of another name. */
  public readonly problem: string;

  public constructor(setting: string, problem: string) {
    super(`${setting}: ${problem}`);
    this.name = 'ConfigurationError';
    this.setting = setting;
    this.problem = problem;
  }
}

/** A wait was given up because its deadline passed. */
export class TimeoutError extends CacheWarmersError {
  public constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

/** A wait was given up because the caller cancelled it. */
export class CancelledError extends CacheWarmersError {
  public constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

/** A key provider yielded something that cannot be a key. */
export class InvalidKeyError extends CacheWarmersError {
  public constructor(message: string) {
    super(message);
    this.name = 'InvalidKeyError';
  }
}

/** The message of any thrown value, for failure lists and logs. */
export const describeError = (error: unknown): string => {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
};
