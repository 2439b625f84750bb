import type { EntityManager } from 'typeorm';
import type { JobEvent } from '../../domain/job/job.events.js';
import { jobEventsOf, type StoredEvent } from '../../events/stored-event.js';
import type { Projection } from '../checkpointed-projection.js';
import { storableInstant, storableJson } from '../storable.js';

export interface ExecutionRow {
  id: string;
  jobId: string;
  scheduledAt: string;
  attempt: number;
  trigger: string;
  status: string;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  output: unknown;
  error: string | null;
  workerId: string | null;
}

const EXECUTION_EVENTS = new Set<JobEvent['type']>(['JobFired', 'ExecutionStarted', 'ExecutionFinished', 'ExecutionSkipped', 'ExecutionCancelled']);

/** The `executions` read model: one row per attempt, from its JobFired to its ExecutionFinished. */
export class ExecutionsProjection implements Projection {
  readonly name = 'executions';

  async apply(db: EntityManager, events: StoredEvent[]): Promise<void> {
    const executionEvents = jobEventsOf(events).filter((e) => EXECUTION_EVENTS.has(e.type));
    if (executionEvents.length === 0) return;
    const ids = [...new Set(executionEvents.map((e) => (e.data as { executionId: string }).executionId))];
    const existing: ExecutionRow[] = await db.query(
      `SELECT id, job_id AS "jobId", scheduled_at AS "scheduledAt", attempt, trigger, status, queued_at AS "queuedAt",
              started_at AS "startedAt", finished_at AS "finishedAt", duration_ms AS "durationMs", output, error,
              worker_id AS "workerId"
       FROM executions WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    const rows = new Map(existing.map((row) => [row.id, row]));
    for (const event of executionEvents) {
      switch (event.type) {
        case 'JobFired':
          rows.set(event.data.executionId, {
            id: event.data.executionId,
            jobId: event.data.jobId,
            scheduledAt: event.data.scheduledAt,
            attempt: event.data.attempt,
            trigger: event.data.trigger,
            status: 'queued',
            queuedAt: event.data.firedAt,
            startedAt: null,
            finishedAt: null,
            durationMs: null,
            output: null,
            error: null,
            workerId: null,
          });
          break;
        case 'ExecutionStarted': {
          const row = rows.get(event.data.executionId);
          if (row) Object.assign(row, { status: 'running', startedAt: event.data.startedAt, workerId: event.data.workerId });
          break;
        }
        case 'ExecutionSkipped':
          // A skipped instant is an execution that never ran: its row says why.
          rows.set(event.data.executionId, {
            id: event.data.executionId,
            jobId: event.data.jobId,
            scheduledAt: event.data.scheduledAt,
            attempt: 0,
            trigger: 'schedule',
            status: 'skipped',
            queuedAt: event.data.skippedAt,
            startedAt: null,
            finishedAt: event.data.skippedAt,
            durationMs: null,
            output: { reason: event.data.reason },
            error: event.data.detail,
            workerId: null,
          });
          break;
        case 'ExecutionCancelled': {
          const row = rows.get(event.data.executionId);
          if (row) Object.assign(row, { status: 'cancelled', finishedAt: event.data.cancelledAt, error: event.data.detail });
          break;
        }
        case 'ExecutionFinished': {
          const row = rows.get(event.data.executionId);
          if (row) {
            Object.assign(row, {
              status: event.data.outcome,
              finishedAt: event.data.finishedAt,
              durationMs: event.data.durationMs,
              output: event.data.output ?? null,
              error: event.data.error ?? null,
            });
          }
          break;
        }
      }
    }
    await db.query(
      `INSERT INTO executions (id, job_id, scheduled_at, attempt, trigger, status, queued_at, started_at, finished_at,
                               duration_ms, output, error, worker_id)
       SELECT id, "jobId", "scheduledAt", attempt, trigger, status, "queuedAt", "startedAt", "finishedAt", "durationMs",
              output, error, "workerId"
       FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, "jobId" uuid, "scheduledAt" timestamptz, attempt int, trigger text,
            status text, "queuedAt" timestamptz, "startedAt" timestamptz, "finishedAt" timestamptz, "durationMs" int,
            output jsonb, error text, "workerId" text)
       ON CONFLICT (id) DO UPDATE SET
         status = EXCLUDED.status, started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at,
         duration_ms = EXCLUDED.duration_ms, output = EXCLUDED.output, error = EXCLUDED.error, worker_id = EXCLUDED.worker_id`,
      [
        storableJson(
          [...rows.values()].map((row) => ({
            ...row,
            scheduledAt: storableInstant(row.scheduledAt),
            queuedAt: storableInstant(row.queuedAt),
            startedAt: storableInstant(row.startedAt),
            finishedAt: storableInstant(row.finishedAt),
          })),
        ),
      ],
    );
  }
}
