import { CacheWarmersError } from '../core';

/**
 * Redis (or Valkey) could not be reached, or did not answer within the command timeout. Raised for
 * the whole call: no entry of it is known to be written.
 */
export class RedisUnavailableError extends CacheWarmersError {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RedisUnavailableError';
  }
}
