import { Cluster, Command, Redis, type RedisOptions } from 'ioredis';
import {
  type CacheEntry,
  type CacheStore,
  ConfigurationError,
  describeError,
  type LeaseStore,
  type WriteMode,
  type WriteOptions,
  type WriteResult,
  withTimeout,
} from '../core';
import { RedisUnavailableError } from './RedisUnavailableError';
import {
  checkAuthFits,
  credentialsFor,
  keepCredentialsCurrent,
  type RedisAuth,
  type RedisEndpoint,
  validateAuth,
} from './redisConnection';
import { internalKey, isReservedKey, parseKeyTemplate, RESERVED_KEY_PREFIX } from './redisKeys';
import {
  ACQUIRE_LEASES_LUA,
  EXPIRE_ENTRIES_LUA,
  RELEASE_LEASES_LUA,
  WRITE_ENTRIES_LUA,
} from './redisScripts';
import { groupBySlot } from './redisSlots';
import {
  createValueCodec,
  fromHashFields,
  hashFields,
  REDIS_VALUE_TYPES,
  type RedisCompression,
  type RedisEncoding,
  type RedisValueCodec,
  type RedisValueEncoder,
  type RedisValueType,
} from './redisValueCodec';

export interface RedisStoreOptions<V> {
  /** `redis://[user:password@]host[:port]`, or `rediss://…` for TLS. Either this, `host` or `endpoint`. */
  url?: string;
  host?: string;
  /** Default 6379. */
  port?: number;
  /** Connect with TLS (always on for ElastiCache Serverless). Default false, true for `rediss://`. */
  tls?: boolean;
  /** Cluster mode: the endpoint is a cluster's (ElastiCache Serverless always is). Default false. */
  cluster?: boolean;
  /**
   * Resolves host, port, TLS and cluster mode on the first connection, instead of url/host/port/tls/cluster;
   * the endpoint found is kept. See `discoverCacheEndpoint`.
   */
  endpoint?: () => Promise<RedisEndpoint>;
  username?: string;
  /** Password or auth token. */
  password?: string;
  /** An AUTH token (fixed or fetched per connection) or ElastiCache IAM auth; instead of username/password. */
  auth?: RedisAuth;
  /** Time to live of entries written without one; 0 (the default) for no expiry. */
  ttlSeconds?: number;
  /** Each TTL is drawn uniformly from [ttl × (1 − ratio), ttl], so a warm does not expire at once. Default 0. */
  ttlJitterRatio?: number;
  /** Prepended to every key, e.g. `app:`: the key template `app:{key}`. Default none. */
  keyPrefix?: string;
  /**
   * The cache key of each warm key, in your application's scheme: `{key}` is replaced by the warm key,
   * e.g. `app:v3:product:{key}`; a hash tag (`app:{tenant}:{key}`) keeps working in cluster mode.
   * Writes, TTL checks and leases all use it. Excludes `keyPrefix`. Default `{key}`.
   */
  keyTemplate?: string;
  /**
   * How a value becomes the bytes the application reads. `json` (the default), as cache-aside code
   * writes: a string as its UTF-8 bytes, a Buffer/Uint8Array as its bytes, anything else as
   * `JSON.stringify(value)`, nothing added. `msgpack`: MessagePack (`@msgpack/msgpack`). Or an encoder
   * of your own, `{ encode(key, value) → bytes, decode?(key, bytes) }`.
   */
  encoding?: RedisEncoding | RedisValueEncoder<V>;
  /** Compression of the encoded bytes: `none` (default), `gzip`, `brotli`, or `zstd` where Node has it. */
  compression?: RedisCompression;
  /**
   * `string` (default): each value is one Redis string. `hash`: each value (a plain object) is a Redis
   * hash of its fields, written with HSET and replaced whole with its TTL: strings as text, bytes as
   * they are, anything else (numbers, nested values) as JSON text. A hash takes no encoding or compression.
   */
  valueType?: RedisValueType;
  /** An encoded value over this many bytes is rejected for its key. Default 512 MiB (Redis's own limit). */
  maxValueBytes?: number;
  /** Default 2000. */
  connectTimeoutMs?: number;
  /** Default 2000. */
  commandTimeoutMs?: number;
}

/**
 * Most keys in one pipeline or script call: short enough that the server never blocks for long and
 * that it runs one group while the client encodes the next (250 measured best of 100/250/500/1,000).
 */
const MAX_GROUP_SIZE = 250;
/**
 * Fewest keys of a group overwritten by a MULTI/MSET transaction rather than the write script: the
 * transaction's pipeline costs the client about 0.1 ms more, which MSET's cheaper per-key server work
 * repays only in larger groups (measured slower at 4 keys, even at 16, faster at 64). Cluster-mode groups
 * are one slot's keys, usually one or two.
 */
const MIN_TRANSACTION_GROUP_SIZE = 32;
const DEFAULT_MAX_VALUE_BYTES = 512 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 2_000;
/** Bounds the AWS calls before a first connection (endpoint discovery, token read), which retry on their own. */
const SETUP_TIMEOUT_MS = 10_000;

interface StoreScripts {
  cwWriteEntries(
    numKeys: number,
    ...args: (string | Buffer | number)[]
  ): Promise<[string, (number | string)[]]>;
  cwAcquireLeases(numKeys: number, ...args: string[]): Promise<number[]>;
  cwReleaseLeases(numKeys: number, ...args: string[]): Promise<number>;
}
type Client = (Redis | Cluster) & StoreScripts;

/** One entry ready to send: its cache key, bytes (or hash fields) and TTL. */
interface PreparedWrite {
  index: number;
  key: string;
  storedKey: string;
  /** The value's bytes (`string` value type) or its field/value pairs (`hash`). */
  payload: Buffer | (string | Buffer)[];
  ttlMs: number;
  version: number | undefined;
}

interface ResolvedOptions {
  /** The endpoint, or the function that resolves it on the first connection, then replaced by its answer. */
  endpoint: RedisEndpoint | (() => Promise<RedisEndpoint>);
  /** The endpoint's cluster mode, which slot grouping reads: known once the endpoint is. */
  cluster: boolean;
  auth: RedisAuth | undefined;
  ttlSeconds: number;
  ttlJitterRatio: number;
  cacheKeyOf: (key: string) => string;
  valueType: RedisValueType;
  maxValueBytes: number;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

const isReplyError = (error: unknown): error is Error =>
  error instanceof Error && error.name === 'ReplyError';

const requireNumber = (
  option: string,
  value: number | undefined,
  fallback: number,
  valid: (value: number) => boolean,
  expected: string,
): number => {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || !valid(value)) {
    throw new ConfigurationError(option, `must be ${expected}, got ${String(value)}`);
  }
  return value;
};

const resolveValueType = (options: RedisStoreOptions<unknown>): RedisValueType => {
  const { valueType = 'string' } = options;
  if (!REDIS_VALUE_TYPES.includes(valueType)) {
    throw new ConfigurationError(
      'valueType',
      `expected one of ${REDIS_VALUE_TYPES.join(', ')}, got ${JSON.stringify(valueType)}`,
    );
  }
  const encoded = (options.encoding ?? 'json') !== 'json' || (options.compression ?? 'none') !== 'none';
  if (valueType === 'hash' && encoded) {
    throw new ConfigurationError(
      'valueType',
      'hash writes each field as text or bytes, so it takes no encoding or compression: drop them or use string',
    );
  }
  return valueType;
};

const resolveOptions = (options: RedisStoreOptions<unknown>): ResolvedOptions => {
  let { host, port, tls, username, password } = options;
  if (options.url !== undefined) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new ConfigurationError('url', `is not a URL: ${options.url}`);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      throw new ConfigurationError('url', `must start with redis:// or rediss://, got ${url.protocol}//`);
    }
    host ??= url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (url.port) port ??= Number(url.port);
    tls ??= url.protocol === 'rediss:';
    if (url.username) username ??= decodeURIComponent(url.username);
    if (url.password) password ??= decodeURIComponent(url.password);
  }
  if (options.auth !== undefined && (username !== undefined || password !== undefined)) {
    throw new ConfigurationError(
      'auth',
      'give either auth or username/password (or a url with them), not both',
    );
  }
  if (username !== undefined && password === undefined) {
    throw new ConfigurationError('password', `is required with username ${username}`);
  }
  const passwordAuth: RedisAuth | undefined =
    password === undefined ? undefined : { kind: 'token', token: password, username };
  const auth = options.auth === undefined ? passwordAuth : validateAuth(options.auth);
  let endpoint: ResolvedOptions['endpoint'];
  if (options.endpoint !== undefined) {
    if ([host, port, tls, options.cluster].some((given) => given !== undefined)) {
      throw new ConfigurationError('endpoint', 'give either endpoint or url/host/port/tls/cluster, not both');
    }
    endpoint = options.endpoint;
  } else {
    if (!host)
      throw new ConfigurationError('url', 'give the url, the host or the endpoint of the Redis/Valkey cache');
    endpoint = {
      host,
      port: requireNumber(
        'port',
        port,
        6379,
        (value) => Number.isInteger(value) && value > 0 && value < 65_536,
        'a port number',
      ),
      tls: tls ?? false,
      cluster: options.cluster ?? false,
    };
    checkAuthFits(auth, endpoint);
  }
  const positive = (value: number) => value > 0;
  return {
    endpoint,
    cluster: typeof endpoint === 'function' ? false : endpoint.cluster,
    auth,
    ttlSeconds: requireNumber('ttlSeconds', options.ttlSeconds, 0, (value) => value >= 0, 'a number ≥ 0'),
    ttlJitterRatio: requireNumber(
      'ttlJitterRatio',
      options.ttlJitterRatio,
      0,
      (value) => value >= 0 && value <= 1,
      'between 0 and 1',
    ),
    cacheKeyOf: parseKeyTemplate(options.keyTemplate, options.keyPrefix),
    valueType: resolveValueType(options),
    maxValueBytes: requireNumber(
      'maxValueBytes',
      options.maxValueBytes,
      DEFAULT_MAX_VALUE_BYTES,
      (value) => Number.isInteger(value) && value > 0,
      'a positive integer',
    ),
    connectTimeoutMs: requireNumber(
      'connectTimeoutMs',
      options.connectTimeoutMs,
      DEFAULT_TIMEOUT_MS,
      positive,
      'a positive number',
    ),
    commandTimeoutMs: requireNumber(
      'commandTimeoutMs',
      options.commandTimeoutMs,
      DEFAULT_TIMEOUT_MS,
      positive,
      'a positive number',
    ),
  };
};

/**
 * A {@link CacheStore} on Redis OSS or Valkey (ElastiCache, standalone or cluster mode), with per-key
 * leases. One connection, opened on first use, with connect and command timeouts, so a call against a
 * dead endpoint fails within them instead of hanging. Writes are grouped by hash slot (one group in
 * standalone mode, groups of at most 250 keys), each group one Lua script call with every key in
 * KEYS (or, to overwrite a large group, one MULTI of MSET and the TTLs), so no command fails with
 * CROSSSLOT and a batch costs one round trip per group; a bad entry is rejected alone, and
 * `setMany` throws ({@link RedisUnavailableError}) only when the server cannot be reached.
 *
 * Values are stored as the application's own cache-aside code stores them (see `encoding`,
 * `compression`, `valueType`), under the key `keyTemplate` names; nothing of the store's lives there.
 * Write modes: `overwrite`, `ifAbsent` (only a missing key) and `ifNewer`, which replaces a cached
 * value only with a higher version, atomically. The version is kept beside the value, in a key of the
 * store's own key space (`__cache-warmers:version:…`) in the same hash slot, expiring with it; leases
 * live there too (`__cache-warmers:lease:…`). A warm key whose cache key would fall in that key space
 * is rejected, so none can take a lease's or a version's place.
 *
 * @example
 * const store = new RedisStore<User>({ url: 'rediss://my-cache.serverless.use1.cache.amazonaws.com:6379', cluster: true, ttlSeconds: 300, ttlJitterRatio: 0.1 });
 * const results = await store.setMany([{ key: 'user:1', value: user, version: 7 }], { mode: 'ifNewer' });
 * await store.close();
 */
export class RedisStore<V = unknown> implements CacheStore<string, V>, LeaseStore<string> {
  readonly #options: ResolvedOptions;
  readonly #codec: RedisValueCodec<V>;
  #connection: Promise<Client> | undefined;

  public constructor(options: RedisStoreOptions<V>) {
    this.#options = resolveOptions(options as RedisStoreOptions<unknown>);
    this.#codec = createValueCodec(options.encoding, options.compression);
  }

  /** The value cached for `key`, read as the configured encoding and value type wrote it. */
  public async get(key: string): Promise<V | undefined> {
    const client = await this.#client();
    const storedKey = this.#storedKey(key);
    if (this.#options.valueType === 'hash') {
      const fields = await this.#call('HGETALL', () => client.hgetallBuffer(storedKey));
      return Object.keys(fields).length === 0 ? undefined : (fromHashFields(fields) as V);
    }
    const stored = await this.#call('GET', () => client.getBuffer(storedKey));
    return stored === null ? undefined : this.#codec.decode(key, stored);
  }

  public async set(
    key: string,
    value: V,
    options: WriteOptions & { version?: number } = {},
  ): Promise<WriteResult<string>> {
    const [result] = await this.setMany(
      [{ key, value, ttlSeconds: options.ttlSeconds, version: options.version }],
      { mode: options.mode },
    );
    return result as WriteResult<string>;
  }

  public async setMany(
    entries: readonly CacheEntry<string, V>[],
    options: WriteOptions = {},
  ): Promise<WriteResult<string>[]> {
    const mode = options.mode ?? 'overwrite';
    const results: WriteResult<string>[] = new Array(entries.length);
    const writes: PreparedWrite[] = [];
    entries.forEach((entry, index) => {
      const prepared = this.#prepare(entry, index, options.ttlSeconds);
      if (typeof prepared === 'string')
        results[index] = { key: entry.key, status: 'rejected', reason: prepared };
      else writes.push(prepared);
    });
    if (writes.length === 0) return results;
    const client = await this.#client();
    const groups = groupBySlot(writes, (write) => write.storedKey, this.#options.cluster, MAX_GROUP_SIZE);
    await Promise.all(
      groups.map(async ({ indexes }) => {
        const group = indexes.map((index) => writes[index] as PreparedWrite);
        if (
          mode === 'overwrite' &&
          this.#options.valueType === 'string' &&
          group.length >= MIN_TRANSACTION_GROUP_SIZE
        ) {
          await this.#overwriteGroup(client, group, results);
        } else await this.#writeGroup(client, group, mode, results);
      }),
    );
    return results;
  }

  /** Deletes the cached value of `key` and the version kept beside it. */
  public async delete(key: string): Promise<boolean> {
    const client = await this.#client();
    const storedKey = this.#storedKey(key);
    const [deleted] = await this.#exec(
      'DEL',
      client.pipeline().del(storedKey).del(internalKey('version', storedKey)),
    );
    if (deleted?.[0]) throw deleted[0];
    return Number(deleted?.[1]) > 0;
  }

  public async remainingTtl(keys: readonly string[]): Promise<Map<string, number | undefined>> {
    const remaining = new Map<string, number | undefined>();
    if (keys.length === 0) return remaining;
    const client = await this.#client();
    const storedKeys = keys.map((key) => this.#storedKey(key));
    const groups = groupBySlot(storedKeys, (key) => key, this.#options.cluster, MAX_GROUP_SIZE);
    const ttls: (number | undefined)[] = new Array(keys.length);
    await Promise.all(
      groups.map(async ({ indexes }) => {
        const pipeline = client.pipeline();
        for (const index of indexes) pipeline.pttl(storedKeys[index] as string);
        const replies = await this.#exec('PTTL', pipeline);
        indexes.forEach((index, position) => {
          const [error, ttl] = replies[position] ?? [];
          if (error) throw error;
          ttls[index] = ttl === -2 ? undefined : ttl === -1 ? Number.POSITIVE_INFINITY : Number(ttl);
        });
      }),
    );
    keys.forEach((key, index) => {
      remaining.set(key, ttls[index]);
    });
    return remaining;
  }

  public async acquireLeases(keys: readonly string[], owner: string, ttlMs: number): Promise<Set<string>> {
    if (!Number.isInteger(ttlMs) || ttlMs <= 0)
      throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}`);
    const leased = new Set<string>();
    if (keys.length === 0) return leased;
    const client = await this.#client();
    await Promise.all(
      this.#leaseGroups(keys).map(async ({ indexes, groupKeys }) => {
        const acquired = await this.#call('acquire leases', () =>
          client.cwAcquireLeases(groupKeys.length, ...groupKeys, owner, String(ttlMs)),
        );
        indexes.forEach((index, position) => {
          if (acquired[position] === 1) leased.add(keys[index] as string);
        });
      }),
    );
    return leased;
  }

  public async releaseLeases(keys: readonly string[], owner: string): Promise<void> {
    if (keys.length === 0) return;
    const client = await this.#client();
    await Promise.all(
      this.#leaseGroups(keys).map(({ groupKeys }) =>
        this.#call('release leases', () => client.cwReleaseLeases(groupKeys.length, ...groupKeys, owner)),
      ),
    );
  }

  /** The lease keys of `keys` in slot groups, each with the indexes in `keys` of its own. */
  #leaseGroups(keys: readonly string[]): { indexes: number[]; groupKeys: string[] }[] {
    const leaseKeys = keys.map((key) => this.#leaseKey(key));
    return groupBySlot(leaseKeys, (key) => key, this.#options.cluster, MAX_GROUP_SIZE).map(({ indexes }) => ({
      indexes,
      groupKeys: indexes.map((index) => leaseKeys[index] as string),
    }));
  }

  /** Closes the connection; a later call opens a new one. */
  public async close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    if (!connection) return;
    const client = await connection.catch(() => undefined);
    if (!client) return;
    try {
      await withTimeout(() => client.quit(), this.#options.commandTimeoutMs, 'QUIT');
    } catch {
      client.disconnect();
    }
  }

  #storedKey(key: string): string {
    return this.#options.cacheKeyOf(key);
  }

  #leaseKey(key: string): string {
    return internalKey('lease', this.#storedKey(key));
  }

  /** The entry ready to send, or why it is rejected. */
  #prepare(
    entry: CacheEntry<string, V>,
    index: number,
    defaultTtlSeconds: number | undefined,
  ): PreparedWrite | string {
    if (typeof entry.key !== 'string') return `key must be a string, got ${typeof entry.key}`;
    const { version } = entry;
    if (version !== undefined && (typeof version !== 'number' || !Number.isFinite(version))) {
      return `version must be a finite number, got ${String(version)}`;
    }
    const ttlSeconds = entry.ttlSeconds ?? defaultTtlSeconds ?? this.#options.ttlSeconds;
    if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds < 0) {
      return `ttlSeconds must be a number ≥ 0, got ${String(ttlSeconds)}`;
    }
    const storedKey = this.#storedKey(entry.key);
    if (isReservedKey(storedKey)) {
      return `its cache key ${storedKey} falls in the store's own key space (${RESERVED_KEY_PREFIX}…)`;
    }
    let payload: Buffer | (string | Buffer)[];
    let size: number;
    try {
      if (this.#options.valueType === 'hash') {
        payload = hashFields(entry.value);
        size = payload.reduce((total, part) => total + Buffer.byteLength(part), 0);
      } else {
        payload = this.#codec.encode(entry.key, entry.value);
        size = payload.length;
      }
    } catch (error) {
      return `cannot encode the value: ${describeError(error)}`;
    }
    if (size > this.#options.maxValueBytes) {
      return `value of ${size} bytes is over maxValueBytes (${this.#options.maxValueBytes})`;
    }
    return {
      index,
      key: entry.key,
      storedKey,
      payload,
      ttlMs: this.#ttlMs(ttlSeconds),
      version,
    };
  }

  /** The TTL in ms with jitter drawn from [ttl × (1 − ratio), ttl]; 0 for no expiry. */
  #ttlMs(ttlSeconds: number): number {
    if (ttlSeconds === 0) return 0;
    const ttlMs = ttlSeconds * 1000;
    return Math.max(1, Math.round(ttlMs * (1 - this.#options.ttlJitterRatio * Math.random())));
  }

  /**
   * Writes one slot group unconditionally: MULTI, MSET, then the TTLs by script, EXEC. One round trip,
   * atomic (no key is ever left without its TTL), and the values go through the server's native MSET,
   * which costs it about half the CPU of a script's SET per key.
   */
  async #overwriteGroup(
    client: Client,
    group: PreparedWrite[],
    results: WriteResult<string>[],
  ): Promise<void> {
    const keysAndPayloads: (string | Buffer)[] = [];
    const expiringKeys: string[] = [];
    const ttls: string[] = [];
    for (const write of group) {
      keysAndPayloads.push(write.storedKey, write.payload as Buffer);
      const versionKey = write.version === undefined ? undefined : internalKey('version', write.storedKey);
      if (versionKey !== undefined) keysAndPayloads.push(versionKey, String(write.version));
      if (write.ttlMs > 0) {
        expiringKeys.push(write.storedKey);
        ttls.push(String(write.ttlMs));
        if (versionKey !== undefined) {
          expiringKeys.push(versionKey);
          ttls.push(String(write.ttlMs));
        }
      }
    }
    const commands: [string, ...(string | Buffer | number)[]][] = [['mset', ...keysAndPayloads]];
    if (expiringKeys.length > 0) {
      commands.push(['eval', EXPIRE_ENTRIES_LUA, expiringKeys.length, ...expiringKeys, ...ttls]);
    }
    let replies: [Error | null, unknown][];
    try {
      // In cluster mode the pipeline sends the transaction to the node of the group's slot.
      replies =
        client instanceof Cluster
          ? await this.#exec('write', client.multi(commands))
          : await this.#sendTransaction(client, commands);
    } catch (error) {
      if (!isReplyError(error)) throw error;
      // EXECABORT says only that a queued command was refused; ioredis keeps that refusal (e.g. OOM).
      const { previousErrors } = error as { previousErrors?: Error[] };
      this.#rejectGroup(group, previousErrors?.[0]?.message ?? error.message, results);
      return;
    }
    const refusal = replies.find(([error]) => error)?.[0];
    if (refusal) {
      this.#rejectGroup(group, refusal.message, results);
      return;
    }
    for (const write of group) results[write.index] = { key: write.key, status: 'written' };
  }

  /**
   * MULTI, `commands` and EXEC on a standalone connection, each command written to the socket as it is
   * issued: ioredis's pipeline would copy every value a second time, into one buffer for the whole
   * transaction. They are issued in one synchronous run, so nothing else sent on this connection comes
   * between them, and numbered as ioredis numbers a pipeline's commands: should the connection drop
   * after some of their replies, it rejects the rest rather than resend them outside the transaction.
   * @returns EXEC's replies, one `[error, result]` per command
   * @throws ReplyError the first refusal (e.g. OOM while queueing), which aborts the transaction
   */
  async #sendTransaction(
    client: Redis,
    commands: [string, ...(string | Buffer | number)[]][],
  ): Promise<[Error | null, unknown][]> {
    const sent = [['multi'], ...commands, ['exec']].map(([name, ...args], position) => {
      const command = new Command(name as string, args, { replyEncoding: 'utf8' });
      command.pipelineIndex = position;
      return client.sendCommand(command);
    });
    // Replies come in order, so the first rejection is the cause (EXECABORT comes after it).
    const replies = await this.#call('write', () => Promise.all(sent));
    const executed = replies[replies.length - 1];
    if (!Array.isArray(executed)) throw new RedisUnavailableError('write: the transaction was discarded');
    return executed.map((reply: unknown) => [reply instanceof Error ? reply : null, reply]);
  }

  #rejectGroup(group: PreparedWrite[], reason: string, results: WriteResult<string>[]): void {
    for (const write of group) {
      results[write.index] = { key: write.key, status: 'rejected', reason: `Redis refused it: ${reason}` };
    }
  }

  /** Writes one slot group with one script call: one round trip, atomic, with a result per key. */
  async #writeGroup(
    client: Client,
    group: PreparedWrite[],
    mode: WriteMode,
    results: WriteResult<string>[],
  ): Promise<void> {
    const keys: string[] = [];
    const args: (string | Buffer | number)[] = [mode];
    for (const write of group) {
      keys.push(write.storedKey, internalKey('version', write.storedKey));
      args.push(write.version === undefined ? '' : String(write.version), write.ttlMs);
      if (Buffer.isBuffer(write.payload)) args.push(0, write.payload);
      else args.push(write.payload.length / 2, ...write.payload);
    }
    let reply: [string, (number | string)[]];
    try {
      reply = await this.#call('write', () => client.cwWriteEntries(keys.length, ...keys, ...args));
    } catch (error) {
      if (!isReplyError(error)) throw error;
      this.#rejectGroup(group, error.message, results);
      return;
    }
    const [codes, details] = reply;
    const detailOf = new Map<number, string>();
    for (let index = 0; index + 1 < details.length; index += 2) {
      detailOf.set(Number(details[index]) - 1, String(details[index + 1]));
    }
    group.forEach((write, position) => {
      const code = codes[position];
      if (code === 'w') {
        results[write.index] = { key: write.key, status: 'written' };
        return;
      }
      const detail = detailOf.get(position) ?? '';
      if (code === 's') {
        const reason =
          mode === 'ifNewer'
            ? `cached version ${detail} is not older than ${write.version ?? 'an unversioned value'}`
            : 'already cached';
        results[write.index] = { key: write.key, status: 'skipped', reason };
      } else {
        results[write.index] = {
          key: write.key,
          status: 'rejected',
          reason: `Redis refused it: ${detail || 'no reply'}`,
        };
      }
    });
  }

  /** Runs a pipeline; a failure to reach the server becomes a {@link RedisUnavailableError}. */
  async #exec(what: string, pipeline: ReturnType<Client['pipeline']>): Promise<[Error | null, unknown][]> {
    const replies = await this.#call(what, () => pipeline.exec());
    if (!replies) throw new RedisUnavailableError(`${what}: the pipeline was discarded`);
    return replies;
  }

  /** Runs one command; a failure to reach the server becomes a {@link RedisUnavailableError}. */
  async #call<T>(what: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      if (isReplyError(error) || error instanceof RedisUnavailableError) throw error;
      throw new RedisUnavailableError(`${what}: ${describeError(error)}`, { cause: error });
    }
  }

  #client(): Promise<Client> {
    if (!this.#connection) {
      const connection = this.#connect();
      this.#connection = connection;
      const forget = () => {
        if (this.#connection === connection) this.#connection = undefined;
      };
      // A cluster client that gave up reconnecting has ended for good: the next call opens a new one.
      connection.then((client) => client.once('end', forget), forget);
    }
    return this.#connection;
  }

  async #connect(): Promise<Client> {
    const { auth, connectTimeoutMs, commandTimeoutMs } = this.#options;
    const { endpoint, credentials, password } = await withTimeout(
      async () => {
        const resolved =
          typeof this.#options.endpoint === 'function'
            ? await this.#options.endpoint()
            : this.#options.endpoint;
        const credentials = auth && credentialsFor(auth, resolved);
        return { endpoint: resolved, credentials, password: await credentials?.password() };
      },
      SETUP_TIMEOUT_MS,
      'resolving the cache endpoint and credentials',
    );
    // Later connections reuse the endpoint; slot grouping reads its cluster mode.
    this.#options.endpoint = endpoint;
    this.#options.cluster = endpoint.cluster;
    const { host, port, tls } = endpoint;
    const connectionOptions: RedisOptions = {
      username: credentials?.username,
      password,
      tls: tls ? {} : undefined,
      connectTimeout: connectTimeoutMs,
      commandTimeout: commandTimeoutMs,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
    };
    const client = (
      this.#options.cluster
        ? new Cluster([{ host, port }], {
            lazyConnect: true,
            redisOptions: connectionOptions,
            slotsRefreshTimeout: connectTimeoutMs,
            clusterRetryStrategy: (times) => (times > 3 ? null : 100 * times),
            // ElastiCache's TLS certificates name the configuration endpoint, not the nodes' addresses.
            dnsLookup: (address, callback) => callback(null, address),
          })
        : new Redis({
            host,
            port,
            ...connectionOptions,
            retryStrategy: (times) => Math.min(100 * times, 1000),
          })
    ) as Client;
    // Errors reach callers through their rejected commands (an unhandled 'error' event would crash the
    // process); the last one says why a connect failed, e.g. WRONGPASS where ioredis only says it closed.
    let lastError: unknown;
    client.on('error', (error: unknown) => {
      lastError = error;
    });
    if (credentials && password !== undefined) keepCredentialsCurrent(client, credentials, password);
    client.defineCommand('cwWriteEntries', { lua: WRITE_ENTRIES_LUA });
    client.defineCommand('cwAcquireLeases', { lua: ACQUIRE_LEASES_LUA });
    client.defineCommand('cwReleaseLeases', { lua: RELEASE_LEASES_LUA });
    try {
      await withTimeout(() => client.connect(), connectTimeoutMs, `connecting to ${host}:${port}`);
    } catch (error) {
      client.disconnect();
      const reason = lastError ?? error;
      throw new RedisUnavailableError(`cannot connect to ${host}:${port}: ${describeError(reason)}`, {
        cause: reason,
      });
    }
    // Once connected, a command issued while the connection is down fails at once instead of queueing.
    client.options.enableOfflineQueue = false;
    return client;
  }
}
