import { randomUUID } from 'node:crypto';
import { applyDecorators, Body, Controller, Delete, Get, Headers, HttpCode, Inject, Param, Patch, Post, Put, Query, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import {
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
} from '@nestjs/swagger';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { Response } from 'express';
import { fromCaller } from '../commands/envelopes.js';
import { JobCommands } from '../commands/job-commands.js';
import { JobRepository, type JobCommandResult } from '../commands/job.repository.js';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { ForbiddenError } from '../auth/auth.errors.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { toInstant } from '../domain/instant.js';
import { defaultRetryPolicy, withDefaults, type JobSpec } from '../domain/job/job-spec.js';
import { assertScriptAllowed } from '../executors/script.executor.js';
import { TargetGuard } from '../executors/target-guard.js';
import type { JobCommand } from '../domain/job/job.commands.js';
import type { JobState } from '../domain/job/job.state.js';
import { assertValidSchedule, type Schedule } from '../domain/job/schedule.js';
import { previewInstants } from '../domain/job/schedule-preview.js';
import type { ExecutionRow } from '../projections/executions/executions.projection.js';
import { ListExecutionsQuery } from '../projections/executions/execution.queries.js';
import { JobStatsQuery } from '../projections/jobs/job-stats.query.js';
import { ListJobsQuery, type JobRecord } from '../projections/jobs/list-jobs.query.js';
import { UpcomingJobsQuery, type UpcomingJob } from '../projections/jobs/upcoming-jobs.query.js';
import type { JobStats } from '../projections/jobs/jobs.projection.js';
import { SecretsService } from '../secrets/secrets.service.js';
import { CurrentCaller, type Caller } from './caller.js';
import { CreateJobDto, EmptyBodyDto, PauseJobDto, PreviewScheduleDto, RescheduleJobDto, UpdateJobDto } from './dto/job.dto.js';
import { JobAsOfQueryDto, ListExecutionsQueryDto, ListJobsQueryDto, ListLogsQueryDto, PageQueryDto, PreviewQueryDto, UpcomingQueryDto } from './dto/list-query.dto.js';
import { PAYLOAD_DTOS } from './dto/payload.dto.js';
import { CREATE_JOB_BODY, JOB } from './dto/job-variants.dto.js';
import { ExecutionListDto, JobDto, JobListDto, LogEntryListDto, PreviewDto, ProblemDto, StoredEventListDto, TriggerResultDto, UpcomingJobsDto } from './dto/responses.dto.js';
import { ListLogsQuery, type LogEntryRow } from '../projections/logs/log.queries.js';
import type { ScheduleDto } from './dto/schedule.dto.js';
import { toJobDto } from './job.mapper.js';
import { RequestValidationError } from './problem-details.filter.js';
import { toProblemFields, uuidParam } from './validation.js';
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
    private readonly commands: JobCommands,
    private readonly queries: QueryBus,
    private readonly jobs: JobRepository,
    private readonly targets: TargetGuard,
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
    private readonly secrets: SecretsService,
  ) {}

  @ReadYourWrites()
  @Post()
  @ApiOperation({ summary: 'Create a job' })
  @ApiBody({ schema: CREATE_JOB_BODY })
  @ApiJobResponse(201)
  @ApiUnprocessableEntityResponse({ type: ProblemDto, description: 'VALIDATION_FAILED (a value no store can hold), INVALID_CRON (also a cron with no instant within the search budget), INVALID_TIMEZONE, INVALID_SCHEDULE, TARGET_NOT_ALLOWED, TARGET_UNRESOLVABLE, SCRIPT_NOT_ALLOWED, SECRET_MASKED' })
  @ApiForbiddenResponse({ type: ProblemDto, description: 'SCRIPT_ADMIN_ONLY: script jobs are for admins' })
  async create(@Body() body: CreateJobDto, @CurrentCaller() caller: Caller, @Res({ passthrough: true }) res: Response): Promise<JobDto> {
    const jobId = randomUUID();
    const spec = await this.secrets.sealForStorage(jobId, await this.toSpec(body, caller));
    const result = await this.send(jobId, caller, { type: 'CreateJob', now: new Date(), data: { jobId, ownerId: caller.id, spec, executionId: randomUUID() } });
    return this.respond(res, result.state, null);
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
    const schedule = toSchedule(body.schedule);
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
  @ApiOperation({ summary: 'Read a job (folded from the event log: always current); ?asOf= answers it as it stood then' })
  @ApiJobResponse(200)
  @ApiNotFoundResponse({ type: ProblemDto, description: 'JOB_NOT_FOUND (also for an asOf before the job existed)' })
  async get(
    @Param('id', uuidParam()) id: string,
    @Query() query: JobAsOfQueryDto,
    @CurrentCaller() caller: Caller,
    @Res({ passthrough: true }) res: Response,
  ): Promise<JobDto> {
    const state = await this.visibleJob(id, caller);
    if (query.asOf === undefined) return this.respond(res, state, await this.stats(id));
    const asOf = toInstant(query.asOf);
    const then = await this.jobs.loadAsOf(id, asOf);
    if (!then.exists || then.deleted) throw new NotFoundError('JOB_NOT_FOUND', `job ${id} did not exist at ${asOf.toISOString()}`);
    // Statistics are today's; the rest is the job as it stood then.
    return toJobDto(then, await this.stats(id));
  }

  @Get(':id/preview')
  @ApiOperation({ summary: "The job's next instants (count ≤ 100), each moved by a DST transition with a note" })
  @ApiOkResponse({ type: PreviewDto })
  @ApiNotFoundResponse({ type: ProblemDto })
  async preview(@Param('id', uuidParam()) id: string, @Query() query: PreviewQueryDto, @CurrentCaller() caller: Caller): Promise<PreviewDto> {
    const job = await this.visibleJob(id, caller);
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
    await this.visibleJob(id, caller);
    const { items, total } = await this.queries.execute<ListLogsQuery, { items: LogEntryRow[]; total: number }>(new ListLogsQuery({ jobId: id }, query.level, query.page, query.limit));
    return { items, page: query.page, limit: query.limit, total, totalPages: Math.ceil(total / query.limit) };
  }

  @Get(':id/events')
  @ApiOperation({ summary: "The job's own events, oldest first: its whole history, including why each instant did or did not run" })
  @ApiOkResponse({ type: StoredEventListDto })
  @ApiNotFoundResponse({ type: ProblemDto })
  async events(@Param('id', uuidParam()) id: string, @Query() query: PageQueryDto, @CurrentCaller() caller: Caller): Promise<StoredEventListDto> {
    await this.visibleJob(id, caller);
    const history = await this.jobs.history(id);
    const start = (query.page - 1) * query.limit;
    return {
      items: this.secrets.maskEvents(history.slice(start, start + query.limit)),
      page: query.page,
      limit: query.limit,
      total: history.length,
      totalPages: Math.ceil(history.length / query.limit),
    };
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
    const current = await this.visibleJob(id, caller);
    // Merged and validated in plaintext (sealed values would break length rules); sealed again below.
    const spec = (await this.secrets.openForRun(id, current.spec!)) ?? current.spec!;
    const merged = this.secrets.keepMasked({
      ...spec,
      ...body,
      retryPolicy: { ...spec.retryPolicy, ...body.retryPolicy },
      notifications: { ...spec.notifications, ...body.notifications },
    }, spec);
    const dto = plainToInstance(CreateJobDto, JSON.parse(JSON.stringify(merged)));
    const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length) throw new RequestValidationError(toProblemFields(errors));
    return this.change(id, caller, { type: 'UpdateJob', now: new Date(), data: { spec: await this.secrets.sealForStorage(id, await this.toSpec(dto, caller)) } }, ifMatch, res);
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
    const current = await this.visibleJob(id, caller);
    const spec = await this.secrets.sealForStorage(id, this.secrets.keepMasked(await this.toSpec(body, caller), current.spec));
    return this.change(id, caller, { type: 'UpdateJob', now: new Date(), data: { spec } }, ifMatch, res);
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
    await this.visibleJob(id, caller);
    await this.send(id, caller, { type: 'DeleteJob', now: new Date(), data: {} }, parseIfMatch(ifMatch));
    // After the deletion is durable (a refused delete keeps its secrets): shreds what the log keeps of them.
    await this.secrets.forgetJob(id);
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
    await this.visibleJob(id, caller);
    const executionId = randomUUID();
    await this.send(id, caller, { type: 'TriggerJob', now: new Date(), data: { executionId } }, parseIfMatch(ifMatch));
    return { executionId };
  }

  @Post(':id/reschedule')
  @JobAction('Replace the schedule; nextRunAt is recomputed')
  @ApiUnprocessableEntityResponse({ type: ProblemDto, description: 'INVALID_CRON, INVALID_TIMEZONE, INVALID_SCHEDULE' })
  reschedule(@Param('id', uuidParam()) id: string, @Body() body: RescheduleJobDto, @CurrentCaller() caller: Caller, @Headers('if-match') ifMatch: string | undefined, @Res({ passthrough: true }) res: Response): Promise<JobDto> {
    return this.act(id, caller, { type: 'RescheduleJob', now: new Date(), data: { schedule: toSchedule(body.schedule) } }, ifMatch, res);
  }

  @Get(':id/executions')
  @ApiOperation({ summary: "A job's executions, newest first" })
  @ApiOkResponse({ type: ExecutionListDto })
  @ApiNotFoundResponse({ type: ProblemDto })
  async executions(@Param('id', uuidParam()) id: string, @Query() query: ListExecutionsQueryDto, @CurrentCaller() caller: Caller): Promise<ExecutionListDto> {
    await this.visibleJob(id, caller);
    const { items, total } = await this.queries.execute<ListExecutionsQuery, { items: ExecutionRow[]; total: number }>(
      new ListExecutionsQuery(id, query.status, query.page, query.limit),
    );
    return { items: items.map(toExecutionDto), page: query.page, limit: query.limit, total, totalPages: Math.ceil(total / query.limit) };
  }

  /** The job, if it exists and the caller may see it; otherwise 404 (never 403: no existence leak). */
  private async visibleJob(id: string, caller: Caller): Promise<JobState> {
    const state = await this.jobs.load(id);
    if (!state.exists || state.deleted || (caller.role !== 'admin' && state.ownerId !== caller.id)) {
      throw new NotFoundError('JOB_NOT_FOUND', `job ${id} not found`);
    }
    return state;
  }

  /** An action on a job the caller may see: 404 otherwise, then as `change`. */
  private async act(id: string, caller: Caller, command: JobCommand, ifMatch: string | undefined, res: Response): Promise<JobDto> {
    await this.visibleJob(id, caller);
    return this.change(id, caller, command, ifMatch, res);
  }

  private async change(id: string, caller: Caller, command: JobCommand, ifMatch: string | undefined, res: Response): Promise<JobDto> {
    const result = await this.send(id, caller, command, parseIfMatch(ifMatch));
    return this.respond(res, result.state, await this.stats(id));
  }

  private send(jobId: string, caller: Caller, command: JobCommand, expectedVersion?: number): Promise<JobCommandResult> {
    return this.commands.send(jobId, command, fromCaller(caller), expectedVersion);
  }

  private stats(id: string): Promise<JobStats | null> {
    return this.queries.execute<JobStatsQuery, JobStats | null>(new JobStatsQuery(id));
  }

  private respond(res: Response, state: JobState, stats: JobStats | null): JobDto {
    res.setHeader('ETag', `"${state.version}"`);
    return toJobDto(state, stats);
  }

  /** The spec a body asks for, with defaults filled in, once the caller may run it and its targets are allowed. */
  private async toSpec(body: CreateJobDto, caller: Caller): Promise<JobSpec> {
    if (body.type === 'script' && caller.role !== 'admin') throw new ForbiddenError('SCRIPT_ADMIN_ONLY', 'script jobs are for admins');
    if (!PAYLOAD_DTOS[body.type]) {
      throw new ValidationError('UNSUPPORTED_JOB_TYPE', `job type "${body.type}" cannot run yet; supported: ${Object.keys(PAYLOAD_DTOS).join(', ')}`, [
        { field: 'type', message: `must be one of: ${Object.keys(PAYLOAD_DTOS).join(', ')}` },
      ]);
    }
    if (body.type === 'script') assertScriptAllowed(body.payload, this.config.script.allowlist);
    if (body.type === 'http' || body.type === 'webhook') await this.targets.assertAllowed(String(body.payload.url), 'payload.url');
    if (body.notifications?.webhookUrl) await this.targets.assertAllowed(body.notifications.webhookUrl, 'notifications.webhookUrl');
    const { retryPolicy, notifications, schedule, ...rest } = body;
    return withDefaults(
      { ...stripUndefined(rest), schedule: toSchedule(schedule), ...(retryPolicy ? { retryPolicy: stripUndefined({ ...retryPolicy }) as JobSpec['retryPolicy'] } : {}), ...(notifications ? { notifications: stripUndefined({ ...notifications }) as JobSpec['notifications'] } : {}) },
      { retryPolicy: { ...defaultRetryPolicy(), maxAttempts: this.config.retryDefaults.maxAttempts, delayMs: this.config.retryDefaults.delayMs }, timeoutMs: this.config.defaultTimeoutMs },
    );
  }
}

function toSchedule(dto: ScheduleDto): Schedule {
  switch (dto.kind) {
    case 'immediate':
      return { kind: 'immediate' };
    case 'at':
      return { kind: 'at', runAt: toInstant(dto.runAt).toISOString() };
    case 'cron':
      return { kind: 'cron', expression: dto.expression.trim(), timezone: dto.timezone ?? 'UTC' };
    case 'interval':
      return { kind: 'interval', everyMs: dto.everyMs, ...(dto.startAt ? { startAt: toInstant(dto.startAt).toISOString() } : {}) };
  }
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
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
