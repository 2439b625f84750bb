import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';

export interface DashboardStats {
  jobs: { total: number; byStatus: Record<string, number>; byType: Record<string, number> };
  executions: {
    last24h: { total: number; succeeded: number; failed: number; successRate: number | null; p50DurationMs: number | null; p95DurationMs: number | null };
    perHour: { hour: string; succeeded: number; failed: number }[];
  };
  upcoming: { id: string; name: string; nextRunAt: string; scheduleKind: string }[];
  recentFailures: { executionId: string; jobId: string; jobName: string; status: string; error: string | null; finishedAt: string }[];
}

/** The caller's jobs at a glance (all jobs for admins), from the read models. */
export class DashboardStatsQuery {
  constructor(
    readonly ownerId: string | undefined,
    readonly now: Date,
  ) {}
}

@QueryHandler(DashboardStatsQuery)
export class DashboardStatsHandler implements IQueryHandler<DashboardStatsQuery, DashboardStats> {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async execute({ ownerId, now }: DashboardStatsQuery): Promise<DashboardStats> {
    const owner = ownerId ?? null;
    const since = new Date(now.getTime() - 24 * 3_600_000);
    // 24 whole hours, the current one last: the chart's buckets, empty ones included.
    const hours = Array.from({ length: 24 }, (_, i) => Math.floor(now.getTime() / 3_600_000) * 3_600_000 - (23 - i) * 3_600_000);
    const [byStatus, byType, [last24h], upcoming, failures, perHour] = await Promise.all([
      this.dataSource.query(`SELECT status, count(*)::int AS n FROM jobs WHERE ($1::uuid IS NULL OR owner_id = $1) GROUP BY status`, [owner]),
      this.dataSource.query(`SELECT type, count(*)::int AS n FROM jobs WHERE ($1::uuid IS NULL OR owner_id = $1) GROUP BY type`, [owner]),
      this.dataSource.query(
        `SELECT count(*)::int AS total,
                count(*) FILTER (WHERE e.status = 'succeeded')::int AS succeeded,
                count(*) FILTER (WHERE e.status IN ('failed', 'timed_out'))::int AS failed,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY e.duration_ms) AS p50,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY e.duration_ms) AS p95
         FROM executions e JOIN jobs j ON j.id = e.job_id
         WHERE ($1::uuid IS NULL OR j.owner_id = $1) AND e.finished_at >= $2 AND e.status IN ('succeeded', 'failed', 'timed_out')`,
        [owner, since],
      ),
      this.dataSource.query(
        `SELECT id, name, next_run_at AS "nextRunAt", schedule_kind AS "scheduleKind" FROM jobs
         WHERE ($1::uuid IS NULL OR owner_id = $1) AND status = 'active' AND next_run_at IS NOT NULL ORDER BY next_run_at LIMIT 10`,
        [owner],
      ),
      this.dataSource.query(
        `SELECT e.id AS "executionId", e.job_id AS "jobId", j.name AS "jobName", e.status, e.error, e.finished_at AS "finishedAt"
         FROM executions e JOIN jobs j ON j.id = e.job_id
         WHERE ($1::uuid IS NULL OR j.owner_id = $1) AND e.status IN ('failed', 'timed_out') ORDER BY e.finished_at DESC LIMIT 10`,
        [owner],
      ),
      this.dataSource.query(
        `SELECT to_timestamp(floor(extract(epoch FROM e.finished_at) / 3600) * 3600) AS hour, -- UTC hours, whatever the session's zone
                count(*) FILTER (WHERE e.status = 'succeeded')::int AS succeeded,
                count(*) FILTER (WHERE e.status IN ('failed', 'timed_out'))::int AS failed
         FROM executions e JOIN jobs j ON j.id = e.job_id
         WHERE ($1::uuid IS NULL OR j.owner_id = $1) AND e.finished_at >= $2 AND e.status IN ('succeeded', 'failed', 'timed_out')
         GROUP BY 1`,
        [owner, new Date(hours[0]!)],
      ),
    ]);
    const byHour = new Map<number, { succeeded: number; failed: number }>(perHour.map((row: { hour: Date; succeeded: number; failed: number }) => [row.hour.getTime(), row]));
    const count = (rows: { n: number }[]) => rows.reduce((sum, row) => sum + row.n, 0);
    const toMap = (rows: { n: number }[], key: string) => Object.fromEntries(rows.map((row) => [(row as unknown as Record<string, string>)[key], row.n]));
    const done = last24h.succeeded + last24h.failed;
    const ms = (value: number | null) => (value === null ? null : Math.round(Number(value)));
    return {
      jobs: { total: count(byStatus), byStatus: toMap(byStatus, 'status'), byType: toMap(byType, 'type') },
      executions: {
        last24h: {
          total: last24h.total,
          succeeded: last24h.succeeded,
          failed: last24h.failed,
          successRate: done ? Math.round((last24h.succeeded / done) * 1000) / 1000 : null,
          p50DurationMs: ms(last24h.p50),
          p95DurationMs: ms(last24h.p95),
        },
        perHour: hours.map((hour) => ({ hour: new Date(hour).toISOString(), succeeded: byHour.get(hour)?.succeeded ?? 0, failed: byHour.get(hour)?.failed ?? 0 })),
      },
      upcoming: upcoming.map((row: { nextRunAt: Date }) => ({ ...row, nextRunAt: row.nextRunAt.toISOString() })),
      recentFailures: failures.map((row: { finishedAt: Date }) => ({ ...row, finishedAt: row.finishedAt.toISOString() })),
    };
  }
}
