import { applyDecorators, Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Put, Query, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import {
  ApiGoneResponse,
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiUnauthorizedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPreconditionFailedResponse,
  ApiResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { JobsService, scheduleOf, seenBy } from '../commands/jobs.service.js';
import { toInstant } from '../domain/instant.js';
import type { JobCommand } from '../domain/job/job.commands.js';
import type { JobState } from '../domain/job/job.state.js';
import { assertValidSchedule } from '../domain/job/schedule.js';
import { previewInstants } from '../domain/job/schedule-preview.js';
import type { ExecutionRow } from '../projections/executions/executions.projection.js';
import { ListExecutionsQuery } from '../projections/executions/execution.queries.js';
import { JobRecordQuery, type JobRecordRow } from '../projections/jobs/job-record.query.js';
import { ListJobsQuery, type JobRecord } from '../projections/jobs/list-jobs.query.js';
import { UpcomingJobsQuery, type UpcomingJob } from '../projections/jobs/upcoming-jobs.query.js';
import type { JobStats } from '../projections/jobs/jobs.projection.js';
import { NotFoundError } from '../domain/errors.js';
import { CurrentCaller, type Caller } from './caller.js';
import { BATCH_MAX_JOBS, CreateJobDto, CreateJobsBatchDto, EmptyBodyDto, PauseJobDto, PreviewScheduleDto, RescheduleJobDto, UpdateJobDto } from './dto/job.dto.js';
import { JobAsOfQueryDto, ListExecutionsQueryDto, ListJobsQueryDto, ListLogsQueryDto, PageQueryDto, PreviewQueryDto, UpcomingQueryDto } from './dto/list-query.dto.js';
import { CREATE_JOB_BODY, JOB } from './dto/job-variants.dto.js';
import { ExecutionListDto, JobDto, JobListDto, LogEntryListDto, PreviewDto, ProblemDto, StoredEventListDto, TriggerResultDto, UpcomingJobsDto } from './dto/responses.dto.js';
import { ListLogsQuery, type LogEntryRow } from '../projections/logs/log.queries.js';
import { toJobDto } from './job.mapper.js';
import { RequestValidationError } from './problem-details.filter.js';
import { uuidParam } from './validation.js';
import { asCreateBody, createEach } from './job-batch.js';
import { ItemsCheckedOnTheirOwn } from './request-values.guard.js';
import { ReadYourWrites } from './read-your-writes/read-your-writes.decorator.js';

const IF_MATCH = { name: 'If-Match', required: false, description: 'the ETag of the job as last read (`"3"`); 412 if it changed since; anything else is 400 INVALID_IF_MATCH' };

/** An answer that is the job, with its version as the ETag to send back as If-Match. */
const ApiJobResponse = (status: 200 | 201) =>
  ApiResponse({ status, schema: JOB, headers: { ETag: { description: 'the job\'s version, quoted: "3"', schema: { type: 'string', example: '"3"' } } } });

/** The OpenAPI description shared by the actions that answer the changed job. */
const JobAction = (summary: string) =>
  applyDecorators(
    ReadYourWrites(),
    HttpCode(200),
    ApiOperation({ summary }),
    ApiHeader(IF_MATCH),
    ApiJobResponse(200),
    ApiNotFoundResponse({ type: ProblemDto }),
    ApiConflictResponse({ type: ProblemDto, description: 'INVALID_STATE' }),
    ApiPreconditionFailedResponse({ type: ProblemDto, description: 'VERSION_CONFLICT' }),
  );

@ApiTags('jobs')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ProblemDto, description: 'no valid access token' })
@Controller('jobs')
@ApiBadRequestResponse({ type: ProblemDto, description: 'invalid input (problem+json, code VALIDATION_FAILED)' })
export class JobsController {
  constructor(
    private readonly jobs: JobsService,
    private readonly queries: QueryBus,
  ) {}

  @ReadYourWrites()
  @Post()
  @ApiOperation({ summary: 'Create a job' })
  @ApiBody({ schema: CREATE_JOB_BODY })
  @ApiJobResponse(201)
  @ApiUnprocessableEntityResponse({ type: ProblemDto, description: 'VALIDATION_FAILED (a value no store can hold), INVALID_CRON (also a cron with no instant within the search budget), INVALID_TIMEZONE, INVALID_SCHEDULE, TARGET_NOT_ALLOWED, TARGET_UNRESOLVABLE, SCRIPT_NOT_ALLOWED, SECRET_MASKED' })
  @ApiForbiddenResponse({ type: ProblemDto, description: 'SCRIPT_ADMIN_ONLY: script jobs are for admins' })
  async create(@Body() body: CreateJobDto, @CurrentCaller() caller: Caller, @Res({ passthrough: true }) res: Response): Promise<JobDto> {
    return this.respond(res, (await this.jobs.create(body, caller)).state, null);
  }

  @ReadYourWrites()
  @Post('batch')
  @HttpCode(200)
  @ItemsCheckedOnTheirOwn('jobs')
  @ApiOperation({
    summary: `Create up to ${BATCH_MAX_JOBS} jobs: each body checked, created or refused on its own`,
    description:
      'One answer item per body, in order: the created job, or the problem details POST /jobs would have answered for that body ' +
      '(its `errors[].field` relative to the body). The request as a whole counts once against the rate limit; a body of more than ' +
      `${BATCH_MAX_JOBS} jobs or over 4 MiB is refused whole (400, 413).`,
  })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['items'],
      properties: { items: { type: 'array', items: { oneOf: [JOB, { $ref: getSchemaPath(ProblemDto) }] } } },
    },
  })
  async createBatch(@Body() body: CreateJobsBatchDto, @CurrentCaller() caller: Caller, @Req() request: Request): Promise<{ items: Array<JobDto | ProblemDto> }> {
    return { items: await createEach(this.jobs, body.jobs, caller, request) };
  }

  @Get()
  @ApiOperation({ summary: 'List jobs' })
  @ApiOkResponse({ type: JobListDto })
  async list(@Query() query: ListJobsQueryDto, @CurrentCaller() caller: Caller): Promise<JobListDto> {
    const { items, total } = await this.queries.execute<ListJobsQuery, { items: JobRecord[]; total: number }>(
      new ListJobsQuery({ ...query, ownerId: caller.role === 'admin' ? undefined : caller.id }),
    );
    return { items: items.map((row) => toJobDto(row.state, row.stats)), page: query.page, limit: query.limit, total, totalPages: Math.ceil(total / query.limit) };
  }

  @Post('preview')
  @HttpCode(200)
  @ApiOperation({ summary: 'Dry run: the next instants of a schedule not yet saved, with notes on DST transitions' })
  @ApiOkResponse({ type: PreviewDto })
  @ApiUnprocessableEntityResponse({ type: ProblemDto, description: 'VALIDATION_FAILED, INVALID_CRON (also a cron with no instant within the search budget), INVALID_TIMEZONE, INVALID_SCHEDULE' })
  previewSchedule(@Body() body: PreviewScheduleDto): PreviewDto {
    const now = new Date();
    const schedule = scheduleOf(body.schedule);
    assertValidSchedule(schedule, now);
    return { items: previewInstants(schedule, { after: new Date(now.getTime() - 1), anchor: now, count: body.count ?? 10 }) };
  }

  @Get('upcoming')
  @ApiOperation({ summary: 'Active jobs due within the next hours, soonest first (at most 100)' })
  @ApiOkResponse({ type: UpcomingJobsDto })
  async upcoming(@Query() query: UpcomingQueryDto, @CurrentCaller() caller: Caller): Promise<UpcomingJobsDto> {
    const until = new Date(Date.now() + query.withinHours * 3_600_000);
    const items = await this.queries.execute<UpcomingJobsQuery, UpcomingJob[]>(new UpcomingJobsQuery(caller.role === 'admin' ? undefined : caller.id, until, 100));
    return { items };
  }

  @Get(':id')
  @ApiOperation({
    summary: 'Read a job; ?asOf= answers it as it stood then, folded from its events',
    description: 'From the jobs read model: it reflects your writes once they answered (X-Chronos-Read-Models: current), and the rest once projected.',
  })
  @ApiJobResponse(200)
  @ApiNotFoundResponse({ type: ProblemDto, description: 'JOB_NOT_FOUND (also for an asOf before the job existed)' })
  @ApiGoneResponse({ type: ProblemDto, description: 'HISTORY_COMPACTED: the asOf is older than the history kept (HISTORY_RETENTION_DAYS); the detail names the oldest instant it can answer' })
  async get(
    @Param('id', uuidParam()) id: string,
    @Query() query: JobAsOfQueryDto,
    @CurrentCaller() caller: Caller,
    @Res({ passthrough: true }) res: Response,
  ): Promise<JobDto> {
    if (query.asOf === undefined) {
      const job = await this.read(id, caller);
      return this.respond(res, job.state, job.stats);
    }
    // Statistics are today's; the rest is the job as it stood then.
    return toJobDto(await this.jobs.asOf(id, caller, toInstant(query.asOf)), await this.stats(id));
  }

  @Get(':id/preview')
  @ApiOperation({ summary: "The job's next instants (count ≤ 100), each moved by a DST transition with a note" })
  @ApiOkResponse({ type: PreviewDto })
  @ApiNotFoundResponse({ type: ProblemDto })
  async preview(@Param('id', uuidParam()) id: string, @Query() query: PreviewQueryDto, @CurrentCaller() caller: Caller): Promise<PreviewDto> {
    const job = (await this.read(id, caller)).state;
    if (job.status !== 'active' || job.nextRunAt === null) return { items: [] };
    // From the job's next instant on (it is included), computed as the scheduler will.
    const after = new Date(Date.parse(job.nextRunAt) - 1);
    return { items: previewInstants(job.spec!.schedule, { after, anchor: new Date(job.createdAt!), count: query.count }) };
  }

  @Get(':id/logs')
  @ApiOperation({ summary: "Log entries across the job's executions, oldest first" })
  @ApiOkResponse({ type: LogEntryListDto })
  @ApiNotFoundResponse({ type: ProblemDto })
  async logs(@Param('id', uuidParam()) id: string, @Query() query: ListLogsQueryDto, @CurrentCaller() caller: Caller): Promise<LogEntryListDto> {
    await this.read(id, caller);
    const { items, total } = await this.queries.execute<ListLogsQuery, { items: LogEntryRow[]; total: number }>(new ListLogsQuery({ jobId: id }, query.level, query.page, query.limit));
    return { items, page: query.page, limit: query.limit, total, totalPages: Math.ceil(total / query.limit) };
  }

  @Get(':id/events')
  @ApiOperation({ summary: "The job's own events, oldest first: its whole history, including why each instant did or did not run" })
  @ApiOkResponse({ type: StoredEventListDto })
  @ApiNotFoundResponse({ type: ProblemDto })
  async events(@Param('id', uuidParam()) id: string, @Query() query: PageQueryDto, @CurrentCaller() caller: Caller): Promise<StoredEventListDto> {
    const { events, total } = await this.jobs.history(id, caller, (query.page - 1) * query.limit, query.limit);
    return { items: events, page: query.page, limit: query.limit, total, totalPages: Math.ceil(total / query.limit) };
  }

  @ReadYourWrites()
  @Patch(':id')
  @ApiOperation({ summary: 'Change some fields of a job; a schedule change recomputes nextRunAt' })
  @ApiHeader(IF_MATCH)
  @ApiJobResponse(200)
  @ApiNotFoundResponse({ type: ProblemDto, description: 'JOB_NOT_FOUND' })
  @ApiPreconditionFailedResponse({ type: ProblemDto, description: 'VERSION_CONFLICT' })
  @ApiUnprocessableEntityResponse({ type: ProblemDto, description: 'INVALID_CRON, INVALID_TIMEZONE, INVALID_SCHEDULE, TARGET_NOT_ALLOWED, TARGET_UNRESOLVABLE, SCRIPT_NOT_ALLOWED' })
  async patch(
    @Param('id', uuidParam()) id: string,
    @Body() body: UpdateJobDto,
    @CurrentCaller() caller: Caller,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<JobDto> {
    return this.respond(res, (await this.jobs.update(id, body, caller, parseIfMatch(ifMatch), asCreateBody)).state, await this.stats(id));
  }

  @ReadYourWrites()
  @Put(':id')
  @ApiOperation({ summary: 'Replace a job: omitted optional fields return to their defaults' })
  @ApiBody({ schema: CREATE_JOB_BODY })
  @ApiHeader(IF_MATCH)
  @ApiJobResponse(200)
  @ApiNotFoundResponse({ type: ProblemDto, description: 'JOB_NOT_FOUND' })
  @ApiPreconditionFailedResponse({ type: ProblemDto, description: 'VERSION_CONFLICT' })
  @ApiUnprocessableEntityResponse({ type: ProblemDto, description: 'INVALID_CRON, INVALID_TIMEZONE, INVALID_SCHEDULE, TARGET_NOT_ALLOWED, TARGET_UNRESOLVABLE, SCRIPT_NOT_ALLOWED' })
  async replace(
    @Param('id', uuidParam()) id: string,
    @Body() body: CreateJobDto,
    @CurrentCaller() caller: Caller,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<JobDto> {
    return this.respond(res, (await this.jobs.replace(id, body, caller, parseIfMatch(ifMatch))).state, await this.stats(id));
  }

  @ReadYourWrites()
  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a job (its history stays in the event log)' })
  @ApiHeader(IF_MATCH)
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ProblemDto, description: 'JOB_NOT_FOUND' })
  @ApiPreconditionFailedResponse({ type: ProblemDto, description: 'VERSION_CONFLICT' })
  async remove(@Param('id', uuidParam()) id: string, @CurrentCaller() caller: Caller, @Headers('if-match') ifMatch: string | undefined): Promise<void> {
    await this.jobs.remove(id, caller, parseIfMatch(ifMatch));
  }

  @Post(':id/pause')
  @JobAction('Pause: no fires until resumed; instants that pass meanwhile are skipped')
  pause(@Param('id', uuidParam()) id: string, @Body() body: PauseJobDto, @CurrentCaller() caller: Caller, @Headers('if-match') ifMatch: string | undefined, @Res({ passthrough: true }) res: Response): Promise<JobDto> {
    return this.act(id, caller, { type: 'PauseJob', now: new Date(), data: body.note === undefined ? {} : { note: body.note } }, ifMatch, res);
  }

  @Post(':id/resume')
  @JobAction('Resume a paused job at its next instant after now')
  resume(@Param('id', uuidParam()) id: string, @Body() _body: EmptyBodyDto, @CurrentCaller() caller: Caller, @Headers('if-match') ifMatch: string | undefined, @Res({ passthrough: true }) res: Response): Promise<JobDto> {
    return this.act(id, caller, { type: 'ResumeJob', now: new Date(), data: {} }, ifMatch, res);
  }

  @Post(':id/cancel')
  @JobAction('Cancel a job for good (it stays readable)')
  cancel(@Param('id', uuidParam()) id: string, @Body() _body: EmptyBodyDto, @CurrentCaller() caller: Caller, @Headers('if-match') ifMatch: string | undefined, @Res({ passthrough: true }) res: Response): Promise<JobDto> {
    return this.act(id, caller, { type: 'CancelJob', now: new Date(), data: {} }, ifMatch, res);
  }

  @ReadYourWrites()
  @Post(':id/trigger')
  @HttpCode(202)
  @ApiOperation({ summary: 'Run now, outside the schedule' })
  @ApiHeader(IF_MATCH)
  @ApiAcceptedResponse({ type: TriggerResultDto })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'JOB_NOT_FOUND' })
  @ApiConflictResponse({ type: ProblemDto, description: 'INVALID_STATE' })
  @ApiPreconditionFailedResponse({ type: ProblemDto, description: 'VERSION_CONFLICT' })
  async trigger(
    @Param('id', uuidParam()) id: string,
    @Body() _body: EmptyBodyDto,
    @CurrentCaller() caller: Caller,
    @Headers('if-match') ifMatch: string | undefined,
  ): Promise<TriggerResultDto> {
    return { executionId: await this.jobs.trigger(id, caller, parseIfMatch(ifMatch)) };
  }

  @Post(':id/reschedule')
  @JobAction('Replace the schedule; nextRunAt is recomputed')
  @ApiUnprocessableEntityResponse({ type: ProblemDto, description: 'INVALID_CRON, INVALID_TIMEZONE, INVALID_SCHEDULE' })
  reschedule(@Param('id', uuidParam()) id: string, @Body() body: RescheduleJobDto, @CurrentCaller() caller: Caller, @Headers('if-match') ifMatch: string | undefined, @Res({ passthrough: true }) res: Response): Promise<JobDto> {
    return this.act(id, caller, { type: 'RescheduleJob', now: new Date(), data: { schedule: scheduleOf(body.schedule) } }, ifMatch, res);
  }

  @Get(':id/executions')
  @ApiOperation({ summary: "A job's executions, newest first" })
  @ApiOkResponse({ type: ExecutionListDto })
  @ApiNotFoundResponse({ type: ProblemDto })
  async executions(@Param('id', uuidParam()) id: string, @Query() query: ListExecutionsQueryDto, @CurrentCaller() caller: Caller): Promise<ExecutionListDto> {
    await this.read(id, caller);
    const { items, total } = await this.queries.execute<ListExecutionsQuery, { items: ExecutionRow[]; total: number }>(
      new ListExecutionsQuery(id, query.status, query.page, query.limit),
    );
    return { items: items.map(toExecutionDto), page: query.page, limit: query.limit, total, totalPages: Math.ceil(total / query.limit) };
  }

  /** A lifecycle action on a job the caller may see, answered with the changed job. */
  private async act(id: string, caller: Caller, command: JobCommand, ifMatch: string | undefined, res: Response): Promise<JobDto> {
    return this.respond(res, (await this.jobs.act(id, caller, command, parseIfMatch(ifMatch))).state, await this.stats(id));
  }

  /**
   * The job for a read, from the read model when its row is the job as the log has it (one query, with its
   * statistics); from the log when there is no row (not projected yet: a write that answered `lagging`) or
   * the row is not `exact` (held back by a stall; a text stored in its storable form).
   */
  private async read(id: string, caller: Caller): Promise<{ state: JobState; stats: JobStats | null }> {
    const record = await this.record(id);
    if (!record?.exact) return { state: await this.jobs.visible(id, caller), stats: record?.stats ?? null };
    if (!seenBy(record.state, caller)) throw new NotFoundError('JOB_NOT_FOUND', `job ${id} not found`);
    return record;
  }

  private async stats(id: string): Promise<JobStats | null> {
    return (await this.record(id))?.stats ?? null;
  }

  private record(id: string): Promise<JobRecordRow | null> {
    return this.queries.execute<JobRecordQuery, JobRecordRow | null>(new JobRecordQuery(id));
  }

  private respond(res: Response, state: JobState, stats: JobStats | null): JobDto {
    res.setHeader('ETag', `"${state.version}"`);
    return toJobDto(state, stats);
  }
}

function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^(?:W\/)?"(\d+)"$/.exec(header.trim());
  const version = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(version)) throw new RequestValidationError([{ field: 'If-Match', message: 'must be an ETag of this API, like "3"' }], 'INVALID_IF_MATCH');
  return version;
}

export function toExecutionDto(row: ExecutionRow) {
  const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : (value as string | null));
  return {
    ...row,
    scheduledAt: iso(row.scheduledAt)!,
    queuedAt: iso(row.queuedAt)!,
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
  };
}
