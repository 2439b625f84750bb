import { Inject, Injectable, Logger } from '@nestjs/common';
import { JobRepository } from '../commands/job.repository.js';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { notificationIdFor } from '../commands/ids.js';
import type { Notifications } from '../domain/job/job-spec.js';
import type { NotificationTrigger } from '../domain/job/job.events.js';
import type { NotificationItem } from '../events/messages.js';
import { jobEventsOf, type StoredEvent } from '../events/stored-event.js';
import { notifySubject } from '../events/streams.js';
import { channelsFor } from '../notifications/notification.js';
import type { Publication, Reaction } from './reaction.js';

/** How many jobs' settings and open executions the saga remembers (oldest forgotten first; a miss reads the log). */
const MEMORY_LIMIT = 100_000;

interface JobMemo {
  notifications: Partial<Notifications> | undefined;
  deleted: boolean;
}

interface FireMemo {
  scheduledAt: string;
  attempt: number;
}

/**
 * Turns outcomes into notification work: on `ExecutionDeadLettered` (the fire failed for good; when the job's
 * `notifications.onFailure`, default true) and on a succeeded `ExecutionFinished` (when `onSuccess`, default
 * false) it queues one item per channel (email always, webhook when `webhookUrl` is set) on CHRONOS_NOTIFY.
 * It never sends anything itself, so a slow mail server or webhook never holds up the event log.
 *
 * Each item's `Nats-Msg-Id` is its deterministic notification id, and the reactor acknowledges the batch only
 * after every publish is confirmed: a redelivered batch enqueues nothing twice, and a crash loses nothing.
 *
 * The job's notification settings are followed from the log itself (JobCreated/JobUpdated/JobDeleted) rather
 * than loaded per event; a job first seen mid-stream is read once from the log. Events older than
 * `NOTIFY_MAX_EVENT_AGE_MS` are not notified: a saga started on an existing log replays it from the start.
 */
@Injectable()
export class NotificationsReaction implements Reaction {
  readonly name = 'notifications';
  private readonly log = new Logger(NotificationsReaction.name);
  private readonly jobs = new Map<string, JobMemo>();
  private readonly fires = new Map<string, FireMemo>();
  /** The last stream sequence seen: a gap means another process ran the saga meanwhile, so memory is stale. */
  private lastSequence = 0;

  constructor(
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
    private readonly repository: JobRepository,
  ) {}

  async react(events: StoredEvent[]): Promise<Publication[]> {
    const items: NotificationItem[] = [];
    const oldest = Date.now() - this.config.notifications.maxEventAgeMs;
    const first = events[0]?.sequence;
    if (first !== undefined && first > this.lastSequence + 1) {
      this.jobs.clear();
      this.fires.clear();
    }
    this.lastSequence = Math.max(this.lastSequence, events[events.length - 1]?.sequence ?? 0);
    for (const event of jobEventsOf(events)) {
      switch (event.type) {
        case 'JobCreated':
        case 'JobUpdated': {
          const { jobId, spec } = event.data;
          remember(this.jobs, jobId, { notifications: spec.notifications, deleted: false });
          break;
        }
        case 'JobDeleted':
          remember(this.jobs, event.aggregateId, { notifications: undefined, deleted: true });
          break;
        case 'JobFired': {
          const { executionId, scheduledAt, attempt } = event.data;
          remember(this.fires, executionId, { scheduledAt, attempt });
          break;
        }
        case 'ExecutionCancelled':
          this.fires.delete(event.data.executionId);
          break;
        case 'ExecutionDeadLettered': {
          const { data } = event;
          if (Date.parse(event.occurredAt) < oldest) break;
          const memo = await this.settings(data.jobId, event.sequence);
          items.push(
            ...this.itemsFor(memo, 'failure', data.deadLetterId, {
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
          const fire = this.fires.get(data.executionId);
          this.fires.delete(data.executionId);
          if (data.outcome !== 'succeeded' || Date.parse(event.occurredAt) < oldest) break;
          const memo = await this.settings(data.jobId, event.sequence);
          if (channelsFor(memo.notifications, 'success').length === 0 || memo.deleted) break;
          const { scheduledAt, attempt } = fire ?? (await this.fireOf(data.jobId, data.executionId, event.sequence));
          items.push(
            ...this.itemsFor(memo, 'success', data.executionId, {
              jobId: data.jobId,
              eventSequence: event.sequence,
              executionId: data.executionId,
              scheduledAt,
              attempts: attempt,
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

  private itemsFor(
    memo: JobMemo,
    trigger: NotificationTrigger,
    subjectId: string,
    facts: Omit<NotificationItem, 'notificationId' | 'channel' | 'trigger'>,
  ): NotificationItem[] {
    if (memo.deleted) return [];
    return channelsFor(memo.notifications, trigger).map((channel) => ({
      notificationId: notificationIdFor(facts.jobId, subjectId, channel, trigger),
      channel,
      trigger,
      ...facts,
    }));
  }

  /** The job's notification settings: remembered from the log, or read from it once. */
  private async settings(jobId: string, sequence: number): Promise<JobMemo> {
    const known = this.jobs.get(jobId);
    if (known) return known;
    const state = await this.repository.loadAtLeast(jobId, sequence);
    const memo: JobMemo = { notifications: state.spec?.notifications, deleted: !state.exists || state.deleted };
    remember(this.jobs, jobId, memo);
    return memo;
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
