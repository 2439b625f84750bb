import type { ExecutionDto, LogEntryDto, LogEntryListDto } from '../http/dto/responses.dto.js';
import type { ChronosClient } from './chronos-client.js';
import { jsonOption, type Command } from './command.js';
import { renderFields } from './table.js';
import { inline, print, printJson } from './terminal.js';
import { formatMs, formatTime } from './time.js';

/** The API's largest page; an execution keeps at most 1,000 entries, so ten pages at most. */
const LOG_PAGE = 100;

export const executionsShow: Command = {
  name: 'executions show',
  summary: 'one execution: its status, error, output and log',
  synopsis: '<execution-id> [--json]',
  help: `Shows one execution (one attempt of one fire): when it ran, how it ended, its error and output,
then every entry of its log, oldest first.

Options:
  --json   the execution and its log entries as JSON`,
  options: jsonOption,
  positionals: ['execution-id'],
  async run({ values, positionals: [id], client }) {
    const execution = await client.get<ExecutionDto>(`/executions/${encodeURIComponent(id!)}`);
    const log = await readAllLogEntries(client, execution.id);
    if (values.json) return printJson({ execution, log });
    print(renderExecution(execution));
    print(log.length > 0 ? `\nLog:\n${renderLogEntries(log, '  ')}` : '\nno log entries');
  },
};

export async function readAllLogEntries(client: ChronosClient, executionId: string): Promise<LogEntryDto[]> {
  const entries: LogEntryDto[] = [];
  for (let page = 1; ; page++) {
    const answer = await client.get<LogEntryListDto>(`/executions/${executionId}/logs`, { page, limit: LOG_PAGE });
    entries.push(...answer.items);
    if (page >= answer.totalPages) return entries;
  }
}

function renderExecution(execution: ExecutionDto): string {
  const fields: [string, string][] = [
    ['job', execution.jobId],
    ['status', execution.status],
    ['attempt', `${execution.attempt} (${execution.trigger})`],
    ['scheduled', formatTime(execution.scheduledAt)],
    ['started', formatTime(execution.startedAt)],
    ['finished', formatTime(execution.finishedAt)],
    ['duration', formatMs(execution.durationMs)],
    ['worker', execution.workerId ?? '-'],
  ];
  if (execution.error) fields.push(['error', execution.error]);
  if (execution.output !== null && execution.output !== undefined) fields.push(['output', JSON.stringify(execution.output)]);
  return `Execution ${inline(execution.id)}\n${renderFields(fields)}`;
}

/** One line per entry (each value inline, a message's line breaks escaped): time, level, message, and its metadata as JSON when it has any. */
export function renderLogEntries(entries: Pick<LogEntryDto, 'timestamp' | 'level' | 'message' | 'metadata'>[], indent = ''): string {
  return entries
    .map((entry) => {
      const metadata = entry.metadata && Object.keys(entry.metadata).length > 0 ? `  ${JSON.stringify(entry.metadata)}` : '';
      return `${indent}${inline(entry.timestamp)}  ${inline(entry.level).padEnd(5)}  ${inline(entry.message)}${inline(metadata)}`;
    })
    .join('\n');
}
