import type { ExecutionDto, ExecutionListDto, JobDto, JobListDto, LogEntryDto } from '../http/dto/responses.dto.js';
import type { ScheduleDto } from '../http/dto/schedule.dto.js';
import { integerOption, jsonOption, stringOption, type Command } from './command.js';
import { renderLogEntries, readAllLogEntries } from './executions.command.js';
import { renderFields, renderTable, truncate } from './table.js';
import { inline, print, printJson } from './terminal.js';
import { formatMs, formatTime } from './time.js';

const RECENT_EXECUTIONS = 10;
const FAILED = new Set(['failed', 'timed_out']);

export const jobsList: Command = {
  name: 'jobs list',
  summary: 'list jobs: id, name, type, status, next and last run',
  synopsis: '[--status S] [--limit N] [--page P] [--json]',
  help: `Lists your jobs (admins: everyone's), newest first.

Options:
  --status S   only jobs in this status: active, paused, completed, failed, cancelled
  --limit N    jobs per page, 1-100 [20]
  --page P     which page [1]
  --json       the API's answer as JSON`,
  options: { status: { type: 'string' }, limit: { type: 'string' }, page: { type: 'string' }, ...jsonOption },
  async run({ values, client }) {
    const list = await client.get<JobListDto>('/jobs', { status: stringOption(values, 'status'), limit: integerOption(values, 'limit'), page: integerOption(values, 'page') });
    if (values.json) return printJson(list);
    if (list.items.length === 0) {
      print(list.total === 0 ? 'no jobs' : `no jobs on page ${inline(list.page)} (${inline(list.total)} in ${inline(list.totalPages)} pages)`);
      return;
    }
    print(renderJobTable(list.items));
    print(`\npage ${inline(list.page)} of ${inline(list.totalPages)} (${inline(list.total)} job${list.total === 1 ? '' : 's'})`);
  },
};

export const jobsShow: Command = {
  name: 'jobs show',
  summary: 'a job, its recent executions and why its last failure failed',
  synopsis: '<job-id> [--json]',
  help: `Shows a job, its ${RECENT_EXECUTIONS} most recent executions with their errors, and the error and log of its
most recent failed execution.

Options:
  --json   the job and its recent executions as JSON`,
  options: jsonOption,
  positionals: ['job-id'],
  async run({ values, positionals: [id], client }) {
    const job = await client.get<JobDto>(`/jobs/${encodeURIComponent(id!)}`);
    const executions = (await client.get<ExecutionListDto>(`/jobs/${job.id}/executions`, { limit: RECENT_EXECUTIONS })).items;
    if (values.json) return printJson({ job, executions });
    print(renderJob(job));
    if (executions.length === 0) {
      print('\nno executions yet');
      return;
    }
    print(`\nRecent executions, newest first:\n${renderExecutionTable(executions)}`);
    const failure = executions.find((execution) => FAILED.has(execution.status));
    if (failure) {
      const log = await readAllLogEntries(client, failure.id);
      print(`\n${renderFailure(failure, log)}`);
    }
  },
};

function renderJobTable(jobs: JobDto[]): string {
  return renderTable(
    ['ID', 'NAME', 'TYPE', 'STATUS', 'NEXT RUN', 'LAST RUN'],
    jobs.map((job) => [job.id, truncate(job.name, 40), job.type, job.status, formatTime(job.nextRunAt), lastRun(job)]),
  );
}

function renderJob(job: JobDto): string {
  const { totalExecutions, succeeded, failed, averageDurationMs } = job.stats;
  const fields: [string, string][] = [
    ['id', job.id],
    ['type', job.type],
    ['status', job.status],
    ['schedule', describeSchedule(job.schedule)],
    ['next run', formatTime(job.nextRunAt)],
    ['last run', lastRun(job)],
    ['runs', `${totalExecutions} (${succeeded} succeeded, ${failed} failed), average ${formatMs(averageDurationMs)}`],
    ['retries', `up to ${job.retryPolicy.maxAttempts} attempts, ${job.retryPolicy.backoff} from ${formatMs(job.retryPolicy.delayMs)}`],
  ];
  if (job.description) fields.splice(1, 0, ['description', job.description]);
  return `${inline(job.name)}\n${renderFields(fields)}`;
}

function renderExecutionTable(executions: ExecutionDto[]): string {
  return renderTable(
    ['ID', 'ATTEMPT', 'TRIGGER', 'STATUS', 'SCHEDULED', 'DURATION', 'ERROR'],
    executions.map((e) => [e.id, String(e.attempt), e.trigger, e.status, formatTime(e.scheduledAt), formatMs(e.durationMs), truncate(e.error ?? '', 60)]),
  );
}

/** Why one execution failed: its error in full, then its log. */
function renderFailure(execution: ExecutionDto, log: LogEntryDto[]): string {
  const when = formatTime(execution.finishedAt ?? execution.scheduledAt);
  const lines = [
    `Last failure: execution ${inline(execution.id)}, attempt ${inline(execution.attempt)}, ${inline(execution.status)} at ${inline(when)}`,
    `  error: ${inline(execution.error ?? '(none recorded)')}`,
  ];
  if (log.length > 0) lines.push('  log:', renderLogEntries(log, '    '));
  return lines.join('\n');
}

function lastRun(job: JobDto): string {
  return job.lastRunAt ? `${formatTime(job.lastRunAt)} ${job.lastRunStatus ?? ''}`.trimEnd() : '-';
}

function describeSchedule(schedule: ScheduleDto): string {
  switch (schedule.kind) {
    case 'immediate':
      return 'once, immediately';
    case 'at':
      return `once, at ${formatTime(schedule.runAt)}`;
    case 'cron':
      return `cron "${schedule.expression}" (${schedule.timezone ?? 'UTC'})`;
    case 'interval':
      return `every ${formatMs(schedule.everyMs)}${schedule.startAt ? ` from ${formatTime(schedule.startAt)}` : ''}`;
    default: {
      const _exhaustive: never = schedule;
      return JSON.stringify(_exhaustive);
    }
  }
}
