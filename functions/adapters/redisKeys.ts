import { ConfigurationError } from '../core';
import { calculateSlot, hashTagForSlot } from './redisSlots';

/** Where a key template puts the warm key. */
export const KEY_PLACEHOLDER = '{key}';

/**
 * The start of every key the store keeps for itself (leases, versions). A warm key whose cache key
 * would start with it is refused, so no warm key can ever name one of them.
 */
export const RESERVED_KEY_PREFIX = '__cache-warmers:';

/** The kinds of key the store keeps beside the application's. */
export type InternalKeyKind = 'lease' | 'version';

/**
 * The function from warm key to cache key of a template such as `app:v3:{key}`: every `{key}` is
 * replaced by the warm key, everything else is kept, hash tags included (`app:{tenant}:{key}` puts
 * every key in one cluster slot). `keyPrefix` is the template `<prefix>{key}`.
 * @throws ConfigurationError naming `keyTemplate` (or `keyPrefix`) when it cannot map keys.
 */
export const parseKeyTemplate = (
  keyTemplate: string | undefined,
  keyPrefix: string | undefined,
): ((key: string) => string) => {
  if (keyTemplate !== undefined && keyPrefix !== undefined) {
    throw new ConfigurationError('keyTemplate', 'give keyTemplate or keyPrefix, not both');
  }
  if (keyPrefix !== undefined) {
    if (typeof keyPrefix !== 'string') {
      throw new ConfigurationError('keyPrefix', `must be a string, got ${typeof keyPrefix}`);
    }
    return (key) => keyPrefix + key;
  }
  if (keyTemplate === undefined) return (key) => key;
  if (typeof keyTemplate !== 'string' || !keyTemplate.includes(KEY_PLACEHOLDER)) {
    throw new ConfigurationError(
      'keyTemplate',
      `must hold ${KEY_PLACEHOLDER} where the warm key goes, e.g. app:v3:{key}; got ${JSON.stringify(keyTemplate)}`,
    );
  }
  const parts = keyTemplate.split(KEY_PLACEHOLDER);
  if (parts.length === 2) {
    const [before = '', after = ''] = parts;
    return (key) => before + key + after;
  }
  return (key) => parts.join(key);
};

/**
 * The key the store keeps of `kind` for the cache key `cacheKey`: in the reserved key space, and in
 * the same cluster slot as `cacheKey` (through a hash tag of that slot), so a script can update both
 * atomically. E.g. `__cache-warmers:version:{3kf}app:v3:product:1`.
 */
export const internalKey = (kind: InternalKeyKind, cacheKey: string): string =>
  `${RESERVED_KEY_PREFIX}${kind}:{${hashTagForSlot(calculateSlot(cacheKey))}}${cacheKey}`;

/** Whether a cache key falls in the store's own key space. */
export const isReservedKey = (cacheKey: string): boolean => cacheKey.startsWith(RESERVED_KEY_PREFIX);
