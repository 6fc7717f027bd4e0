export { type AccessReport, AccessReporter, type AccessReporterOptions } from './AccessReporter';
export { AccessTracker, type AccessTrackerOptions, type KeyAccess } from './AccessTracker';
export {
  AdaptiveKeyProvider,
  type AdaptiveKeyProviderOptions,
  type HotKeySource,
} from './AdaptiveKeyProvider';
export { sleep, withTimeout } from './abortable';
export { CacheWarmer, type SchedulerStatus, type WarmingRun } from './CacheWarmer';
export { ENV_PREFIX, WARMING_STRATEGIES, WarmingStrategy } from './constants';
export {
  CacheWarmersError,
  CancelledError,
  ConfigurationError,
  describeError,
  InvalidKeyError,
  TimeoutError,
} from './errors';
export { CallableKeyProvider, readKeysFrom, SourcePositionError, StaticKeyProvider } from './KeyProvider';
export { MemoryStore, type MemoryStoreOptions } from './MemoryStore';
export {
  collectWeightedKeys,
  findKeysDueForRefresh,
  KeyQueue,
  type KeyQueueOptions,
  selectKeysDueForRefresh,
  selectTopKeys,
} from './planKeys';
export {
  type PartId,
  type PartsPosition,
  type PartsReaderOptions,
  parsePartsPosition,
  readPartsInParallel,
} from './readPartsInParallel';
export { type BackoffOptions, backoffDelayMs, type RetryOptions, retryWithBackoff } from './retryWithBackoff';
export type {
  CacheEntry,
  CacheStore,
  KeyCandidate,
  KeyProvider,
  KeyReader,
  KeySource,
  LeaseStore,
  SourcePosition,
  ValueLoader,
  WarmingProgress,
  WarmingStats,
  WeightedKey,
  WriteMode,
  WriteOptions,
  WriteResult,
} from './types';
export { BatchValueLoader, CallableValueLoader } from './ValueLoader';
export {
  defaultWarmingConfig,
  describeWarmingSettings,
  environmentVariableFor,
  loadWarmingConfig,
  resolveWarmingConfig,
  type WarmingConfig,
} from './WarmingConfig';
export type { WarmRunOptions, WriteSettings } from './WarmRun';
