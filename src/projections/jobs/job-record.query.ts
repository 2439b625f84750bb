import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import type { JobRecord } from './list-jobs.query.js';

/** One job's row of the `jobs` read model: its state as projected and its execution statistics. */
export class JobRecordQuery {
  constructor(readonly jobId: string) {}
}

/**
 * The row, or null when the read model has none (not projected yet, or deleted). `heldBack` says the read
 * model skips this job's events (a stall, src/projections/stalls.ts): its state there is behind the log.
 */
@QueryHandler(JobRecordQuery)
export class JobRecordHandler implements IQueryHandler<JobRecordQuery, (JobRecord & { heldBack: boolean }) | null> {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async execute({ jobId }: JobRecordQuery): Promise<(JobRecord & { heldBack: boolean }) | null> {
    const rows: (JobRecord & { heldBack: boolean })[] = await this.dataSource.query(
      `SELECT state, stats, EXISTS (SELECT 1 FROM projection_stalls WHERE projection = 'jobs' AND aggregate_id = $2) AS "heldBack"
       FROM jobs WHERE id = $1`,
      [jobId, jobId],
    );
    return rows[0] ?? null;
  }
}
