import type { DataSource } from 'typeorm';

/** A job's next instant, as the timers read model keeps it. */
export interface DueInstant {
  jobId: string;
  scheduledAt: Date;
}

/** The retry that follows a failed attempt, in the failed run's correlation (null for timers from before it was kept). */
export interface DueRetry {
  executionId: string;
  jobId: string;
  retryAt: Date;
  correlationId: string | null;
}

/** At most this many of each per read: more would be armed at the next read, once these have fired. */
const DUE_LIMIT = 50_000;

/** What the scheduler asks the timers read model: the instants and retries due by `horizon`, soonest first. */
export async function dueTimers(dataSource: DataSource, horizon: Date): Promise<{ instants: DueInstant[]; retries: DueRetry[] }> {
  const [instants, retries]: [DueInstant[], DueRetry[]] = await Promise.all([
    dataSource.query(`SELECT job_id AS "jobId", scheduled_at AS "scheduledAt" FROM timers WHERE scheduled_at <= $1 ORDER BY scheduled_at LIMIT $2`, [horizon, DUE_LIMIT]),
    dataSource.query(
      `SELECT execution_id AS "executionId", job_id AS "jobId", retry_at AS "retryAt", correlation_id AS "correlationId" FROM retry_timers WHERE retry_at <= $1 ORDER BY retry_at LIMIT $2`,
      [horizon, DUE_LIMIT],
    ),
  ]);
  return { instants, retries };
}
