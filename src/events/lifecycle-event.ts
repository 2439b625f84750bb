import type { JobEvent } from '../domain/job/job.events.js';
import type { StoredJobEvent } from './stored-event.js';

/** The lifecycle event types subscribers see (README.md), in the order a job lives them. */
export const LIFECYCLE_TYPES = [
  'job.created',
  'job.updated',
  'job.paused',
  'job.resumed',
  'job.cancelled',
  'job.deleted',
  'job.completed',
  'job.failed',
  'execution.queued',
  'execution.started',
  'execution.succeeded',
  'execution.failed',
  'execution.retry_scheduled',
  'execution.timed_out',
  'execution.dead_lettered',
  'execution.skipped',
  'execution.cancelled',
  'notification.sent',
  'notification.failed',
] as const;
export type LifecycleType = (typeof LIFECYCLE_TYPES)[number];

/**
 * The Content-Type header of every lifecycle message: a CloudEvent in structured mode, JSON format, as the
 * CloudEvents NATS binding names it (a subscriber's SDK reads the message as a CloudEvent by it).
 */
export const CLOUDEVENT_CONTENT_TYPE = 'application/cloudevents+json';

/** A CloudEvents 1.0 message (JSON format). `chronosreplay` marks a re-publication by an admin replay. */
export interface LifecycleCloudEvent {
  specversion: '1.0';
  id: string;
  source: '/chronos';
  type: `chronos.${LifecycleType}`;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  /** Stream sequence of the domain event in the event log: subscribers can order and resume by it. */
  chronossequence: number;
  chronosreplay?: true;
  data: Record<string, unknown>;
}

/** The lifecycle type of a domain event, or null for events subscribers do not see (internal bookkeeping). */
export function lifecycleTypeOf(event: JobEvent): LifecycleType | null {
  switch (event.type) {
    case 'JobCreated':
      return 'job.created';
    case 'JobUpdated':
    case 'JobRescheduled':
      return 'job.updated';
    case 'JobPaused':
      return 'job.paused';
    case 'JobResumed':
      return 'job.resumed';
    case 'JobCancelled':
      return 'job.cancelled';
    case 'JobDeleted':
      return 'job.deleted';
    case 'JobCompleted':
      return 'job.completed';
    case 'JobFailed':
      return 'job.failed';
    case 'JobFired':
      return 'execution.queued';
    case 'ExecutionStarted':
      return 'execution.started';
    case 'ExecutionFinished':
      return event.data.outcome === 'succeeded' ? 'execution.succeeded' : event.data.outcome === 'timed_out' ? 'execution.timed_out' : 'execution.failed';
    case 'RetryScheduled':
      return 'execution.retry_scheduled';
    case 'ExecutionDeadLettered':
      return 'execution.dead_lettered';
    case 'ExecutionSkipped':
      return 'execution.skipped';
    case 'ExecutionCancelled':
      return 'execution.cancelled';
    case 'NotificationSent':
      return 'notification.sent';
    case 'NotificationFailed':
      return 'notification.failed';
    case 'DeadLetterRetried':
    case 'DeadLetterDiscarded':
    case 'HistoryEpochClosed':
      return null;
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

/**
 * The CloudEvent for one stored domain event. Its id is the domain event's id, so a repeat (a redelivery
 * or a replay) carries the same id and subscribers dedupe on it. `mask` removes secrets from the data.
 */
export function toCloudEvent(stored: StoredJobEvent, type: LifecycleType, mask: (data: Record<string, unknown>) => Record<string, unknown>): LifecycleCloudEvent {
  return {
    specversion: '1.0',
    id: stored.id,
    source: '/chronos',
    type: `chronos.${type}`,
    subject: stored.aggregateId,
    time: stored.occurredAt,
    datacontenttype: 'application/json',
    chronossequence: stored.sequence,
    data: mask(stored.data as unknown as Record<string, unknown>),
  };
}
