import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';

export interface UpcomingJob {
  id: string;
  name: string;
  nextRunAt: string;
  scheduleKind: string;
}

/** The caller's active jobs due within the window, soonest first (at most `limit`). */
export class UpcomingJobsQuery {
  constructor(
    readonly ownerId: string | undefined,
    readonly until: Date,
    readonly limit: number,
  ) {}
}

@QueryHandler(UpcomingJobsQuery)
export class UpcomingJobsHandler implements IQueryHandler<UpcomingJobsQuery, UpcomingJob[]> {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async execute({ ownerId, until, limit }: UpcomingJobsQuery): Promise<UpcomingJob[]> {
    const rows: { id: string; name: string; nextRunAt: Date; scheduleKind: string }[] = await this.dataSource.query(
      `SELECT id, name, next_run_at AS "nextRunAt", schedule_kind AS "scheduleKind" FROM jobs
       WHERE status = 'active' AND next_run_at IS NOT NULL AND next_run_at <= $1 AND ($2::uuid IS NULL OR owner_id = $2::uuid)
       ORDER BY next_run_at, id LIMIT $3`,
      [until, ownerId ?? null, limit],
    );
    return rows.map((row) => ({ ...row, nextRunAt: row.nextRunAt.toISOString() }));
  }
}
