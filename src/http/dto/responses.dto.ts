import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { BACKOFF_KINDS, CONCURRENCY_POLICIES, JOB_TYPES, MISFIRE_POLICIES } from '../../domain/job/job-spec.js';
import { AtScheduleDto, CronScheduleDto, ImmediateScheduleDto, IntervalScheduleDto, type ScheduleDto } from './schedule.dto.js';
import { scheduleSchema } from './job.dto.js';
import { JSON_VALUE } from './json-value.schema.js';

export class RetryPolicyResponseDto {
  @ApiProperty() maxAttempts!: number;
  @ApiProperty({ enum: BACKOFF_KINDS }) backoff!: string;
  @ApiProperty() delayMs!: number;
  @ApiProperty() maxDelayMs!: number;
  @ApiProperty() jitter!: boolean;
}

export class NotificationsResponseDto {
  @ApiProperty() onFailure!: boolean;
  @ApiProperty() onSuccess!: boolean;
  @ApiPropertyOptional() email?: string;
  @ApiPropertyOptional() webhookUrl?: string;
  @ApiPropertyOptional({ description: 'true when a webhook secret is set (the secret itself is never returned)' }) webhookSigned?: boolean;
}

export class JobStatsDto {
  @ApiProperty() totalExecutions!: number;
  @ApiProperty() succeeded!: number;
  @ApiProperty() failed!: number;
  @ApiProperty({ nullable: true, type: Number }) averageDurationMs!: number | null;
}

@ApiExtraModels(ImmediateScheduleDto, AtScheduleDto, CronScheduleDto, IntervalScheduleDto)
export class JobDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) ownerId!: string;
  @ApiProperty() name!: string;
  @ApiPropertyOptional() description?: string;
  @ApiProperty({ enum: JOB_TYPES }) type!: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) payload!: Record<string, unknown>;
  @ApiProperty(scheduleSchema) schedule!: ScheduleDto;
  @ApiProperty({ type: RetryPolicyResponseDto }) retryPolicy!: RetryPolicyResponseDto;
  @ApiProperty() timeoutMs!: number;
  @ApiProperty({ enum: CONCURRENCY_POLICIES }) concurrencyPolicy!: string;
  @ApiProperty({ enum: MISFIRE_POLICIES }) misfirePolicy!: string;
  @ApiProperty({ type: NotificationsResponseDto }) notifications!: NotificationsResponseDto;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) labels!: Record<string, string>;
  @ApiPropertyOptional({ minimum: 1, description: 'finished executions kept in the history, newest first; absent: only HISTORY_RETENTION_DAYS applies' }) historyLimit?: number;
  @ApiProperty({ enum: ['active', 'paused', 'completed', 'failed', 'cancelled'] }) status!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) nextRunAt!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) lastRunAt!: string | null;
  @ApiProperty({ enum: ['succeeded', 'failed', 'timed_out'], nullable: true, type: String }) lastRunStatus!: string | null;
  @ApiProperty({ description: 'increases with every change; sent as the ETag' }) version!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ type: JobStatsDto }) stats!: JobStatsDto;
}

export class PageMetaDto {
  @ApiProperty() page!: number;
  @ApiProperty() limit!: number;
  @ApiProperty() total!: number;
  @ApiProperty() totalPages!: number;
}

export class JobListDto extends PageMetaDto {
  @ApiProperty({ type: 'array', items: { $ref: getSchemaPath('Job') } }) items!: JobDto[];
}

/** The output of an http or webhook run: the target's answer. */
export class HttpOutputDto {
  @ApiProperty() status!: number;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, description: 'lower-case names; a value as UTF-8 text when its bytes are UTF-8, else as Latin-1' })
  headers!: Record<string, string>;
  @ApiProperty({ description: 'the first 4 KiB of the body (after Content-Encoding is undone): its text, or its base64 (bodyEncoding)' }) body!: string;
  @ApiProperty({ enum: ['utf8', 'base64'], description: 'base64 when the bytes are not UTF-8 text without NUL' }) bodyEncoding!: 'utf8' | 'base64';
  @ApiProperty({ description: 'bytes of the body read (decoded): its size, unless bodyIncomplete says reading stopped early' }) bodyBytes!: number;
  @ApiProperty({ description: 'body holds less than the whole body' }) bodyTruncated!: boolean;
  @ApiPropertyOptional({ description: 'why reading stopped before the end of the body: a read cap, a decoding error, the connection closing' }) bodyIncomplete?: string;
}

/** The output of a script run. */
export class ScriptOutputDto {
  @ApiProperty({ nullable: true, type: Number }) exitCode!: number | null;
  @ApiProperty({ nullable: true, type: String, example: 'SIGTERM' }) signal!: string | null;
  @ApiProperty() stdoutBytes!: number;
  @ApiProperty() stderrBytes!: number;
  @ApiProperty({ description: 'more output than SCRIPT_OUTPUT_CAP_BYTES: the rest is counted, not logged' }) truncated!: boolean;
}

/** The output of an email run (or of a refused one: the rejected addresses). */
export class EmailOutputDto {
  @ApiPropertyOptional() messageId?: string;
  @ApiPropertyOptional({ type: [String] }) accepted?: string[];
  @ApiProperty({ type: [String] }) rejected!: string[];
}

@ApiExtraModels(HttpOutputDto, ScriptOutputDto, EmailOutputDto)
export class ExecutionDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) jobId!: string;
  @ApiProperty({ format: 'date-time' }) scheduledAt!: string;
  @ApiProperty() attempt!: number;
  @ApiProperty({ enum: ['schedule', 'manual', 'retry', 'misfire'] }) trigger!: string;
  @ApiProperty({ enum: ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'skipped', 'cancelled'] }) status!: string;
  @ApiProperty({ format: 'date-time' }) queuedAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) startedAt!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) finishedAt!: string | null;
  @ApiProperty({ nullable: true, type: Number }) durationMs!: number | null;
  @ApiProperty({
    anyOf: [{ $ref: getSchemaPath(HttpOutputDto) }, { $ref: getSchemaPath(ScriptOutputDto) }, { $ref: getSchemaPath(EmailOutputDto) }, ...JSON_VALUE.anyOf],
    description:
      "what the run returned, always JSON of at most 64 KiB, by the job's type: http and webhook the answer, script its exit, email the message id; custom: the handler's value as JSON (strings without U+0000 or lone surrogates, a BigInt as a string, bytes as { encoding, data, bytes, truncated }, \"[circular]\"), or { truncated, limitBytes, preview } when larger",
  })
  output!: unknown;
  @ApiProperty({ nullable: true, type: String }) error!: string | null;
  @ApiProperty({ nullable: true, type: String }) workerId!: string | null;
}

export class ExecutionListDto extends PageMetaDto {
  @ApiProperty({ type: [ExecutionDto] }) items!: ExecutionDto[];
}

export class PreviewItemDto {
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiPropertyOptional({ description: 'set when a DST transition moved or doubled this instant' }) note?: string;
}

export class PreviewDto {
  @ApiProperty({ type: [PreviewItemDto] }) items!: PreviewItemDto[];
}

export class UpcomingJobDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ format: 'date-time' }) nextRunAt!: string;
  @ApiProperty({ enum: ['immediate', 'at', 'cron', 'interval'] }) scheduleKind!: string;
}

export class UpcomingJobsDto {
  @ApiProperty({ type: [UpcomingJobDto] }) items!: UpcomingJobDto[];
}

export class StoredEventDto {
  @ApiProperty({ description: 'stream sequence of the message that carried the event' }) sequence!: number;
  @ApiProperty({ description: 'position of the event inside that message (one message per command)' }) index!: number;
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'JobPaused' }) type!: string;
  @ApiProperty({ example: 'job' }) aggregateType!: string;
  @ApiProperty() aggregateId!: string;
  @ApiProperty({ description: 'schema version of data' }) version!: number;
  @ApiProperty({ format: 'date-time' }) occurredAt!: string;
  @ApiProperty({ example: 'user:8f14…' }) actor!: string;
  @ApiProperty({ description: 'what the command that produced it reacted to (the JobFired a worker ran, for its results), or that command itself' }) causationId!: string;
  @ApiProperty() correlationId!: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) data!: unknown;
}

export class StoredEventListDto extends PageMetaDto {
  @ApiProperty({ type: [StoredEventDto] }) items!: StoredEventDto[];
}

export class DeadLetterDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) jobId!: string;
  @ApiProperty({ format: 'uuid', description: 'the last attempt' }) executionId!: string;
  @ApiProperty({ format: 'date-time' }) scheduledAt!: string;
  @ApiProperty() attempts!: number;
  @ApiProperty() lastError!: string;
  @ApiProperty({ enum: ['attempts_exhausted', 'not_retryable', 'max_deliveries'] }) reason!: string;
  @ApiProperty({ format: 'date-time' }) deadLetteredAt!: string;
}

export class DeadLetterListDto extends PageMetaDto {
  @ApiProperty({ type: [DeadLetterDto] }) items!: DeadLetterDto[];
}

export class LogEntryDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) executionId!: string;
  @ApiProperty({ enum: ['debug', 'info', 'warn', 'error'] }) level!: string;
  @ApiProperty() message!: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata!: Record<string, unknown>;
  @ApiProperty({ format: 'date-time' }) timestamp!: string;
}

export class LogEntryListDto extends PageMetaDto {
  @ApiProperty({ type: [LogEntryDto] }) items!: LogEntryDto[];
}

export class TriggerResultDto {
  @ApiProperty({ format: 'uuid' }) executionId!: string;
}

export class ProblemFieldDto {
  @ApiProperty({
    description:
      'the offending field: a dotted path into the body (`labels.team`, `payload.headers.X-A`, `payload.args.2`), a query or route parameter (`q`, `id`), ' +
      '`path` for a path that is not percent-encoded UTF-8, `body` for a body that is not JSON or too deep, or a header (`Last-Event-ID`); control characters and unpaired surrogates in a key are written as \\uXXXX, the empty key as ""',
    example: 'labels.team',
  })
  field!: string;
  @ApiProperty() message!: string;
}

export class ProblemDto {
  @ApiProperty() type!: string;
  @ApiProperty() title!: string;
  @ApiProperty() status!: number;
  @ApiProperty() detail!: string;
  @ApiProperty() instance!: string;
  @ApiProperty({
    example: 'VALIDATION_FAILED',
    description:
      'stable UPPER_SNAKE code. VALIDATION_FAILED is 400 for a field of the wrong shape and 422 for a value no part of the pipeline can carry unchanged, ' +
      'in any field, query parameter, route parameter or header: U+0000, an unpaired UTF-16 surrogate, a number that overflows a double, a key named __proto__, constructor or prototype',
  })
  code!: string;
  @ApiPropertyOptional({ type: [ProblemFieldDto] }) errors?: ProblemFieldDto[];
}
