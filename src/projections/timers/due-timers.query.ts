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

export interface DueTimers {
  instants: DueInstant[];
  retries: DueRetry[];
  /** The highest log position of any timer when the read began: the next read of changes starts after it. */
  position: number;
  /** A read stopped at DUE_LIMIT rows: there may be more due, which only a whole read of the horizon finds. */
  truncated: boolean;
}

/**
 * What a read asks for: every timer due by `horizon` (a whole read), or only those that entered the horizon
 * since `after.horizon` or changed since `after.position` (the timers projection moved them).
 */
export interface DueTimersRead {
  horizon: Date;
  after?: { horizon: Date; position: number };
}

/** At most this many of each per read: more would be armed at the next read, once these have fired. */
const DUE_LIMIT = 50_000;

const INSTANT = `SELECT job_id AS "jobId", scheduled_at AS "scheduledAt" FROM timers`;
const RETRY = `SELECT execution_id AS "executionId", job_id AS "jobId", retry_at AS "retryAt", correlation_id AS "correlationId" FROM retry_timers`;

/**
 * What the scheduler asks the timers read model: the instants and retries due by the horizon, soonest first.
 * An incremental read costs what changed and what entered the horizon (an index range each, `timers_due` and
 * `timers_position`), not the whole horizon: with a million schedules that is thousands of rows a second instead
 * of the horizon's tens of thousands on every notification.
 */
export async function dueTimers(dataSource: DataSource, read: DueTimersRead): Promise<DueTimers> {
  // Read first, so that a timer committed during the reads below is read again next time rather than missed.
  const [{ position }]: [{ position: string }] = await dataSource.query(
    `SELECT GREATEST((SELECT coalesce(max(position), 0) FROM timers), (SELECT coalesce(max(position), 0) FROM retry_timers)) AS position`,
  );
  const { horizon, after } = read;
  const rows = async <T>(select: string, at: string): Promise<T[]> =>
    after
      ? dataSource.query(
          `(${select} WHERE ${at} > $2 AND ${at} <= $1 ORDER BY ${at} LIMIT $4) UNION ALL (${select} WHERE position > $3 AND ${at} <= $1 ORDER BY position LIMIT $4)`,
          [horizon, after.horizon, after.position, DUE_LIMIT],
        )
      : dataSource.query(`${select} WHERE ${at} <= $1 ORDER BY ${at} LIMIT $2`, [horizon, DUE_LIMIT]);
  const [instants, retries] = await Promise.all([rows<DueInstant>(INSTANT, 'scheduled_at'), rows<DueRetry>(RETRY, 'retry_at')]);
  return { instants, retries, position: Number(position), truncated: instants.length >= DUE_LIMIT || retries.length >= DUE_LIMIT };
}
