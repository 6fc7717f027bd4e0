export { CacheSecretError, cacheTokenFromSecret, readCacheToken } from './cacheTokenSecret';
export { type DeadLetter, DeadLetterQueue, type DeadLetterQueueDependencies } from './DeadLetterQueue';
export {
  AccessTrackingError,
  DynamoAccessTracker,
  type DynamoAccessTrackerOptions,
  type RecordBatchesResult,
} from './DynamoAccessTracker';
export { DynamoRunStore } from './DynamoRunStore';
export { CacheDiscoveryError, type DiscoveredCache, discoverCacheEndpoint } from './discoverCacheEndpoint';
export {
  createElastiCacheIamTokenProvider,
  type ElastiCacheIamTokenOptions,
  IAM_TOKEN_LIFETIME_SECONDS,
} from './elastiCacheIamToken';
export {
  HeaderSecretError,
  type HeaderValue,
  headersWithSecrets,
  type SecretHeaderValue,
} from './headerSecrets';
export {
  CombinedKeyProvider,
  DynamoKeyProvider,
  type DynamoKeyProviderOptions,
  KeySourceError,
  LambdaKeyProvider,
  type LambdaKeyProviderOptions,
  S3KeyProvider,
  type S3KeyProviderOptions,
} from './keySources';
export type { MessageProgress, RunRecord, RunStatus, RunStore, RunTrigger, SkippedReason } from './RunStore';
export { type OutgoingMessage, SqsSender, type SqsSenderOptions, UnsentMessagesError } from './SqsSender';
export {
  DynamoValueLoader,
  type DynamoValueLoaderOptions,
  HttpBatchValueLoader,
  type HttpBatchValueLoaderOptions,
  type HttpHeaders,
  HttpValueLoader,
  type HttpValueLoaderOptions,
  LambdaValueLoader,
  type LambdaValueLoaderOptions,
  UnprocessedKeysError,
  ValueSourceError,
} from './valueSources';
export { WarmConsumer, type WarmConsumerDependencies } from './WarmConsumer';
export { WarmFanOut, type WarmFanOutDependencies, type WarmOutcome, type WarmRequest } from './WarmFanOut';
export { MalformedMessageError } from './warmMessage';
