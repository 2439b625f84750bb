import { Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiAcceptedResponse, ApiBearerAuth, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { fromCaller } from '../commands/envelopes.js';
import { JobCommands } from '../commands/job-commands.js';
import type { JobCommandResult } from '../commands/job.repository.js';
import { NotFoundError } from '../domain/errors.js';
import type { JobCommand } from '../domain/job/job.commands.js';
import { GetDeadLetterQuery, ListDeadLettersQuery, type DeadLetterRow } from '../projections/dead-letters/dead-letter.queries.js';
import { CurrentCaller, type Caller } from './caller.js';
import { PageQueryDto } from './dto/list-query.dto.js';
import { DeadLetterListDto, ProblemDto, TriggerResultDto } from './dto/responses.dto.js';
import { uuidParam } from './validation.js';
import { ReadYourWrites } from './read-your-writes/read-your-writes.decorator.js';

/** Fires whose attempts are exhausted, for an operator to retry (a new execution, attempts counted afresh) or discard. */
@ApiTags('dead letters')
@ApiBearerAuth()
@Controller('dead-letters')
export class DeadLettersController {
  constructor(
    private readonly commands: JobCommands,
    private readonly queries: QueryBus,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Open dead letters of your jobs, newest first' })
  @ApiOkResponse({ type: DeadLetterListDto })
  async list(@Query() query: PageQueryDto, @CurrentCaller() caller: Caller): Promise<DeadLetterListDto> {
    const { items, total } = await this.queries.execute<ListDeadLettersQuery, { items: DeadLetterRow[]; total: number }>(
      new ListDeadLettersQuery(caller.role === 'admin' ? undefined : caller.id, query.page, query.limit),
    );
    return { items, page: query.page, limit: query.limit, total, totalPages: Math.ceil(total / query.limit) };
  }

  @ReadYourWrites()
  @Post(':id/retry')
  @HttpCode(202)
  @ApiOperation({ summary: 'Run the fire again: a new execution with a fresh count of attempts' })
  @ApiAcceptedResponse({ type: TriggerResultDto })
  @ApiNotFoundResponse({ type: ProblemDto })
  async retry(@Param('id', uuidParam()) id: string, @CurrentCaller() caller: Caller): Promise<TriggerResultDto> {
    const result = await this.send(id, caller, { type: 'RetryDeadLetter', now: new Date(), data: { deadLetterId: id } });
    const fired = result.events.find((event) => event.type === 'JobFired');
    return { executionId: (fired!.data as { executionId: string }).executionId };
  }

  @ReadYourWrites()
  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Discard a dead letter' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ProblemDto })
  async discard(@Param('id', uuidParam()) id: string, @CurrentCaller() caller: Caller): Promise<void> {
    await this.send(id, caller, { type: 'DiscardDeadLetter', now: new Date(), data: { deadLetterId: id } });
  }

  private async send(id: string, caller: Caller, command: JobCommand): Promise<JobCommandResult> {
    const deadLetter = await this.queries.execute<GetDeadLetterQuery, DeadLetterRow | null>(new GetDeadLetterQuery(id, caller.role === 'admin' ? undefined : caller.id));
    if (!deadLetter) throw new NotFoundError('DEAD_LETTER_NOT_FOUND', `dead letter ${id} not found`);
    return this.commands.send(deadLetter.jobId, command, fromCaller(caller));
  }
}
