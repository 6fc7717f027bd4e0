import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { KeySourceConfig, ValueSourceConfig } from '../functions/adapters/sourceConfig';
import { KEY_SOURCES_VARIABLE, VALUE_SOURCE_VARIABLE } from '../functions/adapters/sourceConfig';
import type { WarmingConfig } from '../functions/core';
import { functionEnvironment, type ResourceName } from '../functions/handlers/environment';
import { grantCacheAccess } from './cacheConnection';
import type { CacheNetwork } from './cacheNetwork';
import type { FunctionHandler, UserModule } from './functionBundling';
import { functionCode } from './functionCode';
import { acknowledge, arnFinding } from './nagAcknowledgements';
import { grantRunStore } from './runStoreGrants';
import { keySourceFinding, keySourceStatements, valueSourceStatement } from './sourceGrants';
import type { WarmerQueues } from './warmerQueues';
import type { WarmerTables } from './warmerTables';

/** The timeouts of the four functions; the queues' visibility timeouts follow from them. */
export interface FunctionTimeouts {
  warm: Duration;
  consume: Duration;
  track: Duration;
  control: Duration;
}

/** What the functions are built from: the settings, and the queues, tables and cache they use. */
export interface WarmerFunctionsProps {
  config: WarmingConfig;
  timeouts: FunctionTimeouts;
  memorySize: number;
  logRetention: logs.RetentionDays | undefined;
  consumerBatchSize: number;
  consumerBatchingWindow: Duration;
  /** The warm queue's event source mapping's maximum concurrency. */
  consumerMaxConcurrency: number;
  maxMessageBytes: number;
  keySources: readonly KeySourceConfig[] | undefined;
  valueSource: ValueSourceConfig | undefined;
  /** The user's modules bundled beside the consume handler: its value source, its encoder. */
  consumeModules: readonly UserModule[];
  /** The consume function's value layout variables (key template, encoding, version field, …). */
  consumeCacheResources: Partial<Record<ResourceName, string>>;
  /** The warm function's cache variables when it reaches the cache (TTL-aware), else none. */
  warmCacheResources: Partial<Record<ResourceName, string>> | undefined;
  queues: WarmerQueues;
  tables: WarmerTables;
  network: CacheNetwork;
}

/**
 * A function's own role: write access to its own log group only (no managed policy), and in a VPC
 * what AWSLambdaVPCAccessExecutionRole grants, so Lambda can manage the function's network interfaces.
 */
export const createFunctionRole = (
  scope: Construct,
  name: string,
  logGroup: logs.ILogGroup,
  inVpc: boolean,
): iam.Role => {
  const role = new iam.Role(scope, `${name.replaceAll(' ', '')}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `The cache warmer ${name} function`,
  });
  logGroup.grantWrite(role);
  if (inVpc) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
  }
  acknowledge(
    role,
    'AwsSolutions-IAM5[Resource::*]',
    inVpc
      ? 'X-Ray (PutTraceSegments, PutTelemetryRecords) and ec2:DescribeNetworkInterfaces offer no resource-level permissions; the ENI actions are those of AWSLambdaVPCAccessExecutionRole'
      : 'X-Ray PutTraceSegments and PutTelemetryRecords offer no resource-level permissions',
  );
  return role;
};

/** A log group of the warmer's: `retention` (one month by default), deleted with the stack. */
export const createLogGroup = (
  scope: Construct,
  id: string,
  retention: logs.RetentionDays | undefined,
): logs.LogGroup =>
  new logs.LogGroup(scope, id, {
    retention: retention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });

interface FunctionOptions {
  timeout: Duration;
  resources: Partial<Record<ResourceName, string>>;
  extra: Record<string, string>;
  /** Whether the function joins the cache's VPC. */
  inVpc: boolean;
  /** Where failed asynchronous invocations go. */
  deadLetterQueue?: sqs.IQueue | undefined;
  /** The user's modules bundled beside the handler. */
  userModules?: readonly UserModule[];
}

/**
 * The four functions — warm (fan-out), consume (load and write), track (access counts) and control
 * (status, cancel, hot keys, redrive) — each with its own log group and role, fed by their queues and
 * granted exactly the calls their code makes.
 */
export class WarmerFunctions {
  public readonly logGroups: Record<FunctionHandler, logs.LogGroup>;
  public readonly warmFunction: lambda.Function;
  public readonly consumeFunction: lambda.Function;
  public readonly trackFunction: lambda.Function;
  public readonly controlFunction: lambda.Function;
  /** consume always, warm too when it reaches the cache. */
  public readonly cacheFunctions: lambda.Function[];

  private readonly scope: Construct;
  private readonly props: WarmerFunctionsProps;

  public constructor(scope: Construct, props: WarmerFunctionsProps) {
    this.scope = scope;
    this.props = props;
    const { queues, tables, network, timeouts } = props;
    this.logGroups = {
      warm: createLogGroup(scope, 'WarmLogGroup', props.logRetention),
      consume: createLogGroup(scope, 'ConsumeLogGroup', props.logRetention),
      track: createLogGroup(scope, 'TrackLogGroup', props.logRetention),
      control: createLogGroup(scope, 'ControlLogGroup', props.logRetention),
    };
    const shared: Partial<Record<ResourceName, string>> = {
      warmQueueUrl: queues.warmQueue.queueUrl,
      runsTable: tables.runsTable.tableName,
      maxMessageBytes: String(props.maxMessageBytes),
    };
    this.warmFunction = this.createFunction('warm', {
      timeout: timeouts.warm,
      resources: {
        ...shared,
        trackerTable: tables.trackerTable.tableName,
        consumerBatchSize: String(props.consumerBatchSize),
        continuationQueueUrl: queues.continuationQueue.queueUrl,
        ...props.warmCacheResources,
      },
      extra: {
        ...(props.keySources ? { [KEY_SOURCES_VARIABLE]: JSON.stringify(props.keySources) } : {}),
      },
      deadLetterQueue: queues.scheduleDeadLetterQueue,
      inVpc: props.warmCacheResources !== undefined,
    });
    this.consumeFunction = this.createFunction('consume', {
      timeout: timeouts.consume,
      resources: {
        ...shared,
        warmDlqUrl: queues.warmDeadLetterQueue.queueUrl,
        ...network.connection.variables,
        ...props.consumeCacheResources,
      },
      extra: props.valueSource ? { [VALUE_SOURCE_VARIABLE]: JSON.stringify(props.valueSource) } : {},
      inVpc: true,
      userModules: props.consumeModules,
    });
    this.trackFunction = this.createFunction('track', {
      timeout: timeouts.track,
      resources: {
        trackerTable: tables.trackerTable.tableName,
        accessDlqUrl: queues.accessDeadLetterQueue.queueUrl,
      },
      extra: {},
      inVpc: false,
    });
    this.controlFunction = this.createFunction('control', {
      timeout: timeouts.control,
      resources: {
        ...shared,
        warmDlqUrl: queues.warmDeadLetterQueue.queueUrl,
        trackerTable: tables.trackerTable.tableName,
      },
      extra: {},
      inVpc: false,
    });
    this.cacheFunctions = props.warmCacheResources
      ? [this.consumeFunction, this.warmFunction]
      : [this.consumeFunction];

    this.connectQueuesAndTables();
    for (const cacheFunction of this.cacheFunctions) grantCacheAccess(network.connection, cacheFunction);
    this.grantSources();
  }

  /** Each function's event source, and what it reads and writes of the queues and tables. */
  private connectQueuesAndTables(): void {
    const { queues, tables } = this.props;
    // warm: records runs, reads hot keys, sends warm messages; a run too large for one invocation sends
    // itself a continuation, which its event source mapping (granting the receive side) runs one at a time.
    grantRunStore(tables.runsTable, this.warmFunction);
    tables.trackerTable.grantReadData(this.warmFunction);
    queues.warmQueue.grantSendMessages(this.warmFunction);
    this.warmFunction.addEventSource(
      new SqsEventSource(queues.continuationQueue, { batchSize: 1, reportBatchItemFailures: true }),
    );
    queues.continuationQueue.grantSendMessages(this.warmFunction);
    // consume: the event source mapping grants the receive side; failed keys are re-enqueued or dead-lettered.
    this.consumeFunction.addEventSource(
      new SqsEventSource(queues.warmQueue, {
        batchSize: this.props.consumerBatchSize,
        maxBatchingWindow: this.props.consumerBatchingWindow,
        maxConcurrency: this.props.consumerMaxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    queues.warmQueue.grantSendMessages(this.consumeFunction);
    queues.warmDeadLetterQueue.grantSendMessages(this.consumeFunction);
    grantRunStore(tables.runsTable, this.consumeFunction);
    // track: access events in, tracker counts out, malformed events to the DLQ.
    this.trackFunction.addEventSource(
      new SqsEventSource(queues.accessQueue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(5),
        maxConcurrency: 2,
        reportBatchItemFailures: true,
      }),
    );
    tables.trackerTable.grantReadWriteData(this.trackFunction);
    queues.accessDeadLetterQueue.grantSendMessages(this.trackFunction);
    // control: run status and cancel, hot keys, DLQ peek and redrive into the warm queue.
    grantRunStore(tables.runsTable, this.controlFunction);
    tables.trackerTable.grantReadData(this.controlFunction);
    queues.warmDeadLetterQueue.grantConsumeMessages(this.controlFunction);
    queues.warmQueue.grantSendMessages(this.controlFunction);

    for (const reader of [this.warmFunction, this.trackFunction, this.controlFunction]) {
      acknowledge(
        reader.role ?? reader,
        `AwsSolutions-IAM5[Resource::${arnFinding(tables.trackerTable)}/index/*]`,
        'grantReadData / grantReadWriteData cover the indexes of this table only (index/*); they are queried by name',
      );
    }
    for (const [consumer, source] of [
      [this.warmFunction, 'continuation'],
      [this.consumeFunction, 'warm'],
      [this.trackFunction, 'access'],
    ] as const) {
      acknowledge(
        consumer,
        'Serverless-LambdaEventSourceMappingDestination',
        `SQS event sources take no on-failure destination; the ${source} queue's redrive policy dead-letters after 5 receives`,
      );
    }
  }

  /** Sources: exactly the calls their providers and loaders make. */
  private grantSources(): void {
    for (const source of this.props.keySources ?? []) {
      for (const statement of keySourceStatements(this.scope, source))
        this.warmFunction.addToRolePolicy(statement);
      const finding = keySourceFinding(source);
      if (finding) acknowledge(this.warmFunction.role ?? this.warmFunction, finding.id, finding.reason);
    }
    const { valueSource } = this.props;
    const valueStatement = valueSource && valueSourceStatement(this.scope, valueSource);
    if (valueStatement) this.consumeFunction.addToRolePolicy(valueStatement);
  }

  private createFunction(name: FunctionHandler, options: FunctionOptions): lambda.Function {
    const { network, config, memorySize } = this.props;
    const vpc: ec2.IVpc | undefined = options.inVpc ? network.vpc : undefined;
    const logGroup = this.logGroups[name];
    const role = createFunctionRole(this.scope, name, logGroup, vpc !== undefined);
    const environment: Record<string, string> = {
      NODE_OPTIONS: '--enable-source-maps',
      ...functionEnvironment(config, options.resources, options.extra),
    };
    const handlerFunction = new lambda.Function(this.scope, `${name}Function`, {
      ...(options.deadLetterQueue ? { deadLetterQueue: options.deadLetterQueue } : {}),
      code: functionCode(name, environment, options.userModules),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: options.timeout,
      memorySize,
      role,
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment,
      description: `Cache warmer: ${name}`,
      ...(vpc
        ? {
            vpc,
            // The VPC's private subnets: with egress if it has them, else isolated (reached through endpoints).
            vpcSubnets: vpc.selectSubnets(),
            securityGroups: network.functionSecurityGroup ? [network.functionSecurityGroup] : [],
          }
        : {}),
    });
    if (!options.deadLetterQueue) {
      acknowledge(
        handlerFunction,
        'Serverless-LambdaDLQ',
        name === 'warm'
          ? 'without a schedule the warm function is only invoked synchronously (console, CLI, its continuation queue event source mapping), which returns its errors'
          : `the ${name} function is invoked synchronously (${name === 'control' ? 'console, CLI' : 'by its SQS event source mapping'}); a DLQ only applies to asynchronous invocations`,
      );
    }
    return handlerFunction;
  }
}
