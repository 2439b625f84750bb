import { JetStreamApiCodes, RetentionPolicy, StorageType, DiscardPolicy, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import type { NotificationChannel, NotificationTrigger } from '../domain/job/job.events.js';
import type { Notifications } from '../domain/job/job-spec.js';
import { derivedUuid } from '../events/derived-id.js';
import { subjectToken } from '../events/subject-token.js';

/** The work-queue stream of notifications to send: filled by the notifications saga, drained by the notifier. */
export const NOTIFY_STREAM = 'CHRONOS_NOTIFY';
export const NOTIFY_SUBJECT = 'chronos.notify';
export const notifySubject = (jobId: string) => `${NOTIFY_SUBJECT}.${subjectToken(jobId)}`;

const MINUTE_NS = 60 * 1_000_000_000;

export const NOTIFY_STREAM_CONFIG: Partial<StreamConfig> & { name: string } = {
  name: NOTIFY_STREAM,
  subjects: [`${NOTIFY_SUBJECT}.>`],
  storage: StorageType.File,
  // A message leaves the stream when the notifier has recorded how sending it ended.
  retention: RetentionPolicy.Workqueue,
  discard: DiscardPolicy.Old,
  // A repeated event (saga batch redelivered) enqueues its notifications once.
  duplicate_window: 10 * MINUTE_NS,
  num_replicas: 1,
};

/** Creates CHRONOS_NOTIFY, or brings its settings up to date. Idempotent; both the saga and the notifier call it. */
export async function ensureNotifyStream(jsm: JetStreamManager): Promise<void> {
  try {
    await jsm.streams.info(NOTIFY_STREAM);
    await jsm.streams.update(NOTIFY_STREAM, NOTIFY_STREAM_CONFIG);
  } catch (error) {
    if ((error as { code?: number }).code !== JetStreamApiCodes.StreamNotFound) throw error;
    try {
      await jsm.streams.add(NOTIFY_STREAM_CONFIG);
    } catch (raced) {
      // Another process created it meanwhile.
      await jsm.streams.info(NOTIFY_STREAM).catch(() => Promise.reject(raced));
    }
  }
}

/**
 * One notification to send on one channel: the facts of the event it is about. Where it goes (address, URL,
 * secret) is read from the job when it is sent.
 */
export interface NotificationItem {
  notificationId: string;
  jobId: string;
  /** Stream sequence of the event: the notifier reads the job at least as recent as this. */
  eventSequence: number;
  channel: NotificationChannel;
  trigger: NotificationTrigger;
  executionId: string;
  scheduledAt: string;
  /** Failure: the attempts the fire had; success: the attempt that succeeded. */
  attempts?: number;
  error?: string;
  deadLetterId?: string;
  /** When the event happened (dead-lettered / finished). */
  occurredAt: string;
  /** The event's correlation id and the event itself: what RecordNotification carries on (absent on items queued before). */
  correlationId?: string;
  causationId?: string;
}

/**
 * Deterministic and UUID-shaped: the same event and channel always name the same notification, so a
 * repeated event enqueues once (Nats-Msg-Id) and records once (the job's recentNotifications, the command id).
 * `subjectId` is the dead letter's id for a failure, the execution's id for a success.
 */
export function notificationIdFor(jobId: string, subjectId: string, channel: NotificationChannel, trigger: NotificationTrigger): string {
  return derivedUuid(`notification|${jobId}|${subjectId}|${channel}|${trigger}`);
}

/** The command id of recording a notification: a repeated report is dropped by the event store. */
export const recordCommandId = (notificationId: string) => `notify:${notificationId}`;

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
