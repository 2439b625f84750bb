import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { JOB_TYPES } from '../../domain/job/job-spec.js';
import { JOB_SORT_FIELDS } from '../../projections/jobs/list-jobs.query.js';
import { INSTANT_DESCRIPTION, IsInstant } from './instant.decorator.js';
import { SCHEDULE_KINDS } from './schedule.dto.js';

/**
 * A query integer is decimal digits and nothing else: `Number()` would also read `1e3`, `0x10`, ` 1` or
 * `1.0`. Anything else stays text, which the integer check then refuses.
 */
export const QueryInteger = () => Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value));

export class PageQueryDto {
  @ApiPropertyOptional({ minimum: 1, default: 1 })
  @IsOptional()
  @QueryInteger()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  page: number = 1;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @QueryInteger()
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;
}

export const JOB_STATUSES = ['active', 'paused', 'completed', 'failed', 'cancelled'] as const;
export const EXECUTION_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'skipped', 'cancelled'] as const;

export class ListJobsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: JOB_STATUSES })
  @IsOptional()
  @IsIn(JOB_STATUSES)
  status?: string;

  @ApiPropertyOptional({ enum: JOB_TYPES })
  @IsOptional()
  @IsIn(JOB_TYPES)
  type?: string;

  @ApiPropertyOptional({ enum: SCHEDULE_KINDS })
  @IsOptional()
  @IsIn(SCHEDULE_KINDS)
  scheduleKind?: string;

  @ApiPropertyOptional({ description: '`key` (has the label) or `key=value`', example: 'team=billing' })
  @IsOptional()
  @IsString()
  @MaxLength(320)
  label?: string;

  @ApiPropertyOptional({ description: 'text search in name and description' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;

  @ApiPropertyOptional({ enum: Object.keys(JOB_SORT_FIELDS), default: 'createdAt' })
  @IsOptional()
  @IsIn(Object.keys(JOB_SORT_FIELDS))
  sort: keyof typeof JOB_SORT_FIELDS = 'createdAt';

  @ApiPropertyOptional({ enum: ['asc', 'desc'], default: 'desc' })
  @IsOptional()
  @IsIn(['asc', 'desc'])
  order: 'asc' | 'desc' = 'desc';
}

export class UpcomingQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 24 * 366, default: 24 })
  @IsOptional()
  @QueryInteger()
  @IsInt()
  @Min(1)
  @Max(24 * 366)
  withinHours: number = 24;
}

export class PreviewQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 10 })
  @IsOptional()
  @QueryInteger()
  @IsInt()
  @Min(1)
  @Max(100)
  count: number = 10;
}

export class JobAsOfQueryDto {
  @ApiPropertyOptional({ format: 'date-time', description: `answer the job as it stood then, folded from its events; ${INSTANT_DESCRIPTION}` })
  @IsOptional()
  @IsInstant()
  asOf?: string;
}

export class ListLogsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: ['debug', 'info', 'warn', 'error'], description: 'the lowest level to include' })
  @IsOptional()
  @IsIn(['debug', 'info', 'warn', 'error'])
  level?: 'debug' | 'info' | 'warn' | 'error';
}

export class ListExecutionsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: EXECUTION_STATUSES })
  @IsOptional()
  @IsIn(EXECUTION_STATUSES)
  status?: string;
}
