import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { NotFoundError } from '../domain/errors.js';
import { GetExecutionQuery } from '../projections/executions/execution.queries.js';
import type { ExecutionRow } from '../projections/executions/executions.projection.js';
import { CurrentCaller, type Caller } from './caller.js';
import { ExecutionDto, LogEntryListDto, ProblemDto } from './dto/responses.dto.js';
import { ListLogsQueryDto } from './dto/list-query.dto.js';
import { ListLogsQuery, type LogEntryRow } from '../projections/logs/log.queries.js';
import { toExecutionDto } from './jobs.controller.js';
import { uuidParam } from './validation.js';

@ApiTags('executions')
@ApiBearerAuth()
@Controller('executions')
export class ExecutionsController {
  constructor(private readonly queries: QueryBus) {}

  @Get(':id')
  @ApiOperation({ summary: 'One execution (one attempt of one fire)' })
  @ApiOkResponse({ type: ExecutionDto })
  @ApiNotFoundResponse({ type: ProblemDto })
  async get(@Param('id', uuidParam()) id: string, @CurrentCaller() caller: Caller): Promise<ExecutionDto> {
    const row = await this.queries.execute<GetExecutionQuery, ExecutionRow | null>(new GetExecutionQuery(id, caller.role === 'admin' ? undefined : caller.id));
    if (!row) throw new NotFoundError('EXECUTION_NOT_FOUND', `execution ${id} not found`);
    return toExecutionDto(row);
  }

  @Get(':id/logs')
  @ApiOperation({ summary: "The execution's log entries, oldest first" })
  @ApiOkResponse({ type: LogEntryListDto })
  @ApiNotFoundResponse({ type: ProblemDto })
  async logs(@Param('id', uuidParam()) id: string, @Query() query: ListLogsQueryDto, @CurrentCaller() caller: Caller): Promise<LogEntryListDto> {
    await this.get(id, caller);
    const { items, total } = await this.queries.execute<ListLogsQuery, { items: LogEntryRow[]; total: number }>(new ListLogsQuery({ executionId: id }, query.level, query.page, query.limit));
    return { items, page: query.page, limit: query.limit, total, totalPages: Math.ceil(total / query.limit) };
  }
}
