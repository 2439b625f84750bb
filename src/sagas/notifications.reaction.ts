import { Inject, Injectable, Logger } from '@nestjs/common';
import { JobRepository } from '../commands/job.repository.js';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { notificationIdFor } from '../commands/ids.js';
import type { Notifications } from '../domain/job/job-spec.js';
import type { NotificationTrigger } from '../domain/job/job.events.js';
import type { NotificationItem } from '../events/messages.js';
import { jobEventsOf, type StoredEvent, type StoredJobEvent } from '../events/stored-event.js';
import { notifySubject } from '../events/streams.js';
import { channelsFor } from '../notifications/notification.js';
import type { Publication, Reaction } from './reaction.js';

/** How many jobs' settings and open executions the saga remembers (oldest forgotten first; a miss reads the log). */
const MEMORY_LIMIT = 100_000;

/** A job's notification settings, as the saga follows them from the log. */
export interface JobMemo {
  notifications: Partial<Notifications> | undefined;
  deleted: boolean;
}

/** When, and which attempt, an open execution fired. */
export interface FireMemo {
  scheduledAt: string;
  attempt: number;
}

/** What the saga knows from the events it has seen: each job's settings and each open execution's fire. */
export interface NotificationMemory {
  jobs: Map<string, JobMemo>;
  fires: Map<string, FireMemo>;
}

export const emptyNotificationMemory = (): NotificationMemory => ({ jobs: new Map(), fires: new Map() });

/** What a batch needs that neither the memory nor the batch's own earlier events say: read from the log before the fold. */
export interface NotificationUnknowns {
  /** Jobs whose settings are not known at their outcome, each with that outcome's stream sequence. */
  jobs: Map<string, number>;
  /** Succeeded executions whose fire is not known at their end. */
  fires: { jobId: string; executionId: string; finishedSequence: number }[];
}

/**
 * What `notificationPublications` would miss over `events`, given `memory`: only for outcomes it would notify
 * (not older than `oldest`), and a fire only of a job whose settings are known and ask for success
 * notifications; call it again once the jobs it named are in memory. Pure.
 */
export function notificationUnknowns(events: StoredJobEvent[], memory: NotificationMemory, oldest: number): NotificationUnknowns {
  const unknowns: NotificationUnknowns = { jobs: new Map(), fires: [] };
  const jobs = new Map<string, JobMemo>();
  const firesSeen = new Set<string>();
  for (const event of events) {
    switch (event.type) {
      case 'JobCreated':
      case 'JobUpdated':
        jobs.set(event.aggregateId, { notifications: event.data.spec.notifications, deleted: false });
        break;
      case 'JobDeleted':
        jobs.set(event.aggregateId, { notifications: undefined, deleted: true });
        break;
      case 'JobFired':
        firesSeen.add(event.data.executionId);
        break;
      case 'ExecutionDeadLettered':
      case 'ExecutionFinished': {
        if (Date.parse(event.occurredAt) < oldest || (event.type === 'ExecutionFinished' && event.data.outcome !== 'succeeded')) break;
        const { jobId } = event.data;
        const memo = jobs.get(jobId) ?? memory.jobs.get(jobId);
        if (!memo) {
          if (!unknowns.jobs.has(jobId)) unknowns.jobs.set(jobId, event.sequence);
          break;
        }
        const { executionId } = event.data;
        const notifies = !memo.deleted && channelsFor(memo.notifications, 'success').length > 0;
        if (event.type === 'ExecutionFinished' && notifies && !firesSeen.has(executionId) && !memory.fires.has(executionId)) unknowns.fires.push({ jobId, executionId, finishedSequence: event.sequence });
        break;
      }
      default:
        break;
    }
  }
  return unknowns;
}

/**
 * The notification work of `events`: on `ExecutionDeadLettered` (the fire failed for good; when the job's
 * `notifications.onFailure`, default true) and on a succeeded `ExecutionFinished` (when `onSuccess`, default
 * false) one item per channel (email always, webhook when `webhookUrl` is set) for CHRONOS_NOTIFY, its
 * `Nats-Msg-Id` its deterministic notification id. Outcomes that occurred before `oldest` (ms) notify nobody.
 * Follows the jobs' settings and open fires in `memory` (it updates it), which must hold what
 * `notificationUnknowns` names. Pure.
 */
export function notificationPublications(events: StoredJobEvent[], memory: NotificationMemory, oldest: number): Publication[] {
  const items: NotificationItem[] = [];
  for (const event of events) {
    switch (event.type) {
      case 'JobCreated':
      case 'JobUpdated': {
        const { jobId, spec } = event.data;
        remember(memory.jobs, jobId, { notifications: spec.notifications, deleted: false });
        break;
      }
      case 'JobDeleted':
        remember(memory.jobs, event.aggregateId, { notifications: undefined, deleted: true });
        break;
      case 'JobFired': {
        const { executionId, scheduledAt, attempt } = event.data;
        remember(memory.fires, executionId, { scheduledAt, attempt });
        break;
      }
      case 'ExecutionCancelled':
        memory.fires.delete(event.data.executionId);
        break;
      case 'ExecutionDeadLettered': {
        const { data } = event;
        if (Date.parse(event.occurredAt) < oldest) break;
        items.push(
          ...itemsFor(memory.jobs.get(data.jobId), 'failure', data.deadLetterId, {
            jobId: data.jobId,
            eventSequence: event.sequence,
            executionId: data.executionId,
            scheduledAt: data.scheduledAt,
            attempts: data.attempts,
            error: data.lastError,
            deadLetterId: data.deadLetterId,
            occurredAt: data.deadLetteredAt,
            correlationId: event.correlationId,
            causationId: event.id,
          }),
        );
        break;
      }
      case 'ExecutionFinished': {
        const { data } = event;
        const fire = memory.fires.get(data.executionId);
        memory.fires.delete(data.executionId);
        if (data.outcome !== 'succeeded' || Date.parse(event.occurredAt) < oldest) break;
        items.push(
          ...itemsFor(memory.jobs.get(data.jobId), 'success', data.executionId, {
            jobId: data.jobId,
            eventSequence: event.sequence,
            executionId: data.executionId,
            scheduledAt: fire?.scheduledAt ?? '',
            attempts: fire?.attempt ?? 1,
            occurredAt: data.finishedAt,
            correlationId: event.correlationId,
            causationId: event.id,
          }),
        );
        break;
      }
      default:
        break;
    }
  }
  return items.map((item) => ({ subject: notifySubject(item.jobId), payload: JSON.stringify(item), msgID: item.notificationId }));
}

function itemsFor(memo: JobMemo | undefined, trigger: NotificationTrigger, subjectId: string, facts: Omit<NotificationItem, 'notificationId' | 'channel' | 'trigger'>): NotificationItem[] {
  if (!memo || memo.deleted) return [];
  return channelsFor(memo.notifications, trigger).map((channel) => ({
    notificationId: notificationIdFor(facts.jobId, subjectId, channel, trigger),
    channel,
    trigger,
    ...facts,
  }));
}

/**
 * Turns outcomes into notification work (notificationPublications) for the reactor. It never sends anything
 * itself, so a slow mail server or webhook never holds up the event log. The reactor acknowledges the batch
 * only after every publish is confirmed: a redelivered batch enqueues nothing twice, and a crash loses nothing.
 *
 * The job's notification settings are followed from the log itself (JobCreated/JobUpdated/JobDeleted) rather
 * than loaded per event; a job first seen mid-stream is read once from the log. Events older than
 * `NOTIFY_MAX_EVENT_AGE_MS` are not notified: a saga started on an existing log replays it from the start.
 */
@Injectable()
export class NotificationsReaction implements Reaction {
  readonly name = 'notifications';
  private readonly log = new Logger(NotificationsReaction.name);
  private readonly memory = emptyNotificationMemory();
  /** The last stream sequence seen: a gap means another process ran the saga meanwhile, so memory is stale. */
  private lastSequence = 0;

  constructor(
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
    private readonly repository: JobRepository,
  ) {}

  async react(events: StoredEvent[]): Promise<Publication[]> {
    const first = events[0]?.sequence;
    if (first !== undefined && first > this.lastSequence + 1) {
      this.memory.jobs.clear();
      this.memory.fires.clear();
    }
    this.lastSequence = Math.max(this.lastSequence, events[events.length - 1]?.sequence ?? 0);
    const jobEvents = jobEventsOf(events);
    const oldest = Date.now() - this.config.notifications.maxEventAgeMs;
    for (const [jobId, sequence] of notificationUnknowns(jobEvents, this.memory, oldest).jobs) {
      const state = await this.repository.loadAtLeast(jobId, sequence);
      remember(this.memory.jobs, jobId, { notifications: state.spec?.notifications, deleted: !state.exists || state.deleted });
    }
    // With every job's settings known, the fires still missing are those of runs that notify.
    for (const { jobId, executionId, finishedSequence } of notificationUnknowns(jobEvents, this.memory, oldest).fires) {
      remember(this.memory.fires, executionId, await this.fireOf(jobId, executionId, finishedSequence));
    }
    return notificationPublications(jobEvents, this.memory, oldest);
  }

  /** When and which attempt an execution that fired before this saga's memory was: it was open just before it finished. */
  private async fireOf(jobId: string, executionId: string, finishedSequence: number): Promise<FireMemo> {
    const open = (await this.repository.loadBefore(jobId, finishedSequence)).openExecutions[executionId];
    if (!open) {
      this.log.warn(`no JobFired for execution ${executionId} of job ${jobId}`);
      return { scheduledAt: '', attempt: 1 };
    }
    return { scheduledAt: open.scheduledAt, attempt: open.attempt };
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MEMORY_LIMIT) map.delete(map.keys().next().value!);
}
