import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledge } from './nagAcknowledgements';

/** A queue as every queue of the warmer is: encrypted with SQS-managed keys, refusing plain HTTP. */
export const createSecureQueue = (scope: Construct, id: string, props: sqs.QueueProps): sqs.Queue =>
  new sqs.Queue(scope, id, { ...props, encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true });

/** What the queues are sized by. */
export interface WarmerQueuesProps {
  /** The consume function's timeout: the warm queue hides a received message for six times it. */
  consumerTimeout: Duration;
  /** The warm function's timeout: the continuation queue hides a received message for six times it. */
  warmTimeout: Duration;
  /** The track function's timeout: the access queue hides a received message for six times it. */
  trackTimeout: Duration;
  /** MaximumMessageSize of the warm queue and its DLQ. */
  maxMessageBytes: number;
  /** Whether a schedule invokes the warm function, which then needs a DLQ for what fails. */
  scheduled: boolean;
}

/** Lambda's advice for an SQS event source: a visibility timeout of six times the function's timeout. */
const visibilityFor = (timeout: Duration): Duration => Duration.seconds(6 * timeout.toSeconds());

const DEAD_LETTER_RETENTION = Duration.days(14);

/**
 * The warmer's queues: the warm queue (warm → consume) and the access queue (your application → track),
 * each dead-lettering after 5 receives, and for a scheduled strategy the schedule DLQ.
 */
export class WarmerQueues {
  public readonly warmQueue: sqs.Queue;
  public readonly warmDeadLetterQueue: sqs.Queue;
  public readonly accessQueue: sqs.Queue;
  public readonly accessDeadLetterQueue: sqs.Queue;
  /**
   * Continuation messages of runs too large for one warm invocation: each names a run and where its
   * sources stopped, and starts a fresh warm invocation that goes on from there.
   */
  public readonly continuationQueue: sqs.Queue;
  public readonly continuationDeadLetterQueue: sqs.Queue;
  /** Holds the schedule's undeliverable invocations and the warm runs that failed after Lambda's retries. */
  public readonly scheduleDeadLetterQueue: sqs.Queue | undefined;

  public constructor(scope: Construct, props: WarmerQueuesProps) {
    this.warmDeadLetterQueue = createSecureQueue(scope, 'WarmDeadLetterQueue', {
      retentionPeriod: DEAD_LETTER_RETENTION,
      maxMessageSizeBytes: props.maxMessageBytes,
    });
    this.warmQueue = createSecureQueue(scope, 'WarmQueue', {
      visibilityTimeout: visibilityFor(props.consumerTimeout),
      maxMessageSizeBytes: props.maxMessageBytes,
      deadLetterQueue: { queue: this.warmDeadLetterQueue, maxReceiveCount: 5 },
    });
    this.accessDeadLetterQueue = createSecureQueue(scope, 'AccessDeadLetterQueue', {
      retentionPeriod: DEAD_LETTER_RETENTION,
    });
    this.accessQueue = createSecureQueue(scope, 'AccessQueue', {
      visibilityTimeout: visibilityFor(props.trackTimeout),
      deadLetterQueue: { queue: this.accessDeadLetterQueue, maxReceiveCount: 5 },
    });
    for (const deadLetterQueue of [this.warmDeadLetterQueue, this.accessDeadLetterQueue]) {
      acknowledge(
        deadLetterQueue,
        'Serverless-SQSRedrivePolicy',
        'a dead-letter queue is the end of the line: its messages are redriven by the control function',
      );
    }
    this.continuationDeadLetterQueue = createSecureQueue(scope, 'ContinuationDeadLetterQueue', {
      retentionPeriod: DEAD_LETTER_RETENTION,
    });
    this.continuationQueue = createSecureQueue(scope, 'ContinuationQueue', {
      // Above the warm function's timeout, so a continuation is never handed to a second invocation
      // while the first still works on it.
      visibilityTimeout: visibilityFor(props.warmTimeout),
      deadLetterQueue: { queue: this.continuationDeadLetterQueue, maxReceiveCount: 5 },
    });
    acknowledge(
      this.continuationDeadLetterQueue,
      'Serverless-SQSRedrivePolicy',
      'a dead-letter queue is the end of the line: a continuation that failed five times is kept for inspection and redrive',
    );

    this.scheduleDeadLetterQueue = props.scheduled
      ? createSecureQueue(scope, 'ScheduleDeadLetterQueue', { retentionPeriod: DEAD_LETTER_RETENTION })
      : undefined;
    if (this.scheduleDeadLetterQueue) {
      acknowledge(
        this.scheduleDeadLetterQueue,
        'AwsSolutions-SQS3',
        'this queue is itself a dead-letter queue: of the schedule target and of the warm function',
      );
      acknowledge(
        this.scheduleDeadLetterQueue,
        'Serverless-SQSRedrivePolicy',
        'a dead-letter queue is the end of the line; nothing consumes it automatically',
      );
    }
  }
}
