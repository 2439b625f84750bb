import { Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiExtraModels,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { NotFoundError } from '../domain/errors.js';
import { EVENT_STORE, type EventStore } from '../events/event-store.js';
import { READ_MODEL_NAMES, READ_MODELS } from '../projections/read-models.js';
import { ProjectionRebuilds } from '../projections/rebuild/projection-rebuilds.js';
import { listStalls, resumeStalled, type ProjectionStall } from '../projections/stalls.js';
import { AdminOnly } from './auth/public.decorator.js';
import { ProblemDto } from './dto/responses.dto.js';
import { SkipRateLimit } from './rate-limit/rate-limit.guard.js';

class RebuildProgressDto {
  @ApiProperty({ format: 'uuid' }) rebuildId!: string;
  @ApiProperty({ description: 'the last event-log sequence applied to the new tables' }) position!: number;
  @ApiProperty({ description: 'the end of the event log when last looked at; it moves up while events keep coming' }) target!: number;
  @ApiProperty({ minimum: 0, maximum: 100 }) percent!: number;
  @ApiProperty() eventsPerSecond!: number;
  @ApiProperty({ nullable: true, type: Number }) etaSeconds!: number | null;
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
}

class RebuildOutcomeDto {
  @ApiProperty({ format: 'uuid' }) rebuildId!: string;
  @ApiProperty({ enum: ['succeeded', 'failed'] }) status!: 'succeeded' | 'failed';
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiProperty({ format: 'date-time' }) finishedAt!: string;
  @ApiPropertyOptional() error?: string;
}

class StalledAtDto {
  @ApiProperty({ description: 'the event-log sequence of the first message the read model could not apply' }) sequence!: number;
  @ApiProperty({ enum: ['UNSTORABLE_VALUE', 'CONSTRAINT_VIOLATION', 'REFUSED_BY_DATABASE', 'PROJECTION_ERROR'] }) code!: string;
  @ApiProperty({ format: 'date-time' }) since!: string;
  @ApiProperty({ format: 'uuid', description: 'the job whose events are held back' }) jobId!: string;
  @ApiProperty({ example: 'ExecutionStarted+ExecutionFinished', description: "the failing message's event types" }) eventType!: string;
  @ApiProperty({ description: "the database's or the projection's error" }) error!: string;
}

class StallDto extends StalledAtDto {
  @ApiProperty({ enum: READ_MODEL_NAMES }) projection!: string;
}

class ResumeOutcomeDto {
  @ApiProperty({ type: [String], description: 'jobs whose held-back events are now applied' }) resumed!: string[];
  @ApiProperty({ type: [StallDto], description: 'jobs that still fail, with the error of this attempt' }) stillStalled!: StallDto[];
}

class ProjectionStatusDto {
  @ApiProperty({ enum: READ_MODEL_NAMES, example: 'jobs' }) name!: string;
  @ApiProperty({ description: 'the last event-log sequence applied to the tables that serve reads' }) position!: number;
  @ApiProperty({ description: 'messages in the event log not applied yet' }) lagEvents!: number;
  @ApiProperty({
    enum: ['live', 'rebuilding', 'stalled'],
    description: 'stalled: the read model could not apply an event; it holds back that job (and any other such) and applies every other job\'s events',
  })
  status!: 'live' | 'rebuilding' | 'stalled';
  @ApiProperty({ description: 'jobs held back (0 unless stalled)' }) stalledJobs!: number;
  @ApiPropertyOptional({ type: StalledAtDto, description: 'while stalled: the oldest failure' }) stalledAt?: StalledAtDto;
  @ApiPropertyOptional({ type: RebuildProgressDto, description: 'while rebuilding' }) progress?: RebuildProgressDto;
  @ApiPropertyOptional({ type: RebuildOutcomeDto, description: 'the last finished rebuild' }) lastRebuild?: RebuildOutcomeDto;
}

/** The read models for admins: how far each is, and their blue/green rebuild from the event log. */
@ApiTags('admin')
@ApiBearerAuth()
@AdminOnly()
@ApiForbiddenResponse({ type: ProblemDto, description: 'ADMIN_ONLY' })
@ApiExtraModels(RebuildProgressDto, RebuildOutcomeDto, StalledAtDto)
@Controller('admin/projections')
export class AdminProjectionsController {
  constructor(
    private readonly rebuilds: ProjectionRebuilds,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(EVENT_STORE) private readonly events: EventStore,
  ) {}

  @Get()
  // Watched while a rebuild runs (`chronos projections rebuild` polls it twice a second): a cheap read for admins only.
  @SkipRateLimit()
  @ApiOperation({ summary: 'Each read model: its position in the event log, its lag, and its rebuild if one runs' })
  @ApiOkResponse({ type: [ProjectionStatusDto] })
  list(): Promise<ProjectionStatusDto[]> {
    return this.rebuilds.statuses();
  }

  @Post(':name/rebuild')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Rebuild a read model from the first event into new tables, swapped in when caught up; reads keep working throughout',
    description: 'Follow it with GET /admin/projections: `status` is `rebuilding` with `progress` until the swap, then `live` with `lastRebuild`.',
  })
  @ApiParam({ name: 'name', enum: READ_MODEL_NAMES })
  @ApiAcceptedResponse({ type: ProjectionStatusDto })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'PROJECTION_NOT_FOUND' })
  @ApiConflictResponse({ type: ProblemDto, description: 'REBUILD_IN_PROGRESS' })
  rebuild(@Param('name') name: string): Promise<ProjectionStatusDto> {
    return this.rebuilds.start(name);
  }

  @Get(':name/stalls')
  @SkipRateLimit()
  @ApiOperation({ summary: 'The jobs a stalled read model holds back, each with the message it could not apply and why' })
  @ApiParam({ name: 'name', enum: READ_MODEL_NAMES })
  @ApiOkResponse({ type: [StallDto] })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'PROJECTION_NOT_FOUND' })
  stalls(@Param('name') name: string): Promise<StallDto[]> {
    return listStalls(this.dataSource, projectionNamed(name).name).then((stalls) => stalls.map(toStallDto));
  }

  @Post(':name/resume')
  @HttpCode(200)
  @ApiOperation({
    summary: "Apply a stalled read model's held-back jobs again, from the event that failed, once its cause is fixed",
    description:
      'Each held-back job is applied again from the message that failed up to the live position, in one transaction that holds the ' +
      'live checkpoint; a job that fails again stays held back with the new error. Nothing is skipped: the read model stays a replay ' +
      'of the log. A blue/green rebuild (POST /admin/projections/:name/rebuild) also clears the stalls when it is swapped in.',
  })
  @ApiParam({ name: 'name', enum: READ_MODEL_NAMES })
  @ApiOkResponse({ type: ResumeOutcomeDto })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'PROJECTION_NOT_FOUND' })
  async resume(@Param('name') name: string): Promise<ResumeOutcomeDto> {
    const outcome = await resumeStalled(this.dataSource, projectionNamed(name), async (type, id, after) => (await this.events.load(type, id, after)).events);
    return {
      resumed: outcome.resumed,
      stillStalled: outcome.stillStalled.map(toStallDto),
    };
  }
}

function projectionNamed(name: string) {
  const model = READ_MODELS.find((candidate) => candidate.projection.name === name);
  if (!model) throw new NotFoundError('PROJECTION_NOT_FOUND', `no read model "${name}"; these exist: ${READ_MODEL_NAMES.join(', ')}`);
  return model.projection;
}

function toStallDto({ projection, aggregateId, sequence, code, since, eventType, error }: ProjectionStall): StallDto {
  return { projection, jobId: aggregateId, sequence, code, since, eventType, error };
}
