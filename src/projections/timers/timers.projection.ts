import type { EntityManager } from 'typeorm';
import type { JobEvent } from '../../domain/job/job.events.js';
import type { StoredEvent } from '../../events/stored-event.js';
import type { Projection } from '../checkpointed-projection.js';

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
    for (const stored of events) {
      if (stored.aggregateType !== 'job') continue;
      const event = { type: stored.type, data: stored.data } as JobEvent;
      switch (event.type) {
        case 'JobCreated':
        case 'JobUpdated':
        case 'JobRescheduled':
        case 'JobResumed':
          next.set(stored.aggregateId, event.data.nextRunAt);
          break;
        case 'JobFired':
          if (event.data.trigger === 'schedule' || event.data.trigger === 'misfire') next.set(stored.aggregateId, event.data.nextRunAt);
          break;
        case 'ExecutionSkipped':
          next.set(stored.aggregateId, event.data.nextRunAt);
          break;
        case 'JobPaused':
        case 'JobCancelled':
        case 'JobDeleted':
        case 'JobCompleted':
        case 'JobFailed':
          next.set(stored.aggregateId, null);
          break;
        case 'ExecutionStarted':
        case 'ExecutionFinished':
        case 'ExecutionCancelled':
          break;
        default: {
          const _exhaustive: never = event;
          return _exhaustive;
        }
      }
    }
    if (next.size === 0) return;
    const due = [...next].filter(([, at]) => at !== null).map(([jobId, scheduledAt]) => ({ jobId, scheduledAt }));
    const cleared = [...next].filter(([, at]) => at === null).map(([jobId]) => jobId);
    if (cleared.length) await db.query(`DELETE FROM timers WHERE job_id = ANY($1::uuid[])`, [cleared]);
    if (due.length) {
      await db.query(
        `INSERT INTO timers (job_id, scheduled_at)
         SELECT "jobId", "scheduledAt" FROM jsonb_to_recordset($1::jsonb) AS t("jobId" uuid, "scheduledAt" timestamptz)
         ON CONFLICT (job_id) DO UPDATE SET scheduled_at = EXCLUDED.scheduled_at`,
        [JSON.stringify(due)],
      );
      // Delivered when the transaction commits, never for a rolled-back batch.
      await db.query(`SELECT pg_notify($1, $2)`, [TIMERS_CHANNEL, String(due.length)]);
    }
  }
}
