import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { ReadModelCounts } from '../read-model-counts.js';
import type { ExecutionRow } from './executions.projection.js';

const COLUMNS = `e.id, e.job_id AS "jobId", e.scheduled_at AS "scheduledAt", e.attempt, e.trigger, e.status,
  e.queued_at AS "queuedAt", e.started_at AS "startedAt", e.finished_at AS "finishedAt", e.duration_ms AS "durationMs",
  e.output, e.error, e.worker_id AS "workerId"`;

/** Executions of one job, newest first. */
export class ListExecutionsQuery {
  constructor(
    readonly jobId: string,
    readonly status: string | undefined,
    readonly page: number,
    readonly limit: number,
  ) {}
}

/** One execution, visible only if its job is (owned by `ownerId`, not deleted). */
export class GetExecutionQuery {
  constructor(
    readonly executionId: string,
    readonly ownerId: string | undefined,
  ) {}
}

@QueryHandler(ListExecutionsQuery)
export class ListExecutionsHandler implements IQueryHandler<ListExecutionsQuery, { items: ExecutionRow[]; total: number }> {
  private readonly counts: ReadModelCounts;

  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {
    this.counts = new ReadModelCounts(dataSource, 'executions');
  }

  async execute({ jobId, status, page, limit }: ListExecutionsQuery): Promise<{ items: ExecutionRow[]; total: number }> {
    const params: unknown[] = [jobId];
    let where = 'job_id = $1';
    if (status) {
      params.push(status);
      where += ' AND status = $2';
    }
    // Ties broken in the order's direction: the index executions_job_queued read backwards; the page's ids
    // first, from the index alone, as ListJobsQuery does.
    const ids = `SELECT id FROM executions WHERE ${where} ORDER BY queued_at DESC, id DESC LIMIT ${limit} OFFSET ${(page - 1) * limit}`;
    const [state, items] = await Promise.all([
      this.counts.state(),
      this.dataSource.query(`SELECT ${COLUMNS} FROM executions e WHERE e.id IN (${ids}) ORDER BY e.queued_at DESC, e.id DESC`, params) as Promise<ExecutionRow[]>,
    ]);
    return { items, total: await this.counts.count(state, `executions WHERE ${where}`, params) };
  }
}

@QueryHandler(GetExecutionQuery)
export class GetExecutionHandler implements IQueryHandler<GetExecutionQuery, ExecutionRow | null> {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async execute({ executionId, ownerId }: GetExecutionQuery): Promise<ExecutionRow | null> {
    const rows = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM executions e JOIN jobs j ON j.id = e.job_id
       WHERE e.id = $1 AND ($2::uuid IS NULL OR j.owner_id = $2::uuid)`,
      [executionId, ownerId ?? null],
    );
    return rows[0] ?? null;
  }
}
