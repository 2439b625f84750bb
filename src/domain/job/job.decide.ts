import { IllegalStateError, NotFoundError } from '../errors.js';
import type { JobSpec } from './job-spec.js';
import type { JobCommand } from './job.commands.js';
import type { ExecutionFinished, JobEvent, JobFired } from './job.events.js';
import type { JobState } from './job.state.js';
import { assertValidSchedule, firstInstant, isRecurring, nextInstant, type Schedule } from './schedule.js';

/** Why a FireJob was refused: the scheduler treats these as "nothing to do", not as failures. */
export class FireRefusedError extends IllegalStateError {
  constructor(
    message: string,
    readonly reason: 'already_fired' | 'not_scheduled' | 'not_due' | 'not_active',
  ) {
    super(message);
  }
}

const iso = (date: Date) => date.toISOString();

/**
 * The job's rules. Pure: given the current state and a command, the events that happen, or a DomainError.
 */
export function decide(command: JobCommand, state: JobState): JobEvent[] {
  const now = command.now;
  if (command.type === 'CreateJob') {
    if (state.exists) throw new IllegalStateError(`job ${command.data.jobId} already exists`);
    return createJob(command.data, now);
  }
  const job = requireLiveJob(state);

  switch (command.type) {
    case 'UpdateJob': {
      requireStatus(job, ['active', 'paused'], 'update');
      assertValidSchedule(command.data.spec.schedule, now);
      const nextRunAt = job.status === 'active' ? scheduleAfterChange(command.data.spec.schedule, job, now) : null;
      return [{ type: 'JobUpdated', data: { jobId: job.jobId, spec: command.data.spec, updatedAt: iso(now), nextRunAt } }];
    }
    case 'RescheduleJob': {
      requireStatus(job, ['active', 'paused'], 'reschedule');
      assertValidSchedule(command.data.schedule, now);
      const nextRunAt = job.status === 'active' ? scheduleAfterChange(command.data.schedule, job, now) : null;
      return [{ type: 'JobRescheduled', data: { jobId: job.jobId, schedule: command.data.schedule, rescheduledAt: iso(now), nextRunAt } }];
    }
    case 'PauseJob':
      requireStatus(job, ['active'], 'pause');
      return [{ type: 'JobPaused', data: { jobId: job.jobId, pausedAt: iso(now), ...optional('note', command.data.note) } }];
    case 'ResumeJob': {
      requireStatus(job, ['paused'], 'resume');
      return [{ type: 'JobResumed', data: { jobId: job.jobId, resumedAt: iso(now), nextRunAt: nextRunAtOnResume(job, now) } }];
    }
    case 'CancelJob':
      requireStatus(job, ['active', 'paused'], 'cancel');
      return [{ type: 'JobCancelled', data: { jobId: job.jobId, cancelledAt: iso(now) } }];
    case 'DeleteJob':
      return [{ type: 'JobDeleted', data: { jobId: job.jobId, deletedAt: iso(now) } }];
    case 'TriggerJob':
      requireStatus(job, ['active', 'paused', 'completed', 'failed'], 'trigger');
      return [fired(job, command.data.executionId, now, now, 'manual', job.nextRunAt)];
    case 'FireJob':
      return fireJob(job, command.data.scheduledAt, command.data.executionId, now);
    case 'StartExecution': {
      const open = job.openExecutions[command.data.executionId];
      // A start reported twice, or after the end, changes nothing (at-least-once delivery to workers).
      if (!open || open.status !== 'queued') return [];
      return [
        {
          type: 'ExecutionStarted',
          data: {
            jobId: job.jobId,
            executionId: open.executionId,
            startedAt: iso(now),
            workerId: command.data.workerId,
            attempt: open.attempt,
          },
        },
      ];
    }
    case 'FinishExecution':
      return finishExecution(job, command.data, now);
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

function createJob(data: { jobId: string; ownerId: string; spec: JobSpec; executionId: string }, now: Date): JobEvent[] {
  assertValidSchedule(data.spec.schedule, now);
  const first = firstInstant(data.spec.schedule, now, now);
  const created: JobEvent = {
    type: 'JobCreated',
    data: { jobId: data.jobId, ownerId: data.ownerId, spec: data.spec, createdAt: iso(now), nextRunAt: first && iso(first) },
  };
  if (data.spec.schedule.kind !== 'immediate') return [created];
  // An immediate job fires as it is created: one message, one decision, nothing for the scheduler to race.
  return [
    created,
    {
      type: 'JobFired',
      data: {
        jobId: data.jobId,
        executionId: data.executionId,
        scheduledAt: iso(now),
        firedAt: iso(now),
        trigger: 'schedule',
        attempt: 1,
        nextRunAt: null,
      },
    },
  ];
}

function fireJob(state: JobState, scheduledAt: string, executionId: string, now: Date): JobEvent[] {
  if (state.status !== 'active') throw new FireRefusedError(`job is ${state.status}`, 'not_active');
  if (state.lastScheduledAt !== null && scheduledAt <= state.lastScheduledAt) {
    throw new FireRefusedError(`instant ${scheduledAt} was already fired`, 'already_fired');
  }
  if (state.nextRunAt !== scheduledAt) {
    // A stale timer (the schedule changed since it was read): the current nextRunAt has its own timer.
    throw new FireRefusedError(`instant ${scheduledAt} is not the job's next instant (${state.nextRunAt})`, 'not_scheduled');
  }
  if (Date.parse(scheduledAt) > now.getTime()) throw new FireRefusedError(`instant ${scheduledAt} is not due yet`, 'not_due');

  const spec = state.spec!;
  const scheduled = new Date(scheduledAt);
  // Missed instants while no scheduler ran collapse into this one fire; the schedule continues after now.
  const after = scheduled.getTime() > now.getTime() ? scheduled : now;
  const next = isRecurring(spec.schedule) ? nextInstant(spec.schedule, after, new Date(state.createdAt!)) : null;
  const late = now.getTime() - scheduled.getTime() > MISFIRE_THRESHOLD_MS;
  const events: JobEvent[] = [fired(state, executionId, scheduled, now, late ? 'misfire' : 'schedule', next && iso(next))];
  return events;
}

/** A fire later than this after its instant is recorded as a misfire catch-up rather than an on-time fire. */
export const MISFIRE_THRESHOLD_MS = 60_000;

function finishExecution(
  state: JobState,
  data: { executionId: string; workerId: string; outcome: ExecutionFinished['data']['outcome']; startedAt?: string; output?: unknown; error?: string },
  now: Date,
): JobEvent[] {
  const open = state.openExecutions[data.executionId];
  // A result reported twice is folded once: the execution is no longer open.
  if (!open) return [];
  const events: JobEvent[] = [];
  const startedAt = open.startedAt ?? data.startedAt ?? iso(now);
  if (open.status === 'queued') {
    events.push({
      type: 'ExecutionStarted',
      data: { jobId: state.jobId, executionId: open.executionId, startedAt, workerId: data.workerId, attempt: open.attempt },
    });
  }
  const finishedAt = iso(now);
  events.push({
    type: 'ExecutionFinished',
    data: {
      jobId: state.jobId,
      executionId: open.executionId,
      outcome: data.outcome,
      finishedAt,
      durationMs: Math.max(0, now.getTime() - Date.parse(startedAt)),
      ...optional('output', data.output),
      ...optional('error', data.error),
    },
  });
  // A one-off job ends with its run; recurring jobs keep their schedule. Retries (a later issue) decide
  // before this point whether the failure is final.
  const oneOff = !isRecurring(state.spec!.schedule) && state.nextRunAt === null && state.status === 'active';
  const othersOpen = Object.keys(state.openExecutions).length > 1;
  if (oneOff && !othersOpen && open.trigger !== 'manual') {
    events.push(
      data.outcome === 'succeeded'
        ? { type: 'JobCompleted', data: { jobId: state.jobId, completedAt: finishedAt } }
        : { type: 'JobFailed', data: { jobId: state.jobId, failedAt: finishedAt, executionId: open.executionId } },
    );
  }
  return events;
}

function fired(
  state: JobState,
  executionId: string,
  scheduledAt: Date,
  now: Date,
  trigger: JobFired['data']['trigger'],
  nextRunAt: string | null,
): JobFired {
  return {
    type: 'JobFired',
    data: { jobId: state.jobId, executionId, scheduledAt: iso(scheduledAt), firedAt: iso(now), trigger, attempt: 1, nextRunAt },
  };
}

/** After a schedule change the next instant is recomputed; an `at` in the past fires at once. */
function scheduleAfterChange(schedule: Schedule, job: JobState, now: Date): string | null {
  const anchor = new Date(job.createdAt!);
  const instant = schedule.kind === 'immediate' ? null : firstInstant(schedule, now, anchor);
  if (instant === null) return null;
  // Never schedule at or before an instant that already fired (guarantee 2 would refuse it anyway).
  if (job.lastScheduledAt !== null && iso(instant) <= job.lastScheduledAt) {
    const after = nextInstant(schedule, new Date(job.lastScheduledAt), anchor);
    return after && iso(after);
  }
  return iso(instant);
}

/** Instants that fell while paused are skipped, not caught up: a recurring job continues after now. */
function nextRunAtOnResume(job: JobState, now: Date): string | null {
  const schedule = job.spec!.schedule;
  if (isRecurring(schedule)) {
    const next = nextInstant(schedule, now, new Date(job.createdAt!));
    return next && iso(next);
  }
  // A one-off that has not fired yet keeps its instant (fired at once if it passed while paused).
  if (job.lastScheduledAt !== null || schedule.kind === 'immediate') return null;
  return scheduleAfterChange(schedule, job, now);
}

/** The job the command addresses, if it exists and was not deleted. */
function requireLiveJob(state: JobState): JobState {
  if (!state.exists || state.deleted) throw new NotFoundError('JOB_NOT_FOUND', 'job not found');
  return state;
}

function requireStatus(job: JobState, allowed: JobState['status'][], action: string): void {
  if (!allowed.includes(job.status)) throw new IllegalStateError(`cannot ${action} a job that is ${job.status}`);
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]: V });
}
