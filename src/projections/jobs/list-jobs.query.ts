import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import type { JobState } from '../../domain/job/job.state.js';
import { ReadModelCounts } from '../read-model-counts.js';
import type { JobStats } from './jobs.projection.js';

export const JOB_SORT_FIELDS = { createdAt: 'created_at', nextRunAt: 'next_run_at', name: 'name', updatedAt: 'updated_at' } as const;

export interface JobFilter {
  ownerId?: string;
  status?: string;
  type?: string;
  scheduleKind?: string;
  /** `key` (the label is present) or `key=value`. */
  label?: string;
  q?: string;
  sort: keyof typeof JOB_SORT_FIELDS;
  order: 'asc' | 'desc';
  page: number;
  limit: number;
}

export class ListJobsQuery {
  constructor(readonly filter: JobFilter) {}
}

export interface JobRecord {
  state: JobState;
  stats: JobStats;
}

@QueryHandler(ListJobsQuery)
export class ListJobsHandler implements IQueryHandler<ListJobsQuery, { items: JobRecord[]; total: number }> {
  private readonly counts: ReadModelCounts;

  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {
    this.counts = new ReadModelCounts(dataSource, 'jobs');
  }

  async execute({ filter }: ListJobsQuery): Promise<{ items: JobRecord[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.ownerId) add('owner_id = ?', filter.ownerId);
    if (filter.status) add('status = ?', filter.status);
    if (filter.type) add('type = ?', filter.type);
    if (filter.scheduleKind) add('schedule_kind = ?', filter.scheduleKind);
    if (filter.label) {
      const [key, ...rest] = filter.label.split('=');
      if (rest.length) add('labels @> ?::jsonb', JSON.stringify({ [key!]: rest.join('=') }));
      else add('labels ->> ? IS NOT NULL', key);
    }
    if (filter.q) add(`(name ILIKE ? ESCAPE '\\' OR description ILIKE $${params.length + 1} ESCAPE '\\')`, `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    // The page's ids first, from the index alone (jobs_owner_* in migration 1764500000000): an OFFSET walks
    // the rows it skips, and reading only ids lets it skip them in the index, not in the table.
    const page = `SELECT id FROM jobs ${whereSql} ORDER BY ${orderBy(filter)} LIMIT ${filter.limit} OFFSET ${(filter.page - 1) * filter.limit}`;
    const [state, items] = await Promise.all([
      this.counts.state(),
      this.dataSource.query(`SELECT state, stats FROM jobs WHERE id IN (${page}) ORDER BY ${orderBy(filter)}`, params) as Promise<JobRecord[]>,
    ]);
    return { items, total: await this.counts.count(state, `jobs ${whereSql}`, params) };
  }
}

/**
 * The order of a list, the id breaking ties in the same direction so that one index serves both directions
 * (read backwards for the other); nextRunAt, which may be null, puts jobs without one last either way.
 */
function orderBy(filter: Pick<JobFilter, 'sort' | 'order'>): string {
  const direction = filter.order === 'asc' ? 'ASC' : 'DESC';
  const column = JOB_SORT_FIELDS[filter.sort];
  return `${column} ${direction}${filter.sort === 'nextRunAt' ? ' NULLS LAST' : ''}, id ${direction}`;
}
