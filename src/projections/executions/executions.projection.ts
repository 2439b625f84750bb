import type { EntityManager } from 'typeorm';
import type { JobEvent } from '../../domain/job/job.events.js';
import { jobEventsOf, type StoredEvent, type StoredJobEvent } from '../../events/stored-event.js';
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

/** The statuses that count toward a job's historyLimit: every way an execution ends. */
export const FINISHED_STATUSES = ['succeeded', 'failed', 'timed_out', 'skipped', 'cancelled'];

/**
 * The rows `events` (of executions, in log order) make of the `current` ones they touch, by execution id: a
 * JobFired or ExecutionSkipped writes its row, a start, cancel or finish updates a row it finds. Pure: `current`
 * is left as it was.
 */
export function executionRows(current: ReadonlyMap<string, ExecutionRow>, events: StoredJobEvent[]): ExecutionRow[] {
  const rows = new Map<string, ExecutionRow>();
  const rowOf = (id: string): ExecutionRow | undefined => {
    const row = rows.get(id) ?? current.get(id);
    if (row && !rows.has(id)) rows.set(id, { ...row });
    return rows.get(id);
  };
  for (const event of events) {
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
        const row = rowOf(event.data.executionId);
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
        const row = rowOf(event.data.executionId);
        if (row) Object.assign(row, { status: 'cancelled', finishedAt: event.data.cancelledAt, error: event.data.detail });
        break;
      }
      case 'ExecutionFinished': {
        const row = rowOf(event.data.executionId);
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
  return [...rows.values()];
}

/**
 * The `executions` read model: one row per attempt, from its JobFired to its ExecutionFinished, kept while it is
 * within the retention policy (docs/architecture.md, Retention): a row older than the horizon (the day partitions
 * dropped) is not written, and a job with a `historyLimit` keeps that many finished rows, newest first; the logs of
 * a row that leaves go with it. Each job's limit lives in `execution_history_limits`, from its events.
 */
export class ExecutionsProjection implements Projection {
  readonly name = 'executions';

  async apply(db: EntityManager, events: StoredEvent[]): Promise<void> {
    // A limit applies from where it changed: the rows before a job's change are trimmed with the limit they were
    // written under, so the result does not depend on where batches begin and end (a rebuild gives the live rows).
    let segment: StoredJobEvent[] = [];
    const inSegment = new Set<string>();
    const limits = new Map<string, number | null>();
    const flush = async () => {
      await this.writeLimits(db, limits);
      limits.clear();
      await this.applyExecutions(db, segment);
      segment = [];
      inSegment.clear();
    };
    for (const event of jobEventsOf(events)) {
      if (event.type === 'JobCreated' || event.type === 'JobUpdated' || event.type === 'JobDeleted' || event.type === 'HistoryEpochClosed') {
        if (inSegment.has(event.aggregateId)) await flush();
        // An epoch restates the limit: a log purged up to it has no JobCreated or JobUpdated that set it.
        const spec = event.type === 'JobDeleted' ? null : event.type === 'HistoryEpochClosed' ? event.data.state.spec : event.data.spec;
        const limit = spec?.historyLimit ?? null;
        // A new job without a limit has no row to remove: nothing to write (bulk creates stay one statement).
        if (limit !== null || event.type !== 'JobCreated') limits.set(event.aggregateId, limit);
      } else if (EXECUTION_EVENTS.has(event.type)) {
        segment.push(event);
        inSegment.add(event.aggregateId);
      }
    }
    await flush();
  }

  private async writeLimits(db: EntityManager, limits: Map<string, number | null>): Promise<void> {
    const cleared = [...limits].filter(([, limit]) => limit === null).map(([jobId]) => jobId);
    const set = [...limits].filter(([, limit]) => limit !== null).map(([jobId, limit]) => ({ jobId, limit }));
    if (cleared.length) await db.query(`DELETE FROM execution_history_limits WHERE job_id = ANY($1::uuid[])`, [cleared]);
    if (set.length) {
      await db.query(
        `INSERT INTO execution_history_limits (job_id, history_limit)
         SELECT "jobId", "limit" FROM jsonb_to_recordset($1::jsonb) AS l("jobId" uuid, "limit" int)
         ON CONFLICT (job_id) DO UPDATE SET history_limit = EXCLUDED.history_limit`,
        [JSON.stringify(set)],
      );
    }
  }

  private async applyExecutions(db: EntityManager, executionEvents: StoredJobEvent[]): Promise<void> {
    if (executionEvents.length === 0) return;
    const ids = [...new Set(executionEvents.map((e) => (e.data as { executionId: string }).executionId))];
    const existing: ExecutionRow[] = await db.query(
      `SELECT id, job_id AS "jobId", scheduled_at AS "scheduledAt", attempt, trigger, status, queued_at AS "queuedAt",
              started_at AS "startedAt", finished_at AS "finishedAt", duration_ms AS "durationMs", output, error,
              worker_id AS "workerId"
       FROM executions WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    const rows = executionRows(new Map(existing.map((row) => [row.id, row])), executionEvents);
    await db.query(
      `INSERT INTO executions (id, job_id, scheduled_at, attempt, trigger, status, queued_at, started_at, finished_at,
                               duration_ms, output, error, worker_id)
       SELECT id, "jobId", "scheduledAt", attempt, trigger, status, "queuedAt", "startedAt", "finishedAt", "durationMs",
              output, error, "workerId"
       FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, "jobId" uuid, "scheduledAt" timestamptz, attempt int, trigger text,
            status text, "queuedAt" timestamptz, "startedAt" timestamptz, "finishedAt" timestamptz, "durationMs" int,
            output jsonb, error text, "workerId" text)
       WHERE "queuedAt" >= COALESCE((SELECT horizon FROM history_horizons WHERE name = 'executions'), '-infinity')
       ON CONFLICT (id, queued_at) DO UPDATE SET
         status = EXCLUDED.status, started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at,
         duration_ms = EXCLUDED.duration_ms, output = EXCLUDED.output, error = EXCLUDED.error, worker_id = EXCLUDED.worker_id`,
      [
        storableJson(
          rows.map((row) => ({
            ...row,
            scheduledAt: storableInstant(row.scheduledAt),
            queuedAt: storableInstant(row.queuedAt),
            startedAt: storableInstant(row.startedAt),
            finishedAt: storableInstant(row.finishedAt),
          })),
        ),
      ],
    );
    await this.trim(db, [...new Set(executionEvents.map((e) => e.aggregateId))]);
  }

  /** The finished rows of these jobs beyond their historyLimit, newest kept; their logs leave with them. */
  private async trim(db: EntityManager, jobIds: string[]): Promise<void> {
    const trimmed: { id: string }[] = await db.query(
      `WITH ranked AS (
         SELECT e.id, e.queued_at, l.history_limit,
                row_number() OVER (PARTITION BY e.job_id ORDER BY e.queued_at DESC, e.id DESC) AS n
         FROM executions e JOIN execution_history_limits l ON l.job_id = e.job_id
         WHERE e.job_id = ANY($1::uuid[]) AND e.status = ANY($2::text[])
       )
       DELETE FROM executions e USING ranked r WHERE e.id = r.id AND e.queued_at = r.queued_at AND r.n > r.history_limit
       RETURNING e.id`,
      [jobIds, FINISHED_STATUSES],
    );
    if (trimmed.length) await db.query(`DELETE FROM execution_logs WHERE execution_id = ANY($1::uuid[])`, [trimmed.map((row) => row.id)]);
  }
}
