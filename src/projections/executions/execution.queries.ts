import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
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
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async execute({ jobId, status, page, limit }: ListExecutionsQuery): Promise<{ items: ExecutionRow[]; total: number }> {
    const params: unknown[] = [jobId];
    let where = 'e.job_id = $1';
    if (status) {
      params.push(status);
      where += ' AND e.status = $2';
    }
    const [{ total }] = await this.dataSource.query(`SELECT count(*)::int AS total FROM executions e WHERE ${where}`, params);
    const items = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM executions e WHERE ${where} ORDER BY e.queued_at DESC, e.id LIMIT ${limit} OFFSET ${(page - 1) * limit}`,
      params,
    );
    return { items, total };
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
