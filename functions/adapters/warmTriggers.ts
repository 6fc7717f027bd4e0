/** The payload EventBridge Scheduler sends the warm function, in AWS and from the local schedule. */
export const SCHEDULE_PAYLOAD = { trigger: 'schedule' } as const;

/** The payload of the after-deploy warm (EAGER): the run is recorded as started by a deploy. */
export const DEPLOY_PAYLOAD = { trigger: 'deploy' } as const;

/** The trigger of a run started by a DLQ redrive (`warmers dlq --redrive`, control `dlq`). */
export const REDRIVE_TRIGGER = 'redrive' as const;
