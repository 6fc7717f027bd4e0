import { ConfigurationError } from '../core';

/**
 * The optional parts of a function bundle, each behind its own variable. A deployed function carries
 * only the parts its configuration uses: the construct bundles it with esbuild `define` replacing
 * `process.env.<variable>` by `'omitted'` for each part it does not need, which makes the code behind
 * `process.env.<variable> !== 'omitted'` dead, and esbuild drops it with the client it imports. Each
 * check names its variable literally, as `define` only replaces what it can see. Unbundled (the library,
 * tests, the local runtime) every part is there.
 */
export const BUNDLE_PARTS = {
  /** S3 key sources. */
  s3: 'CODOMYRMEX_BUNDLE_S3',
  /** Lambda key and value sources. */
  lambda: 'CODOMYRMEX_BUNDLE_LAMBDA',
  /** The Redis/Valkey store (the warm function reads remaining TTLs only when TTL-aware). */
  cache: 'CODOMYRMEX_BUNDLE_CACHE',
  /** Looking the cache's endpoint up by name (ElastiCache API). */
  cacheLookup: 'CODOMYRMEX_BUNDLE_CACHE_LOOKUP',
  /** Reading the cache's AUTH token (Secrets Manager). */
  cacheSecret: 'CODOMYRMEX_BUNDLE_CACHE_SECRET',
  /** Reading an HTTP value source's header values (Secrets Manager). */
  headerSecrets: 'CODOMYRMEX_BUNDLE_HEADER_SECRETS',
  /** The MessagePack encoding of cached values. */
  msgpack: 'CODOMYRMEX_BUNDLE_MSGPACK',
} as const;

export type BundlePart = keyof typeof BUNDLE_PARTS;

/** The value `define` gives the variable of a part a bundle leaves out. */
export const OMITTED = 'omitted';

/** What a function says when its configuration names a part its bundle was built without. */
export const omittedFromBundle = (variable: string, what: string): ConfigurationError =>
  new ConfigurationError(
    variable,
    `${what}, which this function was deployed without (its bundle holds only what its configuration used at deploy time): configure it in the ServerlessCacheWarmer construct's props and deploy again`,
  );
