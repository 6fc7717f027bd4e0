import { Aws, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/**
 * Where the handlers publish their metrics (EMF, through Powertools in functions/handlers/observability.ts):
 * the namespace, and the `service` dimension Powertools adds to every metric.
 */
export const HANDLER_METRICS = {
  namespace: 'CacheWarmers',
  dimensionsMap: { service: 'cache-warmers' },
} as const;

/** The handler metrics: keys per consume batch, milliseconds of a batch's loads and of a whole run. */
type HandlerMetricName = 'KeysPlanned' | 'KeysWarmed' | 'KeysFailed' | 'LoadLatency' | 'RunDuration';

const FIVE_MINUTES = Duration.minutes(5);

/** One of the handlers' metrics, summed (or another statistic) over five minutes. */
const handlerMetric = (metricName: HandlerMetricName, statistic = 'Sum', label?: string) =>
  new cloudwatch.Metric({
    ...HANDLER_METRICS,
    metricName,
    statistic,
    period: FIVE_MINUTES,
    ...(label ? { label } : {}),
  });

/** Percentage of the keys loaded in five minutes that failed; 0 while nothing is loaded. */
const warmFailureRate = () =>
  new cloudwatch.MathExpression({
    expression: 'IF(warmed + failed > 0, 100 * failed / (warmed + failed), 0)',
    usingMetrics: { warmed: handlerMetric('KeysWarmed'), failed: handlerMetric('KeysFailed') },
    label: 'Warm failure rate (%)',
    period: FIVE_MINUTES,
  });

/** The parts of a cache warmer its alarms and dashboard watch. */
export interface MonitoredWarmer {
  warmQueue: sqs.IQueue;
  warmDeadLetterQueue: sqs.IQueue;
  accessDeadLetterQueue: sqs.IQueue;
  continuationDeadLetterQueue: sqs.IQueue;
  scheduleDeadLetterQueue: sqs.IQueue | undefined;
  warmFunction: lambda.IFunction;
  consumeFunction: lambda.IFunction;
  refreshIntervalSeconds: number;
}

/**
 * The warmer's alarms, without actions (add yours with `alarm.addAlarmAction`): a dead-letter queue
 * holds messages, the warm failure rate is above 5 %, the consume function errs or is throttled, the
 * oldest warm message waits longer than one refresh interval.
 */
export const createAlarms = (scope: Construct, warmer: MonitoredWarmer): Record<string, cloudwatch.Alarm> => {
  /** An alarm when `metric` rises above `threshold` (0 by default) for `evaluationPeriods` periods. */
  const alarmAbove = (
    id: string,
    metric: cloudwatch.IMetric,
    alarmDescription: string,
    { threshold = 0, evaluationPeriods = 1 } = {},
  ) =>
    new cloudwatch.Alarm(scope, id, {
      metric,
      threshold,
      evaluationPeriods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription,
    });
  const alarms: Record<string, cloudwatch.Alarm> = {};
  const deadLetterQueues: Record<string, sqs.IQueue | undefined> = {
    WarmDeadLetterQueueNotEmpty: warmer.warmDeadLetterQueue,
    AccessDeadLetterQueueNotEmpty: warmer.accessDeadLetterQueue,
    ContinuationDeadLetterQueueNotEmpty: warmer.continuationDeadLetterQueue,
    ScheduleDeadLetterQueueNotEmpty: warmer.scheduleDeadLetterQueue,
  };
  for (const [id, queue] of Object.entries(deadLetterQueues)) {
    if (!queue) continue;
    alarms[id] = alarmAbove(
      id,
      queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      'Messages wait in a cache warmer dead-letter queue: peek and redrive them',
    );
  }
  alarms.ConsumeErrors = alarmAbove(
    'ConsumeErrors',
    warmer.consumeFunction.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
    'The consume function failed whole batches (not single keys)',
  );
  alarms.ConsumeThrottles = alarmAbove(
    'ConsumeThrottles',
    warmer.consumeFunction.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
    'The consume function was throttled: raise the account Lambda concurrency or lower consumerMaxConcurrency',
  );
  alarms.WarmQueueOldestMessage = alarmAbove(
    'WarmQueueOldestMessage',
    warmer.warmQueue.metricApproximateAgeOfOldestMessage({
      period: Duration.minutes(1),
      statistic: 'Maximum',
    }),
    'Warm messages wait longer than one refresh interval: the consumers fall behind',
    { threshold: Math.max(300, warmer.refreshIntervalSeconds), evaluationPeriods: 3 },
  );
  alarms.WarmFailureRate = alarmAbove(
    'WarmFailureRate',
    warmFailureRate(),
    'More than 5 % of the keys loaded in 5 minutes failed: see the warm DLQ for reasons',
    { threshold: 5 },
  );
  return alarms;
};

const graph = (title: string, left: cloudwatch.IMetric[], leftLabel?: string) =>
  new cloudwatch.GraphWidget({
    title,
    left,
    width: 12,
    height: 6,
    ...(leftLabel ? { leftYAxis: { label: leftLabel, showUnits: false, min: 0 } } : {}),
  });

/**
 * The warmer's dashboard, top to bottom: its alarms; keys warmed and failed with the failure rate;
 * run duration and value load latency; the warm queue's depth and oldest message; the functions.
 */
export const createDashboard = (
  scope: Construct,
  warmer: MonitoredWarmer,
  alarms: Record<string, cloudwatch.Alarm>,
): cloudwatch.Dashboard => {
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    defaultInterval: Duration.hours(3),
  });
  const deadLetterDepth = (queue: sqs.IQueue, label: string) =>
    queue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: 'Maximum',
      label,
    });
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({
      title: 'Alarms',
      alarms: Object.values(alarms),
      width: 24,
      height: 3,
    }),
  );
  dashboard.addWidgets(
    graph(
      'Keys per 5 minutes',
      [
        handlerMetric('KeysWarmed', 'Sum', 'warmed'),
        handlerMetric('KeysFailed', 'Sum', 'failed'),
        handlerMetric('KeysPlanned', 'Sum', 'planned (warm runs started)'),
      ],
      'keys',
    ),
    graph('Warm failure rate', [warmFailureRate()], '%'),
  );
  dashboard.addWidgets(
    graph(
      'Run duration (started → last key settled)',
      [
        handlerMetric('RunDuration', 'Average', 'average'),
        handlerMetric('RunDuration', 'p90', 'p90'),
        handlerMetric('RunDuration', 'Maximum', 'maximum'),
      ],
      'ms',
    ),
    graph(
      'Value load latency per consume batch',
      [
        handlerMetric('LoadLatency', 'Average', 'average'),
        handlerMetric('LoadLatency', 'p90', 'p90'),
        handlerMetric('LoadLatency', 'p99', 'p99'),
      ],
      'ms',
    ),
  );
  dashboard.addWidgets(
    graph(
      'Queue depth',
      [
        warmer.warmQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
          label: 'warm queue: waiting',
        }),
        warmer.warmQueue.metricApproximateNumberOfMessagesNotVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
          label: 'warm queue: being consumed',
        }),
        deadLetterDepth(warmer.warmDeadLetterQueue, 'warm DLQ'),
        deadLetterDepth(warmer.accessDeadLetterQueue, 'access DLQ'),
        ...(warmer.scheduleDeadLetterQueue
          ? [deadLetterDepth(warmer.scheduleDeadLetterQueue, 'schedule DLQ')]
          : []),
      ],
      'messages',
    ),
    graph(
      'Oldest warm message',
      [
        warmer.warmQueue.metricApproximateAgeOfOldestMessage({
          period: Duration.minutes(1),
          statistic: 'Maximum',
          label: 'age',
        }),
      ],
      'seconds',
    ),
  );
  dashboard.addWidgets(
    graph('Consume function', [
      warmer.consumeFunction.metricInvocations({ period: FIVE_MINUTES, label: 'invocations' }),
      warmer.consumeFunction.metricErrors({ period: FIVE_MINUTES, label: 'errors' }),
      warmer.consumeFunction.metricThrottles({ period: FIVE_MINUTES, label: 'throttles' }),
    ]),
    graph('Warm function', [
      warmer.warmFunction.metricInvocations({ period: FIVE_MINUTES, label: 'invocations' }),
      warmer.warmFunction.metricErrors({ period: FIVE_MINUTES, label: 'errors' }),
      warmer.warmFunction.metricDuration({
        period: FIVE_MINUTES,
        statistic: 'Maximum',
        label: 'duration max',
      }),
    ]),
  );
  return dashboard;
};

/** The console address of a dashboard, for the stack output. */
export const dashboardUrl = (dashboard: cloudwatch.Dashboard): string =>
  `https://console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${dashboard.dashboardName}`;
