/**
 * The ids of the `ServerlessCacheWarmer` construct's stack outputs. CloudFormation reports each under a
 * logical id that CDK derives from the construct path, e.g. `WarmerWarmFunctionName6CC91AB3` for
 * `WarmFunctionName` in a construct with id `Warmer`. This file imports nothing from CDK, so the
 * CLI can read the names without loading it.
 */
export const CACHE_WARMER_OUTPUTS = {
  warmFunctionName: 'WarmFunctionName',
  consumeFunctionName: 'ConsumeFunctionName',
  trackFunctionName: 'TrackFunctionName',
  controlFunctionName: 'ControlFunctionName',
  warmQueueUrl: 'WarmQueueUrl',
  warmDeadLetterQueueUrl: 'WarmDeadLetterQueueUrl',
  accessQueueUrl: 'AccessQueueUrl',
  accessDeadLetterQueueUrl: 'AccessDeadLetterQueueUrl',
  runsTableName: 'RunsTableName',
  trackerTableName: 'TrackerTableName',
  dashboardUrl: 'DashboardUrl',
} as const;

export type CacheWarmerOutput = keyof typeof CACHE_WARMER_OUTPUTS;
