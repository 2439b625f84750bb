import type { EntityManager } from 'typeorm';
import { jobEventsOf, type StoredEvent, type StoredJobEvent } from '../../events/stored-event.js';
import type { Projection } from '../checkpointed-projection.js';
import { storableInstant, storableJson } from '../storable.js';

export interface RetryTimer {
  jobId: string;
  retryAt: string;
  correlationId: string;
  /** The log position of the event that set it. */
  position: number;
}

/** A job's next instant (null: none) and the log position of the event that set it. */
export interface NextInstant {
  at: string | null;
  position: number;
}

/** Channel on which the timers projection announces a commit, so the scheduler need not wait for its next poll. */
export const TIMERS_CHANNEL = 'chronos_timers';

/** What a batch does to the timers: each job's next instant (null: none), each retry timer (null: done), the jobs deleted. */
export interface TimerChanges {
  next: Map<string, NextInstant>;
  /** By the failed execution's id: its retry instant and the failed run's correlation, or null once retried. */
  retries: Map<string, RetryTimer | null>;
  deletedJobs: string[];
}

/**
 * The timers `events` set and clear: every event that moves a job's next instant carries it (`nextRunAt`);
 * events that stop a job clear its timer; a retry is a timer of its own until its fire. Each change keeps the
 * log position of the event that made it, so the scheduler can read only what changed since its last read. Pure.
 */
export function timerChanges(events: StoredJobEvent[]): TimerChanges {
  const next = new Map<string, NextInstant>();
  const retries = new Map<string, RetryTimer | null>();
  const deletedJobs: string[] = [];
  for (const event of events) {
    switch (event.type) {
      case 'JobCreated':
      case 'JobUpdated':
      case 'JobRescheduled':
      case 'JobResumed':
        next.set(event.aggregateId, { at: event.data.nextRunAt, position: event.sequence });
        break;
      case 'JobFired':
        if (event.data.trigger === 'schedule' || event.data.trigger === 'misfire') next.set(event.aggregateId, { at: event.data.nextRunAt, position: event.sequence });
        if (event.data.retryOf) retries.set(event.data.retryOf, null);
        break;
      case 'RetryScheduled':
        retries.set(event.data.executionId, { jobId: event.data.jobId, retryAt: event.data.retryAt, correlationId: event.correlationId, position: event.sequence });
        break;
      case 'ExecutionSkipped':
        next.set(event.aggregateId, { at: event.data.nextRunAt, position: event.sequence });
        break;
      case 'HistoryEpochClosed':
        // The epoch restates the timer (a log purged up to it has no earlier event that set it); it closes no pending retry.
        next.set(event.aggregateId, { at: event.data.state.nextRunAt, position: event.sequence });
        break;
      case 'JobDeleted':
        deletedJobs.push(event.aggregateId);
        next.set(event.aggregateId, { at: null, position: event.sequence });
        break;
      case 'JobPaused':
      case 'JobCancelled':
      case 'JobCompleted':
      case 'JobFailed':
        next.set(event.aggregateId, { at: null, position: event.sequence });
        break;
      case 'ExecutionStarted':
      case 'ExecutionFinished':
      case 'ExecutionCancelled':
      case 'ExecutionDeadLettered':
      case 'DeadLetterRetried':
      case 'DeadLetterDiscarded':
      case 'NotificationSent':
      case 'NotificationFailed':
        break;
      default: {
        const _exhaustive: never = event;
        return _exhaustive;
      }
    }
  }
  return { next, retries, deletedJobs };
}

/** The `timers` read model (timerChanges): each active job's next instant, and the retries due. */
export class TimersProjection implements Projection {
  readonly name = 'timers';

  async apply(db: EntityManager, events: StoredEvent[]): Promise<void> {
    const { next, retries, deletedJobs } = timerChanges(jobEventsOf(events));
    await this.applyRetries(db, retries, deletedJobs);
    if (next.size === 0) return;
    const due = [...next].filter(([, { at }]) => at !== null).map(([jobId, { at, position }]) => ({ jobId, scheduledAt: storableInstant(at!), position }));
    const cleared = [...next].filter(([, { at }]) => at === null).map(([jobId]) => jobId);
    if (cleared.length) await db.query(`DELETE FROM timers WHERE job_id = ANY($1::uuid[])`, [cleared]);
    if (due.length) {
      await db.query(
        `INSERT INTO timers (job_id, scheduled_at, position)
         SELECT "jobId", "scheduledAt", "position" FROM jsonb_to_recordset($1::jsonb) AS t("jobId" uuid, "scheduledAt" timestamptz, "position" bigint)
         ON CONFLICT (job_id) DO UPDATE SET scheduled_at = EXCLUDED.scheduled_at, position = EXCLUDED.position`,
        [storableJson(due)],
      );
      // Delivered when the transaction commits, never for a rolled-back batch.
      await db.query(`SELECT pg_notify($1, $2)`, [TIMERS_CHANNEL, String(due.length)]);
    }
  }

  private async applyRetries(db: EntityManager, retries: Map<string, RetryTimer | null>, deletedJobs: string[]): Promise<void> {
    const scheduled = [...retries]
      .filter(([, timer]) => timer !== null)
      .map(([executionId, timer]) => ({ executionId, ...timer!, retryAt: storableInstant(timer!.retryAt) }));
    const done = [...retries].filter(([, timer]) => timer === null).map(([executionId]) => executionId);
    if (done.length) await db.query(`DELETE FROM retry_timers WHERE execution_id = ANY($1::uuid[])`, [done]);
    if (deletedJobs.length) await db.query(`DELETE FROM retry_timers WHERE job_id = ANY($1::uuid[])`, [deletedJobs]);
    if (scheduled.length) {
      await db.query(
        `INSERT INTO retry_timers (execution_id, job_id, retry_at, correlation_id, position)
         SELECT "executionId", "jobId", "retryAt", "correlationId", "position"
         FROM jsonb_to_recordset($1::jsonb) AS t("executionId" uuid, "jobId" uuid, "retryAt" timestamptz, "correlationId" text, "position" bigint)
         ON CONFLICT (execution_id) DO UPDATE SET retry_at = EXCLUDED.retry_at, correlation_id = EXCLUDED.correlation_id, position = EXCLUDED.position`,
        [storableJson(scheduled)],
      );
      await db.query(`SELECT pg_notify($1, $2)`, [TIMERS_CHANNEL, String(scheduled.length)]);
    }
  }
}
