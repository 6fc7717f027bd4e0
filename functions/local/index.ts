export { type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from './LocalRuntime';
export type { ScheduledWarm } from './LocalScheduler';
export type { LocalLogLevel } from './localAws';
export type { FunctionKind } from './localDeployment';
export type { InvocationReport } from './SqsEventSourcePoller';
