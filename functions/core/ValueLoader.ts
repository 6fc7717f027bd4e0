import { CacheWarmersError } from './errors';

/**
 * Loads one key per call. The function returns the value, or `undefined` when the source has none
 * (the key is then skipped, not failed). It may watch `signal`, which aborts when the attempt times out.
 *
 * @example
 * const loader = new CallableValueLoader(async (id: string) => (await db.findUser(id)) ?? undefined);
 */
export class CallableValueLoader<K, V> {
  public readonly kind = 'single';
  readonly #load: (key: K, signal: AbortSignal) => V | undefined | Promise<V | undefined>;

  public constructor(load: (key: K, signal: AbortSignal) => V | undefined | Promise<V | undefined>) {
    this.#load = load;
  }

  public async loadOne(key: K, signal: AbortSignal): Promise<V | undefined> {
    return this.#load(key, signal);
  }
}

/**
 * Loads up to `batchSize` keys per call. The function returns a `Map` of the keys that have a value;
 * keys left out are skipped. A call that throws fails (and retries) its whole batch.
 *
 * @example
 * const loader = new BatchValueLoader(async (ids: readonly string[]) =>
 *   new Map((await db.findUsers(ids)).map((user) => [user.id, user])));
 */
export class BatchValueLoader<K, V> {
  public readonly kind = 'batch';
  readonly #load: (keys: readonly K[], signal: AbortSignal) => Map<K, V> | Promise<Map<K, V>>;

  public constructor(load: (keys: readonly K[], signal: AbortSignal) => Map<K, V> | Promise<Map<K, V>>) {
    this.#load = load;
  }

  public async loadMany(keys: readonly K[], signal: AbortSignal): Promise<Map<K, V>> {
    const values = await this.#load(keys, signal);
    if (!(values instanceof Map)) {
      throw new CacheWarmersError(`batch loader returned ${typeof values}, expected a Map of key to value`);
    }
    return values;
  }
}
