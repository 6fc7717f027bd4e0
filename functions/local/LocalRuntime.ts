import type { Context } from 'aws-lambda';
import {
  type CacheStore,
  CacheWarmersError,
  ConfigurationError,
  describeError,
  ENV_PREFIX,
  type WarmingConfig,
  withTimeout,
} from '../core';
import { closeCacheStores, createCacheStore, loadCacheEncoder } from '../handlers/cacheStore';
import { type LambdaInvokeServer, type LocalFunction, startLambdaInvokeServer } from './LambdaInvokeServer';
import { LocalScheduler, type ScheduledWarm } from './LocalScheduler';
import { createLambdaContext } from './lambdaContext';
import { LOCAL_REGION, type LocalLogLevel, localAwsEnvironment } from './localAws';
import {
  FUNCTION_KINDS,
  type FunctionKind,
  functionEnvironments,
  type LocalDeploymentOptions,
  type LocalDeploymentPlan,
  planLocalDeployment,
  type QueuePlan,
} from './localDeployment';
import { createTables, startLocalDynamo } from './localDynamo';
import { type LocalSqs, startLocalSqs } from './localSqs';
import { type InvocationReport, SqsEventSourcePoller } from './SqsEventSourcePoller';

export interface LocalRuntimeOptions extends Omit<LocalDeploymentOptions, 'cacheUrl'> {
  /**
   * The cache the consume function writes to: `memory://<name>` (in this process), `redis://host:port`
   * or `rediss://host:port`.
   * @default the `REDIS_URL` environment variable when it is set, else `memory://local`
   */
  cacheUrl?: string;
  /** Port of the Lambda Invoke endpoint on 127.0.0.1. @default a free port */
  lambdaPort?: number;
  /** The handlers' log level (Powertools Logger, on stdout and stderr). @default WARN */
  logLevel?: LocalLogLevel;
  /** Told after each invocation of the local schedule. */
  onScheduledWarm?: (warm: ScheduledWarm) => void;
  /** Told after each invocation an event source (consume, track) made. */
  onInvoke?: (functionKind: FunctionKind, report: InvocationReport) => void;
  /** Told after every invocation of every function, however invoked: for a line per invocation. */
  onInvocation?: (invocation: LocalInvocation) => void;
}

/** One invocation of a local function and how it ended. */
export interface LocalInvocation {
  functionKind: FunctionKind;
  /** The event, as the handler received it. */
  event: unknown;
  durationMs: number;
  /** What the function returned, when it returned. */
  result?: unknown;
  /** Why it failed, when it threw or timed out. */
  error?: string;
}

/** The whole pipeline in this process, reachable as a deployment is. */
export interface LocalRuntime {
  /** `lambda` speaks the Lambda Invoke API; `sqs` and `dynamodb` are fauxqs and dynalite. */
  endpoints: { lambda: string; sqs: string; dynamodb: string };
  /** The functions' names, for `InvokeCommand` against `endpoints.lambda`. */
  functionNames: Record<FunctionKind, string>;
  queueUrls: { warm: string; warmDlq: string; access: string; accessDlq: string };
  tables: { runs: string; tracker: string };
  /** The engine's options every function runs with. */
  config: WarmingConfig;
  cacheUrl: string;
  /** The cache the consume function writes to, to read what it holds. */
  cache: CacheStore<string, unknown>;
  /**
   * Invokes a function synchronously, as `InvokeCommand` does: the payload and the result pass through
   * JSON, the function's timeout applies. Rejects with the function's error.
   */
  invoke(functionKind: FunctionKind, payload?: unknown): Promise<unknown>;
  /**
   * Resolves once the warm and access queues are empty and no invocation is running: every message was
   * consumed or dead-lettered. @throws TimeoutError after `timeoutMs`, saying what was left.
   */
  drain(options: { timeoutMs: number }): Promise<void>;
  /** Stops the schedule, the endpoint and the pollers (after what is in flight), then the emulators. */
  stop(): Promise<void>;
}

type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/** Each handler module, imported on demand: it reads its environment when it is first imported. */
const HANDLER_MODULES: Record<FunctionKind, () => Promise<{ handler: unknown }>> = {
  warm: () => import('../handlers/warm'),
  consume: () => import('../handlers/consume'),
  track: () => import('../handlers/track'),
  control: () => import('../handlers/control'),
};

const NAME_PREFIX = 'cache-warmers';
const DEFAULT_MEMORY_CACHE_URL = 'memory://local';

let handlersImported = false;

/**
 * Imports a handler with exactly `environment` as the process's `CODOMYRMEX_WARMING_*` variables, so
 * each function sees what the construct gives it and nothing another function was given.
 */
const importHandler = async (
  functionKind: FunctionKind,
  environment: Record<string, string>,
): Promise<LambdaHandler> => {
  const outside = Object.entries(process.env).filter(([name]) => name.startsWith(ENV_PREFIX));
  for (const [name] of outside) delete process.env[name];
  Object.assign(process.env, environment);
  try {
    const { handler } = await HANDLER_MODULES[functionKind]();
    return handler as LambdaHandler;
  } catch (error) {
    // A refused configuration already names its variable; the caller tells it apart from a crash.
    if (error instanceof ConfigurationError) throw error;
    throw new CacheWarmersError(
      `the ${functionKind} function failed to start: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  } finally {
    for (const name of Object.keys(environment)) delete process.env[name];
    Object.assign(process.env, Object.fromEntries(outside));
  }
};

/** The handler, telling `onInvocation` how each invocation went and how long it took. */
const reported =
  (
    functionKind: FunctionKind,
    handler: LambdaHandler,
    onInvocation: (invocation: LocalInvocation) => void,
  ): LambdaHandler =>
  async (event, context) => {
    const startedAt = performance.now();
    const report = (outcome: Pick<LocalInvocation, 'result' | 'error'>) =>
      onInvocation({ functionKind, event, durationMs: performance.now() - startedAt, ...outcome });
    try {
      const result = await handler(event, context);
      report({ result });
      return result;
    } catch (error) {
      report({ error: describeError(error) });
      throw error;
    }
  };

/** Sets variables for the runtime's life; the returned function puts the previous values back. */
const setProcessEnvironment = (variables: Record<string, string>): (() => void) => {
  const previous = Object.keys(variables).map((name) => [name, process.env[name]] as const);
  Object.assign(process.env, variables);
  return () => {
    for (const [name, value] of previous) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
};

const createQueues = (sqs: LocalSqs, name: string, plan: QueuePlan) => {
  const size: Record<string, string> =
    plan.maxMessageBytes === undefined ? {} : { MaximumMessageSize: String(plan.maxMessageBytes) };
  return sqs.createQueueWithDlq(name, {
    maxReceiveCount: plan.maxReceiveCount,
    visibilityTimeoutSeconds: plan.visibilityTimeoutSeconds,
    attributes: size,
    dlqAttributes: { ...size, MessageRetentionPeriod: String(plan.dlqRetentionSeconds) },
  });
};

/**
 * Runs the whole serverless pipeline in this process, on what `npm install` brings: fauxqs (the warm
 * and access queues with their DLQs and redrive policies) and dynalite (the runs and tracker tables);
 * the four handler modules with the variables the CDK construct sets; an event source poller per queue
 * with the construct's settings (warm queue → consume, access queue → track); the construct's schedule
 * as a timer; and a Lambda Invoke endpoint, so `@aws-sdk/client-lambda` (and the CLI) invoke the local
 * functions as deployed ones. The cache is in-process (`memory://`) unless `REDIS_URL` or `cacheUrl`
 * names a Redis/Valkey server.
 *
 * The handlers read their configuration when first imported, so a process runs one local runtime.
 *
 * @throws ConfigurationError for an option or a source configuration that is wrong.
 * @throws CacheWarmersError when a runtime was already started in this process, or a function fails to start.
 *
 * @example
 * const runtime = await startLocalRuntime({
 *   warming: { strategy: WarmingStrategy.SCHEDULED, refreshIntervalSeconds: 300 },
 *   keySources: [{ type: 'static', keys: ['product:1', 'product:2'] }],
 *   valueSource: { type: 'http', urlTemplate: 'http://127.0.0.1:8080/products/{key}' },
 * });
 * const started = await runtime.invoke('warm', { keys: ['product:3'] });
 * await runtime.stop();
 */
export const startLocalRuntime = async (options: LocalRuntimeOptions = {}): Promise<LocalRuntime> => {
  if (handlersImported)
    throw new CacheWarmersError(
      'a local runtime was already started in this process: the handlers read their configuration when first imported, so start another process',
    );
  const cacheUrl = options.cacheUrl ?? process.env.REDIS_URL ?? DEFAULT_MEMORY_CACHE_URL;
  const plan = planLocalDeployment({ ...options, cacheUrl });
  handlersImported = true;

  const cleanups: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    return await deploy(options, plan, cleanups, stopAll);
  } catch (error) {
    await stopAll();
    throw error;
  }
};

/** Starts every part, pushing how to stop it onto `cleanups` as it goes. */
const deploy = async (
  options: LocalRuntimeOptions,
  plan: LocalDeploymentPlan,
  cleanups: (() => Promise<void> | void)[],
  stopAll: () => Promise<void>,
): Promise<LocalRuntime> => {
  const [sqs, dynamo] = await Promise.all([startLocalSqs(), startLocalDynamo()]);
  cleanups.push(
    () => sqs.close(),
    () => dynamo.close(),
  );
  const tables = { runs: `${NAME_PREFIX}-runs`, tracker: `${NAME_PREFIX}-tracker` };
  const [warmQueues, accessQueues, continuationQueues] = await Promise.all([
    createQueues(sqs, `${NAME_PREFIX}-warm`, plan.queues.warm),
    createQueues(sqs, `${NAME_PREFIX}-access`, plan.queues.access),
    createQueues(sqs, `${NAME_PREFIX}-continuation`, plan.queues.continuation),
    createTables(dynamo.client, tables),
  ]);
  const functionNames = Object.fromEntries(
    FUNCTION_KINDS.map((kind) => [kind, `${NAME_PREFIX}-${kind}`]),
  ) as Record<FunctionKind, string>;
  const environments = functionEnvironments(plan, {
    warmQueueUrl: warmQueues.queueUrl,
    warmDlqUrl: warmQueues.dlqUrl,
    accessDlqUrl: accessQueues.dlqUrl,
    continuationQueueUrl: continuationQueues.queueUrl,
    runsTable: tables.runs,
    trackerTable: tables.tracker,
  });

  cleanups.push(
    setProcessEnvironment(
      localAwsEnvironment({ sqs: sqs.endpoint, dynamodb: dynamo.endpoint }, options.logLevel ?? 'WARN'),
    ),
  );
  // Before the handlers: a consume module that opened a Redis connection must have it closed on stop.
  cleanups.push(() => closeCacheStores());
  const handlers = {} as Record<FunctionKind, LambdaHandler>;
  for (const kind of FUNCTION_KINDS) {
    const handler = await importHandler(kind, environments[kind]);
    handlers[kind] = options.onInvocation ? reported(kind, handler, options.onInvocation) : handler;
  }

  const invoke = async (functionKind: FunctionKind, payload: unknown = {}): Promise<unknown> => {
    const timeoutMs = plan.functionTimeoutSeconds[functionKind] * 1_000;
    const context = createLambdaContext({
      functionName: functionNames[functionKind],
      deadline: Date.now() + timeoutMs,
      region: LOCAL_REGION,
    });
    // Lambda hands the function a deserialized copy, and serializes what it returns.
    const event: unknown = JSON.parse(JSON.stringify(payload));
    const result = await withTimeout(() => handlers[functionKind](event, context), timeoutMs, 'Task');
    return JSON.parse(JSON.stringify(result ?? null));
  };

  const pollers = {
    consume: new SqsEventSourcePoller({
      client: sqs.client,
      queueUrl: warmQueues.queueUrl,
      handler: handlers.consume,
      ...plan.eventSources.consume,
      functionTimeoutSeconds: plan.functionTimeoutSeconds.consume,
      reportBatchItemFailures: true,
      functionName: functionNames.consume,
      onInvoke: (report) => options.onInvoke?.('consume', report),
    }),
    track: new SqsEventSourcePoller({
      client: sqs.client,
      queueUrl: accessQueues.queueUrl,
      handler: handlers.track,
      ...plan.eventSources.track,
      functionTimeoutSeconds: plan.functionTimeoutSeconds.track,
      reportBatchItemFailures: true,
      functionName: functionNames.track,
      onInvoke: (report) => options.onInvoke?.('track', report),
    }),
    // Runs larger than one warm invocation go on in the warm function, one continuation at a time.
    continuation: new SqsEventSourcePoller({
      client: sqs.client,
      queueUrl: continuationQueues.queueUrl,
      handler: handlers.warm,
      ...plan.eventSources.continuation,
      functionTimeoutSeconds: plan.functionTimeoutSeconds.warm,
      reportBatchItemFailures: true,
      functionName: functionNames.warm,
      onInvoke: (report) => options.onInvoke?.('warm', report),
    }),
  };
  for (const poller of Object.values(pollers)) {
    await poller.start();
    cleanups.push(() => poller.stop());
  }

  const server: LambdaInvokeServer = await startLambdaInvokeServer({
    functions: new Map<string, LocalFunction>(
      FUNCTION_KINDS.map((kind) => [functionNames[kind], (payload) => invoke(kind, payload)]),
    ),
    port: options.lambdaPort,
    // Lambda would retry it and then send it to a DLQ; locally it is at least not lost without a word.
    onAsyncError: (functionName, error) => {
      if (options.logLevel !== 'SILENT') {
        console.error(`${functionName}: an asynchronous invocation failed: ${describeError(error)}`);
      }
    },
  });
  cleanups.push(() => server.close());

  const scheduler = new LocalScheduler({
    strategy: plan.config.strategy,
    refreshIntervalSeconds: plan.config.refreshIntervalSeconds,
    invokeWarm: (payload) => invoke('warm', payload),
    onScheduledWarm: options.onScheduledWarm,
  });
  scheduler.start();
  cleanups.push(() => scheduler.stop());

  let stopping: Promise<void> | undefined;
  return {
    endpoints: { lambda: server.endpoint, sqs: sqs.endpoint, dynamodb: dynamo.endpoint },
    functionNames,
    queueUrls: {
      warm: warmQueues.queueUrl,
      warmDlq: warmQueues.dlqUrl,
      access: accessQueues.queueUrl,
      accessDlq: accessQueues.dlqUrl,
    },
    tables,
    config: plan.config,
    cacheUrl: plan.options.cacheUrl,
    cache: createCacheStore(
      environments.consume,
      plan.config,
      {},
      await loadCacheEncoder(environments.consume),
    ),
    invoke,
    async drain({ timeoutMs }) {
      await Promise.all([pollers.consume.drain({ timeoutMs }), pollers.track.drain({ timeoutMs })]);
    },
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
  };
};
