import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
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
import { READ_MODEL_NAMES } from '../projections/read-models.js';
import { ProjectionRebuilds } from '../projections/rebuild/projection-rebuilds.js';
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

class ProjectionStatusDto {
  @ApiProperty({ enum: READ_MODEL_NAMES, example: 'jobs' }) name!: string;
  @ApiProperty({ description: 'the last event-log sequence applied to the tables that serve reads' }) position!: number;
  @ApiProperty({ description: 'messages in the event log not applied yet' }) lagEvents!: number;
  @ApiProperty({ enum: ['live', 'rebuilding'] }) status!: 'live' | 'rebuilding';
  @ApiPropertyOptional({ type: RebuildProgressDto, description: 'while rebuilding' }) progress?: RebuildProgressDto;
  @ApiPropertyOptional({ type: RebuildOutcomeDto, description: 'the last finished rebuild' }) lastRebuild?: RebuildOutcomeDto;
}

/** The read models for admins: how far each is, and their blue/green rebuild from the event log. */
@ApiTags('admin')
@ApiBearerAuth()
@AdminOnly()
@ApiForbiddenResponse({ type: ProblemDto, description: 'ADMIN_ONLY' })
@ApiExtraModels(RebuildProgressDto, RebuildOutcomeDto)
@Controller('admin/projections')
export class AdminProjectionsController {
  constructor(private readonly rebuilds: ProjectionRebuilds) {}

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
}
