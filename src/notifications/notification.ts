import type { NotificationChannel, NotificationTrigger } from '../domain/job/job.events.js';
import type { Notifications } from '../domain/job/job-spec.js';
import type { NotificationItem } from '../events/messages.js';

/** `webhookSecret` is read defensively until the spec type has it. */
export function webhookSecretOf(notifications: Notifications | undefined): string | undefined {
  const secret = (notifications as { webhookSecret?: unknown } | undefined)?.webhookSecret;
  return typeof secret === 'string' && secret.length > 0 ? secret : undefined;
}

/** The channels a job's settings ask for on `trigger` (none when that trigger is off). */
export function channelsFor(notifications: Partial<Notifications> | undefined, trigger: NotificationTrigger): NotificationChannel[] {
  const onFailure = notifications?.onFailure ?? true;
  const onSuccess = notifications?.onSuccess ?? false;
  if (trigger === 'failure' ? !onFailure : !onSuccess) return [];
  // Email always has a recipient: the configured address, else the owner's.
  return notifications?.webhookUrl ? ['email', 'webhook'] : ['email'];
}

/** The JSON body of a notification webhook. */
export interface NotificationWebhookBody {
  type: 'chronos.notification';
  id: string;
  trigger: NotificationTrigger;
  job: { id: string; name: string };
  execution: { id: string; scheduledAt: string; attempts?: number; error?: string };
  deadLetterId?: string;
  occurredAt: string;
}

export function webhookBody(item: NotificationItem, jobName: string): NotificationWebhookBody {
  return {
    type: 'chronos.notification',
    id: item.notificationId,
    trigger: item.trigger,
    job: { id: item.jobId, name: jobName },
    execution: {
      id: item.executionId,
      scheduledAt: item.scheduledAt,
      ...(item.attempts !== undefined ? { attempts: item.attempts } : {}),
      ...(item.error !== undefined ? { error: item.error } : {}),
    },
    ...(item.deadLetterId !== undefined ? { deadLetterId: item.deadLetterId } : {}),
    occurredAt: item.occurredAt,
  };
}

/** Subject and plain-text body of a notification email. */
export function emailContent(item: NotificationItem, jobName: string): { subject: string; text: string } {
  // Header injection: a job name is the owner's text; no line breaks in a subject.
  const name = jobName.replace(/[\r\n]+/g, ' ').trim();
  const failed = item.trigger === 'failure';
  const subject = `[Chronos] ${name} ${failed ? 'failed' : 'succeeded'}`;
  const lines = [
    failed
      ? `The job "${name}" failed: its run scheduled at ${item.scheduledAt} did not succeed after ${item.attempts ?? 1} attempt${(item.attempts ?? 1) === 1 ? '' : 's'} and was dead-lettered.`
      : `The job "${name}" succeeded: its run scheduled at ${item.scheduledAt} finished successfully.`,
    '',
    `Job:          ${name} (${item.jobId})`,
    `Execution:    ${item.executionId}`,
    `Scheduled at: ${item.scheduledAt}`,
    ...(item.attempts !== undefined ? [`Attempts:     ${item.attempts}`] : []),
    ...(item.error !== undefined ? [`Error:        ${item.error}`] : []),
    ...(item.deadLetterId !== undefined ? [`Dead letter:  ${item.deadLetterId}`] : []),
    `${failed ? 'Failed at:   ' : 'Finished at: '} ${item.occurredAt}`,
    '',
    ...(failed ? ['Retry or discard it with POST /api/v1/dead-letters/:id/retry or DELETE /api/v1/dead-letters/:id.', ''] : []),
    '-- ',
    'Chronos',
  ];
  return { subject, text: lines.join('\n') };
}
