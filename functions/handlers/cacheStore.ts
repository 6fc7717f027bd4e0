import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadConfig, NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
import { omittedFromBundle } from '../adapters/bundleParts';
import { cacheTokenFromSecret } from '../adapters/cacheTokenSecret';
import { discoverCacheEndpoint } from '../adapters/discoverCacheEndpoint';
import { RedisStore, type RedisStoreOptions } from '../adapters/RedisStore';
import type { RedisAuth } from '../adapters/redisConnection';
import type { RedisValueEncoder } from '../adapters/redisValueCodec';
import { ConfigurationError, describeError, MemoryStore, type WarmingConfig } from '../core';
import { readResources, resourceVariable } from './environment';

/**
 * `memory://…` stores by URL, one per process: the local runtime runs every function in one process,
 * and they share one in-process cache as the deployed functions share one ElastiCache.
 */
const memoryStores = new Map<string, MemoryStore<string, unknown>>();
/** The Redis connections this process opened, so a local process can close them and exit. */
const redisStores = new Set<RedisStore>();

/**
 * The clients that find the cache by name and read its AUTH token. Those not given are created on first
 * need, so a function builds (and its bundle carries) only the ones its cache settings call.
 */
export interface CacheClients {
  elasticache?: ElastiCacheClient;
  secretsManager?: SecretsManagerClient;
}

const CACHE_RESOURCES = [
  'cacheUrl',
  'cacheName',
  'cacheCluster',
  'cacheServerless',
  'cacheAuth',
  'cacheSecretArn',
  'cacheUser',
  'cacheKeyTemplate',
  'cacheEncoding',
  'cacheEncoderModule',
  'cacheCompression',
  'cacheValueType',
] as const;
type CacheResources = ReturnType<typeof readResources<never, (typeof CACHE_RESOURCES)[number]>>;

const URL_VARIABLE = resourceVariable('cacheUrl');
const NAME_VARIABLE = resourceVariable('cacheName');
const AUTH_VARIABLE = resourceVariable('cacheAuth');
const SECRET_VARIABLE = resourceVariable('cacheSecretArn');
const USER_VARIABLE = resourceVariable('cacheUser');
const ENCODING_VARIABLE = resourceVariable('cacheEncoding');
const ENCODER_MODULE_VARIABLE = resourceVariable('cacheEncoderModule');

/** The store options each value-layout variable sets, to name the variable in the store's errors. */
const VALUE_VARIABLES: Record<string, string> = {
  keyTemplate: resourceVariable('cacheKeyTemplate'),
  encoding: ENCODING_VARIABLE,
  compression: resourceVariable('cacheCompression'),
  valueType: resourceVariable('cacheValueType'),
};

/**
 * The cache's URL, or else its endpoint looked up by name on the first connection. With both, the URL
 * is where to connect and the name only what IAM tokens are signed for.
 */
const endpointOptions = (
  { cacheUrl, cacheName, cacheCluster }: CacheResources,
  clients: CacheClients,
): Pick<RedisStoreOptions<unknown>, 'url' | 'cluster' | 'endpoint'> => {
  if (cacheUrl !== undefined) return { url: cacheUrl, cluster: cacheCluster ?? false };
  // The lookup says whether the cache is in cluster mode, so CACHE_CLUSTER only applies to a URL.
  if (cacheName !== undefined) {
    if (process.env.CODOMYRMEX_BUNDLE_CACHE_LOOKUP !== 'omitted') {
      clients.elasticache ??= new ElastiCacheClient({});
      const { elasticache } = clients;
      return { endpoint: () => discoverCacheEndpoint(elasticache, cacheName) };
    }
    throw omittedFromBundle(NAME_VARIABLE, 'looking the cache up by name needs the ElastiCache client');
  }
  throw new ConfigurationError(
    `${URL_VARIABLE}, ${NAME_VARIABLE}`,
    'one of them is required: the cache URL, or its name to look its endpoint up',
  );
};

/** How to authenticate, from CACHE_AUTH and the variables that mode needs (and no others). */
const authOptions = (
  { cacheAuth = 'none', cacheSecretArn, cacheUser, cacheName, cacheServerless }: CacheResources,
  clients: CacheClients,
): RedisAuth | undefined => {
  if (cacheAuth === 'none') {
    if (cacheSecretArn !== undefined || cacheUser !== undefined) {
      const stray = cacheSecretArn === undefined ? USER_VARIABLE : SECRET_VARIABLE;
      throw new ConfigurationError(AUTH_VARIABLE, `is none, yet ${stray} is set: set it to token or iam`);
    }
    return undefined;
  }
  if (cacheAuth === 'token') {
    if (cacheSecretArn === undefined) {
      throw new ConfigurationError(SECRET_VARIABLE, `is required with ${AUTH_VARIABLE}=token`);
    }
    if (process.env.CODOMYRMEX_BUNDLE_CACHE_SECRET !== 'omitted') {
      clients.secretsManager ??= new SecretsManagerClient({});
      return {
        kind: 'token',
        token: cacheTokenFromSecret(clients.secretsManager, cacheSecretArn),
        username: cacheUser,
      };
    }
    throw omittedFromBundle(AUTH_VARIABLE, 'token auth needs the Secrets Manager client');
  }
  if (cacheSecretArn !== undefined) {
    throw new ConfigurationError(SECRET_VARIABLE, `is not used with ${AUTH_VARIABLE}=iam: unset it`);
  }
  if (cacheUser === undefined) {
    throw new ConfigurationError(
      USER_VARIABLE,
      `is required with ${AUTH_VARIABLE}=iam: the ElastiCache user id`,
    );
  }
  if (cacheName === undefined) {
    throw new ConfigurationError(
      NAME_VARIABLE,
      `is required with ${AUTH_VARIABLE}=iam: the token is signed for the cache by name`,
    );
  }
  // The region as every SDK client resolves it (AWS_REGION in Lambda), without creating a client.
  return {
    kind: 'iam',
    userId: cacheUser,
    cacheName,
    serverless: cacheServerless,
    region: loadConfig(NODE_REGION_CONFIG_OPTIONS, NODE_REGION_CONFIG_FILE_OPTIONS),
  };
};

/**
 * Imports the encoder module CACHE_ENCODING=module names (CACHE_ENCODER_MODULE, bundled beside the
 * handler by the construct): its `encode(key, value)` and optional `decode(key, bytes)`, as named
 * exports or on its default export. Resolves undefined for the other encodings.
 * @throws ConfigurationError naming the variable when the module is missing, cannot be imported or has no `encode`.
 */
export const loadCacheEncoder = async (
  env: Record<string, string | undefined>,
): Promise<RedisValueEncoder | undefined> => {
  const { cacheEncoding, cacheEncoderModule } = readResources(
    env,
    [],
    ['cacheEncoding', 'cacheEncoderModule'],
  );
  if (cacheEncoding !== 'module') return undefined;
  if (cacheEncoderModule === undefined) {
    throw new ConfigurationError(ENCODER_MODULE_VARIABLE, `is required with ${ENCODING_VARIABLE}=module`);
  }
  const path = isAbsolute(cacheEncoderModule) ? cacheEncoderModule : resolve(cacheEncoderModule);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigurationError(ENCODER_MODULE_VARIABLE, `cannot import ${path}: ${describeError(error)}`);
  }
  const exports = [module, module.default as Record<string, unknown> | undefined].find(
    (candidate) => typeof candidate?.encode === 'function',
  );
  if (!exports) {
    throw new ConfigurationError(ENCODER_MODULE_VARIABLE, `${path} exports no encode(key, value) function`);
  }
  const { encode, decode } = exports as unknown as RedisValueEncoder;
  return { encode, decode: typeof decode === 'function' ? decode : undefined };
};

/** The value layout options from their variables; a module encoding takes the encoder `loadCacheEncoder` loaded. */
const valueOptions = (
  { cacheKeyTemplate, cacheEncoding, cacheEncoderModule, cacheCompression, cacheValueType }: CacheResources,
  encoder: RedisValueEncoder | undefined,
): Pick<RedisStoreOptions<unknown>, 'keyTemplate' | 'encoding' | 'compression' | 'valueType'> => {
  if (cacheEncoderModule !== undefined && cacheEncoding !== 'module') {
    throw new ConfigurationError(
      ENCODER_MODULE_VARIABLE,
      `is used only with ${ENCODING_VARIABLE}=module: unset it`,
    );
  }
  if (cacheEncoding === 'module' && encoder === undefined) {
    throw new ConfigurationError(
      ENCODING_VARIABLE,
      'is module, but no encoder was loaded: load it with loadCacheEncoder and pass it to createCacheStore',
    );
  }
  return {
    keyTemplate: cacheKeyTemplate,
    encoding: cacheEncoding === 'module' ? encoder : cacheEncoding,
    compression: cacheCompression,
    valueType: cacheValueType,
  };
};

/**
 * The cache the functions write to (consume) and ask for remaining TTLs (warm), from the resource
 * variables the CDK construct sets; one connection per container, opened on first use, which looks
 * the endpoint up when the cache is given by name and reads the AUTH token from Secrets Manager, once
 * each. Values are laid out as CACHE_KEY_TEMPLATE, CACHE_ENCODING (with `encoder`, from
 * {@link loadCacheEncoder}, for `module`), CACHE_COMPRESSION and CACHE_VALUE_TYPE say. `memory://` (local runtime only) is an in-process store shared by every function of the process.
 * @throws ConfigurationError naming the variables that are missing, clash or do not fit CACHE_AUTH.
 */
export const createCacheStore = (
  env: Record<string, string | undefined>,
  config: WarmingConfig,
  clients: CacheClients = {},
  encoder?: RedisValueEncoder,
): RedisStore | MemoryStore<string, unknown> => {
  const resources = readResources(env, [], CACHE_RESOURCES);
  const { cacheUrl } = resources;
  if (cacheUrl?.startsWith('memory://')) {
    const store =
      memoryStores.get(cacheUrl) ??
      new MemoryStore<string, unknown>({ ttlSeconds: config.ttlSeconds > 0 ? config.ttlSeconds : undefined });
    memoryStores.set(cacheUrl, store);
    return store;
  }
  let store: RedisStore;
  try {
    store = new RedisStore({
      ...endpointOptions(resources, clients),
      auth: authOptions(resources, clients),
      ttlSeconds: config.ttlSeconds > 0 ? config.ttlSeconds : undefined,
      ...valueOptions(resources, encoder),
    });
  } catch (error) {
    const variable = error instanceof ConfigurationError ? VALUE_VARIABLES[error.setting] : undefined;
    if (variable === undefined) throw error;
    throw new ConfigurationError(variable, (error as ConfigurationError).problem);
  }
  redisStores.add(store);
  return store;
};

/**
 * Closes every Redis connection `createCacheStore` opened in this process. Lambda freezes a container
 * with its connections; the local runtime calls this on stop so its process can exit.
 */
export const closeCacheStores = async (): Promise<void> => {
  const stores = [...redisStores];
  redisStores.clear();
  await Promise.all(stores.map((store) => store.close()));
};
