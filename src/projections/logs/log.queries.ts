import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import type { LogLevel } from '../../events/messages.js';
import { LOG_SEVERITY } from './execution-logs.projection.js';

export interface LogEntryRow {
  id: string;
  executionId: string;
  level: LogLevel;
  message: string;
  metadata: Record<string, unknown>;
  timestamp: string;
}

/** Log entries of one execution or of all a job's executions, oldest first, at or above `level`. */
export class ListLogsQuery {
  constructor(
    readonly scope: { executionId: string } | { jobId: string },
    readonly level: LogLevel | undefined,
    readonly page: number,
    readonly limit: number,
  ) {}
}

@QueryHandler(ListLogsQuery)
export class ListLogsHandler implements IQueryHandler<ListLogsQuery, { items: LogEntryRow[]; total: number }> {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async execute({ scope, level, page, limit }: ListLogsQuery): Promise<{ items: LogEntryRow[]; total: number }> {
    const column = 'executionId' in scope ? 'execution_id' : 'job_id';
    const params = ['executionId' in scope ? scope.executionId : scope.jobId, level ? LOG_SEVERITY[level] : 0];
    const where = `${column} = $1 AND severity >= $2`;
    const [{ total }] = await this.dataSource.query(`SELECT count(*)::int AS total FROM execution_logs WHERE ${where}`, params);
    const rows: (Omit<LogEntryRow, 'timestamp'> & { timestamp: Date })[] = await this.dataSource.query(
      `SELECT id, execution_id AS "executionId", level, message, metadata, timestamp FROM execution_logs WHERE ${where}
       ORDER BY timestamp, execution_id, seq LIMIT $3 OFFSET $4`,
      [...params, limit, (page - 1) * limit],
    );
    return { items: rows.map((row) => ({ ...row, timestamp: row.timestamp.toISOString() })), total };
  }
}
