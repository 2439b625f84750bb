import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import type { JobRecord } from './list-jobs.query.js';

/** One job's row of the `jobs` read model: its state as projected and its execution statistics. */
export class JobRecordQuery {
  constructor(readonly jobId: string) {}
}

/** The row, and whether its state is the job exactly as the log has it up to the read model's checkpoint. */
export type JobRecordRow = JobRecord & { exact: boolean };

/**
 * The row, or null when the read model has none (not projected yet, or deleted). Not `exact`: the read model
 * holds the job back (a stall, src/projections/stalls.ts), so its row is behind the log; or a text of it is
 * stored with U+FFFD in place of what PostgreSQL cannot hold (src/projections/storable.ts), which the log keeps.
 */
@QueryHandler(JobRecordQuery)
export class JobRecordHandler implements IQueryHandler<JobRecordQuery, JobRecordRow | null> {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async execute({ jobId }: JobRecordQuery): Promise<JobRecordRow | null> {
    const rows: JobRecordRow[] = await this.dataSource.query(
      `SELECT state, stats,
              NOT EXISTS (SELECT 1 FROM projection_stalls WHERE projection = 'jobs' AND aggregate_id = $2)
                AND strpos(state::text, chr(65533)) = 0 AS exact
       FROM jobs WHERE id = $1`,
      [jobId, jobId],
    );
    return rows[0] ?? null;
  }
}
