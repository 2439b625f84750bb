import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { JOB_TYPES } from '../../domain/job/job-spec.js';
import { JOB_STATUSES } from './list-query.dto.js';
import { UpcomingJobDto } from './responses.dto.js';

const countsOf = (keys: readonly string[], description: string) => ({
  type: 'object' as const,
  description,
  properties: Object.fromEntries(keys.map((key) => [key, { type: 'integer' as const }])),
  additionalProperties: false,
});

export class JobCountsDto {
  @ApiProperty() total!: number;
  @ApiProperty(countsOf(JOB_STATUSES, 'jobs per status; a status without jobs is absent')) byStatus!: Record<string, number>;
  @ApiProperty(countsOf(JOB_TYPES, 'jobs per type; a type without jobs is absent')) byType!: Record<string, number>;
}

export class ExecutionsLast24hDto {
  @ApiProperty({ description: 'finished runs (succeeded, failed or timed out)' }) total!: number;
  @ApiProperty() succeeded!: number;
  @ApiProperty({ description: 'failed or timed out' }) failed!: number;
  @ApiProperty({ nullable: true, type: Number, minimum: 0, maximum: 1, description: 'null without finished runs' }) successRate!: number | null;
  @ApiProperty({ nullable: true, type: Number }) p50DurationMs!: number | null;
  @ApiProperty({ nullable: true, type: Number }) p95DurationMs!: number | null;
}

export class ExecutionsPerHourDto {
  @ApiProperty({ format: 'date-time', description: 'the start of the hour' }) hour!: string;
  @ApiProperty() succeeded!: number;
  @ApiProperty({ description: 'failed or timed out' }) failed!: number;
}

export class ExecutionStatsDto {
  @ApiProperty({ type: ExecutionsLast24hDto }) last24h!: ExecutionsLast24hDto;
  @ApiProperty({ type: [ExecutionsPerHourDto], description: 'the last 24 hours, oldest first, one item per hour (the last one is the current hour)' })
  perHour!: ExecutionsPerHourDto[];
}

export class RecentFailureDto {
  @ApiProperty({ format: 'uuid' }) executionId!: string;
  @ApiProperty({ format: 'uuid' }) jobId!: string;
  @ApiProperty() jobName!: string;
  @ApiProperty({ enum: ['failed', 'timed_out'] }) status!: string;
  @ApiProperty({ nullable: true, type: String }) error!: string | null;
  @ApiProperty({ format: 'date-time' }) finishedAt!: string;
}

export class DashboardStatsDto {
  @ApiProperty({ type: JobCountsDto }) jobs!: JobCountsDto;
  @ApiProperty({ type: ExecutionStatsDto }) executions!: ExecutionStatsDto;
  @ApiProperty({ type: [UpcomingJobDto], description: 'the next 10 active jobs due' }) upcoming!: UpcomingJobDto[];
  @ApiProperty({ type: [RecentFailureDto], description: 'the last 10 failed or timed-out runs' }) recentFailures!: RecentFailureDto[];
}

export class ServiceHealthDto {
  @ApiProperty({ enum: ['up', 'down'] }) status!: 'up' | 'down';
  @ApiProperty({ nullable: true, type: Number, description: 'null when down' }) latencyMs!: number | null;
}

export class ServicesHealthDto {
  @ApiProperty({ type: ServiceHealthDto }) postgres!: ServiceHealthDto;
  @ApiProperty({ type: ServiceHealthDto }) redis!: ServiceHealthDto;
  @ApiProperty({ type: ServiceHealthDto }) nats!: ServiceHealthDto;
}

export class StreamHealthDto {
  @ApiProperty() messages!: number;
  @ApiProperty() lastSequence!: number;
  @ApiProperty({ description: 'copies the NATS cluster keeps (NATS_REPLICAS, NATS_EVENTS_REPLICAS)' }) replicas!: number;
  @ApiProperty({ nullable: true, type: String, description: 'the NATS server leading the stream; null on a server that is not clustered, or while it has no leader' }) leader!: string | null;
}

export class SchedulerHealthDto {
  @ApiProperty({ nullable: true, type: String, description: 'CHRONOS_INSTANCE_ID of the scheduler holding the lease (the active one); null while none does' }) activeInstance!: string | null;
}

export class ProjectionStallDto {
  @ApiProperty({ description: 'the event-log sequence of the first message the read model could not apply' }) sequence!: number;
  @ApiProperty() code!: string;
  @ApiProperty({ format: 'date-time' }) since!: string;
}

export class ProjectionHealthDto {
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'the last event-log sequence applied' }) position!: number;
  @ApiProperty({ description: 'messages in the event log not applied yet' }) lagEvents!: number;
  @ApiProperty({ enum: ['live', 'stalled'], description: 'stalled: it could not apply an event and holds back that job (GET /api/v1/admin/projections)' }) status!: 'live' | 'stalled';
  @ApiProperty({ description: 'jobs held back (0 unless stalled)' }) stalledJobs!: number;
  @ApiPropertyOptional({ type: ProjectionStallDto, description: 'while stalled: the oldest failure' }) stalledAt?: ProjectionStallDto;
}

@ApiExtraModels(StreamHealthDto)
export class DashboardHealthDto {
  @ApiProperty({ enum: ['ok', 'degraded'] }) status!: 'ok' | 'degraded';
  @ApiProperty({ type: ServicesHealthDto }) services!: ServicesHealthDto;
  @ApiProperty({
    type: 'object',
    description: 'each stream by name (CHRONOS_EVENTS, CHRONOS_WORK, CHRONOS_LIFECYCLE, CHRONOS_LOGS); null when it cannot be read',
    additionalProperties: { type: 'object', nullable: true, allOf: [{ $ref: getSchemaPath(StreamHealthDto) }] },
  })
  streams!: Record<string, StreamHealthDto | null>;
  @ApiProperty({ type: [ProjectionHealthDto] }) projections!: ProjectionHealthDto[];
  @ApiProperty({ type: SchedulerHealthDto }) scheduler!: SchedulerHealthDto;
}
