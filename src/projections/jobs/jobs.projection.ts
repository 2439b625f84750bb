import type { EntityManager } from 'typeorm';
import { evolve, initialState, type JobState } from '../../domain/job/job.state.js';
import { jobEventsOf, type StoredEvent, type StoredJobEvent } from '../../events/stored-event.js';
import type { Projection } from '../checkpointed-projection.js';
import { storableInstant, storableJson } from '../storable.js';

export interface JobStats {
  totalExecutions: number;
  succeeded: number;
  failed: number;
  totalDurationMs: number;
}

const emptyStats = (): JobStats => ({ totalExecutions: 0, succeeded: 0, failed: 0, totalDurationMs: 0 });

/** One job as the `jobs` read model keeps it: its folded state and its execution statistics. */
export interface JobRow {
  state: JobState;
  stats: JobStats;
}

/** What a batch does to the `jobs` table: the rows to write (insert or replace) and the ids to delete. */
export interface JobRowChanges {
  upserts: JobRow[];
  deletes: string[];
}

/**
 * The `jobs` rows after `events`, given the rows they touch as they are (`current`, by job id): each job
 * folded with the domain's own `evolve` (one way to fold a job), plus its execution statistics. Pure.
 */
export function projectJobs(current: ReadonlyMap<string, JobRow>, events: StoredJobEvent[]): JobRowChanges {
  const jobs = new Map<string, JobRow>();
  for (const event of events) {
    const before = jobs.get(event.aggregateId) ?? current.get(event.aggregateId);
    const job = { state: before?.state ?? initialState(), stats: { ...(before?.stats ?? emptyStats()) } };
    job.state = evolve(job.state, event);
    // What the closed history counted: the same figures live, the only ones a log purged up to the epoch has.
    if (event.type === 'HistoryEpochClosed') job.stats = { ...event.data.stats };
    if (event.type === 'ExecutionFinished') {
      job.stats.totalExecutions += 1;
      job.stats.totalDurationMs += event.data.durationMs;
      if (event.data.outcome === 'succeeded') job.stats.succeeded += 1;
      else job.stats.failed += 1;
    }
    jobs.set(event.aggregateId, job);
  }
  const rows = [...jobs.entries()];
  return {
    upserts: rows.filter(([, job]) => job.state.exists && !job.state.deleted).map(([, job]) => job),
    deletes: rows.filter(([, job]) => job.state.deleted).map(([id]) => id),
  };
}

/** The `jobs` read model (projectJobs): a batch reads the rows it touches once and writes them back in one statement. */
export class JobsProjection implements Projection {
  readonly name = 'jobs';

  async apply(db: EntityManager, events: StoredEvent[]): Promise<void> {
    const jobEvents = jobEventsOf(events);
    const ids = [...new Set(jobEvents.map((e) => e.aggregateId))];
    if (ids.length === 0) return;
    const rows: { id: string; state: JobState; stats: JobStats }[] = await db.query(
      `SELECT id, state, stats FROM jobs WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    // States written before a field was added lack it: the initial state supplies its default.
    const { upserts: live, deletes: deleted } = projectJobs(new Map(rows.map((row) => [row.id, { state: { ...initialState(), ...row.state }, stats: row.stats }])), jobEvents);
    if (deleted.length) await db.query(`DELETE FROM jobs WHERE id = ANY($1::uuid[])`, [deleted]);
    if (live.length === 0) return;
    await db.query(
      `INSERT INTO jobs (id, owner_id, name, description, type, schedule_kind, status, next_run_at, last_run_at, labels,
                         version, created_at, updated_at, state, stats)
       SELECT (j.state->>'jobId')::uuid, (j.state->>'ownerId')::uuid, j.state->'spec'->>'name', j.state->'spec'->>'description',
              j.state->'spec'->>'type', j.state->'spec'->'schedule'->>'kind', j.state->>'status',
              j."nextRunAt", j."lastRunAt", j.state->'spec'->'labels', (j.state->>'version')::int, j."createdAt", j."updatedAt",
              j.state, j.stats
       FROM jsonb_to_recordset($1::jsonb)
            AS j(state jsonb, stats jsonb, "nextRunAt" timestamptz, "lastRunAt" timestamptz, "createdAt" timestamptz, "updatedAt" timestamptz)
       ON CONFLICT (id) DO UPDATE SET
         name = EXCLUDED.name, description = EXCLUDED.description, type = EXCLUDED.type,
         schedule_kind = EXCLUDED.schedule_kind, status = EXCLUDED.status, next_run_at = EXCLUDED.next_run_at,
         last_run_at = EXCLUDED.last_run_at, labels = EXCLUDED.labels, version = EXCLUDED.version,
         updated_at = EXCLUDED.updated_at, state = EXCLUDED.state, stats = EXCLUDED.stats`,
      [
        storableJson(
          live.map(({ state, stats }) => ({
            state,
            stats,
            nextRunAt: storableInstant(state.nextRunAt),
            lastRunAt: storableInstant(state.lastRunAt),
            createdAt: storableInstant(state.createdAt),
            updatedAt: storableInstant(state.updatedAt),
          })),
        ),
      ],
    );
  }
}
