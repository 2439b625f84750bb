import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';

export interface DeadLetterRow {
  id: string;
  jobId: string;
  executionId: string;
  scheduledAt: string;
  attempts: number;
  lastError: string;
  reason: string;
  deadLetteredAt: string;
}

const COLUMNS = `d.id, d.job_id AS "jobId", d.execution_id AS "executionId", d.scheduled_at AS "scheduledAt", d.attempts,
  d.last_error AS "lastError", d.reason, d.dead_lettered_at AS "deadLetteredAt"`;

const toRow = (row: Omit<DeadLetterRow, 'scheduledAt' | 'deadLetteredAt'> & { scheduledAt: Date; deadLetteredAt: Date }): DeadLetterRow => ({
  ...row,
  scheduledAt: row.scheduledAt.toISOString(),
  deadLetteredAt: row.deadLetteredAt.toISOString(),
});

/** Open dead letters of the owner's jobs (all, for admins), newest first. */
export class ListDeadLettersQuery {
  constructor(
    readonly ownerId: string | undefined,
    readonly page: number,
    readonly limit: number,
  ) {}
}

/** One open dead letter, visible only if its job is. */
export class GetDeadLetterQuery {
  constructor(
    readonly id: string,
    readonly ownerId: string | undefined,
  ) {}
}

@QueryHandler(ListDeadLettersQuery)
export class ListDeadLettersHandler implements IQueryHandler<ListDeadLettersQuery, { items: DeadLetterRow[]; total: number }> {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async execute({ ownerId, page, limit }: ListDeadLettersQuery): Promise<{ items: DeadLetterRow[]; total: number }> {
    const where = `($1::uuid IS NULL OR j.owner_id = $1::uuid)`;
    const [{ total }] = await this.dataSource.query(`SELECT count(*)::int AS total FROM dead_letters d JOIN jobs j ON j.id = d.job_id WHERE ${where}`, [ownerId ?? null]);
    const rows = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM dead_letters d JOIN jobs j ON j.id = d.job_id WHERE ${where}
       ORDER BY d.dead_lettered_at DESC, d.id LIMIT $2 OFFSET $3`,
      [ownerId ?? null, limit, (page - 1) * limit],
    );
    return { items: rows.map(toRow), total };
  }
}

@QueryHandler(GetDeadLetterQuery)
export class GetDeadLetterHandler implements IQueryHandler<GetDeadLetterQuery, DeadLetterRow | null> {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async execute({ id, ownerId }: GetDeadLetterQuery): Promise<DeadLetterRow | null> {
    const rows = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM dead_letters d JOIN jobs j ON j.id = d.job_id WHERE d.id = $1 AND ($2::uuid IS NULL OR j.owner_id = $2::uuid)`,
      [id, ownerId ?? null],
    );
    return rows[0] ? toRow(rows[0]) : null;
  }
}
