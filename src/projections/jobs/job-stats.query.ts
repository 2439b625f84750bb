import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import type { JobStats } from './jobs.projection.js';

/** A job's execution statistics from the read model (the job itself is read from the log). */
export class JobStatsQuery {
  constructor(readonly jobId: string) {}
}

@QueryHandler(JobStatsQuery)
export class JobStatsHandler implements IQueryHandler<JobStatsQuery, JobStats | null> {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async execute({ jobId }: JobStatsQuery): Promise<JobStats | null> {
    const rows = await this.dataSource.query(`SELECT stats FROM jobs WHERE id = $1`, [jobId]);
    return rows[0]?.stats ?? null;
  }
}
