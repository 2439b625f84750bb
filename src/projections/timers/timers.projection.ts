import type { EntityManager } from 'typeorm';
import { jobEventsOf, type StoredEvent } from '../../events/stored-event.js';
import type { Projection } from '../checkpointed-projection.js';
import { storableInstant, storableJson } from '../storable.js';

interface RetryTimer {
  jobId: string;
  retryAt: string;
  correlationId: string;
}

/** Channel on which the timers projection announces a commit, so the scheduler need not wait for its next poll. */
export const TIMERS_CHANNEL = 'chronos_timers';

/**
 * The `timers` read model: each active job's next instant. Every event that moves a job's next instant
 * carries it (`nextRunAt`); events that stop a job clear its timer.
 */
export class TimersProjection implements Projection {
  readonly name = 'timers';

  async apply(db: EntityManager, events: StoredEvent[]): Promise<void> {
    const next = new Map<string, string | null>();
    // Retry timers, by the failed execution's id: its retry instant (and the failed run's correlation), or null once retried.
    const retries = new Map<string, RetryTimer | null>();
    const deletedJobs: string[] = [];
    for (const event of jobEventsOf(events)) {
      switch (event.type) {
        case 'JobCreated':
        case 'JobUpdated':
        case 'JobRescheduled':
        case 'JobResumed':
          next.set(event.aggregateId, event.data.nextRunAt);
          break;
        case 'JobFired':
          if (event.data.trigger === 'schedule' || event.data.trigger === 'misfire') next.set(event.aggregateId, event.data.nextRunAt);
          if (event.data.retryOf) retries.set(event.data.retryOf, null);
          break;
        case 'RetryScheduled':
          retries.set(event.data.executionId, { jobId: event.data.jobId, retryAt: event.data.retryAt, correlationId: event.correlationId });
          break;
        case 'ExecutionSkipped':
          next.set(event.aggregateId, event.data.nextRunAt);
          break;
        case 'HistoryEpochClosed':
          // The epoch restates the timer (a log purged up to it has no earlier event that set it); it closes no pending retry.
          next.set(event.aggregateId, event.data.state.nextRunAt);
          break;
        case 'JobDeleted':
          deletedJobs.push(event.aggregateId);
          next.set(event.aggregateId, null);
          break;
        case 'JobPaused':
        case 'JobCancelled':
        case 'JobCompleted':
        case 'JobFailed':
          next.set(event.aggregateId, null);
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
    await this.applyRetries(db, retries, deletedJobs);
    if (next.size === 0) return;
    const due = [...next].filter(([, at]) => at !== null).map(([jobId, scheduledAt]) => ({ jobId, scheduledAt: storableInstant(scheduledAt) }));
    const cleared = [...next].filter(([, at]) => at === null).map(([jobId]) => jobId);
    if (cleared.length) await db.query(`DELETE FROM timers WHERE job_id = ANY($1::uuid[])`, [cleared]);
    if (due.length) {
      await db.query(
        `INSERT INTO timers (job_id, scheduled_at)
         SELECT "jobId", "scheduledAt" FROM jsonb_to_recordset($1::jsonb) AS t("jobId" uuid, "scheduledAt" timestamptz)
         ON CONFLICT (job_id) DO UPDATE SET scheduled_at = EXCLUDED.scheduled_at`,
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
        `INSERT INTO retry_timers (execution_id, job_id, retry_at, correlation_id)
         SELECT "executionId", "jobId", "retryAt", "correlationId"
         FROM jsonb_to_recordset($1::jsonb) AS t("executionId" uuid, "jobId" uuid, "retryAt" timestamptz, "correlationId" text)
         ON CONFLICT (execution_id) DO UPDATE SET retry_at = EXCLUDED.retry_at, correlation_id = EXCLUDED.correlation_id`,
        [storableJson(scheduled)],
      );
      await db.query(`SELECT pg_notify($1, $2)`, [TIMERS_CHANNEL, String(scheduled.length)]);
    }
  }
}
