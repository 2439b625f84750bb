import { Body, Controller, Get, HttpCode, Inject, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { toInstant } from '../domain/instant.js';
import { readEventLog } from '../infra/jetstream-event-store.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { LifecycleReplay } from '../sagas/lifecycle-replay.js';
import { maskEventData } from '../secrets/job-secrets.js';
import { AdminOnly } from './auth/public.decorator.js';
import { INSTANT_DESCRIPTION, IsInstant } from './dto/instant.decorator.js';
import { QueryInteger } from './dto/list-query.dto.js';
import { ProblemDto, StoredEventDto } from './dto/responses.dto.js';
import { RequestValidationError } from './problem-details.filter.js';

class AdminEventsQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'the first stream sequence to read (at most 2^53 − 1, the largest a JSON number carries exactly)' })
  @IsOptional()
  @QueryInteger()
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  fromSequence?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @QueryInteger()
  @IsInt()
  @Min(1)
  @Max(1000)
  limit: number = 100;

  @ApiPropertyOptional({ example: 'JobPaused' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  type?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  aggregateId?: string;

  @ApiPropertyOptional({ format: 'date-time', description: `events that occurred at or after this; ${INSTANT_DESCRIPTION}` })
  @IsOptional()
  @IsInstant()
  since?: string;

  @ApiPropertyOptional({ format: 'date-time', description: `events that occurred at or before this; ${INSTANT_DESCRIPTION}` })
  @IsOptional()
  @IsInstant()
  until?: string;
}

class AdminEventListDto {
  @ApiProperty({ type: [StoredEventDto] }) items!: StoredEventDto[];
  @ApiProperty() limit!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'pass as fromSequence to read on; null at the end of the log (or past until)' })
  nextFromSequence!: number | null;
}

class ReplayDto {
  @ApiPropertyOptional({ format: 'date-time', description: `replay the events that occurred from this on; ${INSTANT_DESCRIPTION}` })
  @IsOptional()
  @IsInstant()
  since?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'the first stream sequence to replay (at most 2^53 − 1)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  fromSequence?: number;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  jobId?: string;
}

class ReplayAcceptedDto {
  @ApiProperty({ format: 'uuid' }) replayId!: string;
}

/** The event history for admins: read it, and replay lifecycle events. */
@ApiTags('admin')
@ApiBearerAuth()
@AdminOnly()
@ApiForbiddenResponse({ type: ProblemDto, description: 'ADMIN_ONLY' })
@Controller('admin')
export class AdminEventsController {
  constructor(
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    private readonly replays: LifecycleReplay,
  ) {}

  @Get('events')
  @ApiOperation({ summary: 'Events from the event store, in log order, with filters' })
  @ApiOkResponse({ type: AdminEventListDto })
  async events(@Query() query: AdminEventsQueryDto): Promise<AdminEventListDto> {
    if (query.fromSequence !== undefined && query.since !== undefined) {
      throw new RequestValidationError([{ field: 'since', message: 'give fromSequence or since, not both' }]);
    }
    const until = query.until ? toInstant(query.until).getTime() : Infinity;
    const { events, nextSequence } = await readEventLog(this.nats.js, {
      limit: query.limit,
      ...(query.fromSequence ? { fromSequence: query.fromSequence } : {}),
      ...(query.since ? { since: toInstant(query.since) } : {}),
      ...(query.aggregateId ? { aggregate: { type: 'job', id: query.aggregateId } } : {}),
    });
    const inWindow = events.filter((event) => Date.parse(event.occurredAt) <= until);
    const items = inWindow.filter((event) => !query.type || event.type === query.type).map((event) => ({ ...event, data: maskEventData(event.data) }));
    return { items, limit: query.limit, nextFromSequence: inWindow.length < events.length ? null : nextSequence };
  }

  @Post('lifecycle/replay')
  @HttpCode(202)
  @ApiOperation({ summary: 'Re-publish lifecycle events (marked chronosreplay: true, original ids) from the event log' })
  @ApiAcceptedResponse({ type: ReplayAcceptedDto })
  replay(@Body() body: ReplayDto): ReplayAcceptedDto {
    return { replayId: this.replays.start({ fromSequence: body.fromSequence, since: body.since === undefined ? undefined : toInstant(body.since), jobId: body.jobId }) };
  }
}
