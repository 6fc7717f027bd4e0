export { RedisStore, type RedisStoreOptions } from './RedisStore';
export { RedisUnavailableError } from './RedisUnavailableError';
export type {
  RedisAuth,
  RedisEndpoint,
  RedisIamAuth,
  RedisTokenAuth,
} from './redisConnection';
export type {
  RedisCompression,
  RedisEncoding,
  RedisValueEncoder,
  RedisValueType,
} from './redisValueCodec';
