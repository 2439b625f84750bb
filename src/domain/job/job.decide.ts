import { createHash } from 'node:crypto';
import { IllegalStateError, NotFoundError } from '../errors.js';
import type { JobSpec, MisfirePolicy, RetryPolicy } from './job-spec.js';
import type { FinishExecution, FireJob, JobCommand } from './job.commands.js';
import type { DeadLetterReason, ExecutionCancelled, ExecutionFinished, JobEvent, JobFired, SkipReason } from './job.events.js';
import type { JobState, OpenExecution } from './job.state.js';
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
      return [
        { type: 'JobPaused', data: { jobId: job.jobId, pausedAt: iso(now), ...optional('note', command.data.note) } },
        ...cancelRunsNotYetDue(job, 'paused', now),
      ];
    case 'ResumeJob': {
      requireStatus(job, ['paused'], 'resume');
      return resumeJob(job, now);
    }
    case 'CancelJob':
      requireStatus(job, ['active', 'paused'], 'cancel');
      return [{ type: 'JobCancelled', data: { jobId: job.jobId, cancelledAt: iso(now) } }, ...cancelRunsNotYetDue(job, 'cancelled', now)];
    case 'DeleteJob':
      return [{ type: 'JobDeleted', data: { jobId: job.jobId, deletedAt: iso(now) } }, ...cancelRunsNotYetDue(job, 'deleted', now)];
    case 'TriggerJob':
      requireStatus(job, ['active', 'paused', 'completed', 'failed'], 'trigger');
      return [fired(job, command.data.executionId, now, now, 'manual', job.nextRunAt)];
    case 'FireJob':
      return fireJob(job, command.data, now);
    case 'StartExecution': {
      // A run cancelled before its instant may have started at it anyway (fire ahead): its start is recorded.
      const open = job.openExecutions[command.data.executionId] ?? job.cancelledAhead[command.data.executionId];
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
    case 'RetryExecution': {
      const pending = job.pendingRetries[command.data.executionId];
      // Retried already (a repeated timer): nothing to do.
      if (!pending) return [];
      if (Date.parse(pending.retryAt) > now.getTime()) throw new FireRefusedError(`retry of ${pending.executionId} is due at ${pending.retryAt}`, 'not_due');
      return [
        {
          type: 'JobFired',
          data: {
            jobId: job.jobId,
            executionId: executionIdFor(job.jobId, pending.scheduledAt, `attempt-${pending.nextAttempt}`),
            scheduledAt: pending.scheduledAt,
            firedAt: iso(now),
            trigger: 'retry',
            attempt: pending.nextAttempt,
            nextRunAt: job.nextRunAt,
            retryOf: pending.executionId,
          },
        },
      ];
    }
    case 'DeadLetterExecution': {
      const open = job.openExecutions[command.data.executionId];
      if (!open) return [];
      return [
        finished(job, open.executionId, 'failed', now, Math.max(0, now.getTime() - Date.parse(open.startedAt ?? iso(now))), undefined, command.data.error),
        ...giveUp(job, open, command.data.error, 'max_deliveries', now),
      ];
    }
    case 'RetryDeadLetter': {
      const deadLetter = job.deadLetters[command.data.deadLetterId];
      if (!deadLetter) throw new NotFoundError('DEAD_LETTER_NOT_FOUND', `dead letter ${command.data.deadLetterId} not found`);
      const executionId = executionIdFor(job.jobId, deadLetter.scheduledAt, `retry-of-${deadLetter.deadLetterId}`);
      return [
        { type: 'DeadLetterRetried', data: { jobId: job.jobId, deadLetterId: deadLetter.deadLetterId, executionId, retriedAt: iso(now) } },
        {
          type: 'JobFired',
          data: { jobId: job.jobId, executionId, scheduledAt: deadLetter.scheduledAt, firedAt: iso(now), trigger: 'retry', attempt: 1, nextRunAt: job.nextRunAt },
        },
      ];
    }
    case 'DiscardDeadLetter': {
      if (!job.deadLetters[command.data.deadLetterId]) throw new NotFoundError('DEAD_LETTER_NOT_FOUND', `dead letter ${command.data.deadLetterId} not found`);
      return [{ type: 'DeadLetterDiscarded', data: { jobId: job.jobId, deadLetterId: command.data.deadLetterId, discardedAt: iso(now) } }];
    }
    case 'RecordNotification': {
      const { notificationId, channel, trigger, executionId, to, attempts, outcome } = command.data;
      if (job.recentNotifications.includes(notificationId)) return [];
      const common = { jobId: job.jobId, notificationId, channel, trigger, executionId, to, attempts };
      return outcome === 'sent'
        ? [{ type: 'NotificationSent', data: { ...common, sentAt: iso(now), ...optional('messageId', command.data.messageId) } }]
        : [{ type: 'NotificationFailed', data: { ...common, error: command.data.error ?? 'unknown error', failedAt: iso(now) } }];
    }
    case 'CloseHistoryEpoch': {
      // A retry timer's row carries its failed run's correlation, which only the history holds: close after it fired.
      if (Object.keys(job.pendingRetries).length > 0) throw new IllegalStateError('cannot close the history of a job with a retry pending');
      if (job.epoch && job.epoch.version === job.version) return [];
      return [{ type: 'HistoryEpochClosed', data: { jobId: job.jobId, closedAt: iso(now), state: job, stats: command.data.stats } }];
    }
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

function fireJob(state: JobState, command: FireJob['data'], now: Date): JobEvent[] {
  const { scheduledAt, fireAheadMs = 0 } = command;
  if (state.status !== 'active') throw new FireRefusedError(`job is ${state.status}`, 'not_active');
  if (state.lastScheduledAt !== null && scheduledAt <= state.lastScheduledAt) {
    throw new FireRefusedError(`instant ${scheduledAt} was already fired`, 'already_fired');
  }
  if (state.nextRunAt !== scheduledAt) {
    // A stale timer (the schedule changed since it was read): the current nextRunAt has its own timer.
    throw new FireRefusedError(`instant ${scheduledAt} is not the job's next instant (${state.nextRunAt})`, 'not_scheduled');
  }
  const spec = state.spec!;
  const aheadMs = Date.parse(scheduledAt) - now.getTime();
  if (aheadMs > fireAheadMs) throw new FireRefusedError(`instant ${scheduledAt} is not due yet`, 'not_due');
  if (aheadMs > 0 && isRecurring(spec.schedule) && spec.concurrencyPolicy !== 'allow' && Object.keys(state.openExecutions).length > 0) {
    // Whether this instant overlaps a run in flight is only known at the instant itself.
    throw new FireRefusedError(`instant ${scheduledAt} is not due yet and a run is still open (concurrencyPolicy ${spec.concurrencyPolicy})`, 'not_due');
  }
  // A fire ahead of its instant is decided as at the instant: the worker holds the run until then.
  const at = aheadMs > 0 ? new Date(scheduledAt) : now;

  const anchor = new Date(state.createdAt!);
  const due = dueInstants(spec.schedule, new Date(scheduledAt), at, anchor);
  const next = isRecurring(spec.schedule) ? nextInstant(spec.schedule, at, anchor) : null;
  const nextRunAt = next && iso(next);
  const plan = planMisfires(due, spec.misfirePolicy, command, at);

  const events: JobEvent[] = [];
  const skip = (instant: Date, reason: SkipReason, detail: string) =>
    events.push({
      type: 'ExecutionSkipped',
      data: { jobId: state.jobId, executionId: executionIdFor(state.jobId, iso(instant)), scheduledAt: iso(instant), reason, detail, skippedAt: iso(now), nextRunAt },
    });
  let open = Object.values(state.openExecutions);
  for (const { instant, outcome } of plan) {
    if (outcome.kind === 'skip') {
      skip(instant, outcome.reason, outcome.detail);
      continue;
    }
    if (open.length > 0 && isRecurring(spec.schedule)) {
      if (spec.concurrencyPolicy === 'forbid') {
        skip(instant, 'overlap', `the previous run (${open[0]!.executionId}) was still ${open[0]!.status}; concurrencyPolicy is forbid`);
        continue;
      }
      if (spec.concurrencyPolicy === 'replace') {
        for (const running of open) {
          events.push({
            type: 'ExecutionCancelled',
            data: { jobId: state.jobId, executionId: running.executionId, reason: 'replaced', detail: `replaced by the fire of ${iso(instant)}`, cancelledAt: iso(now) },
          });
        }
        open = [];
      }
    }
    const executionId = executionIdFor(state.jobId, iso(instant));
    events.push(fired(state, executionId, instant, now, outcome.trigger, nextRunAt));
    open.push({ executionId, scheduledAt: iso(instant), attempt: 1, trigger: outcome.trigger, status: 'queued' });
  }
  if (!isRecurring(spec.schedule) && !events.some((e) => e.type === 'JobFired')) {
    events.push({ type: 'JobCompleted', data: { jobId: state.jobId, completedAt: iso(now) } });
  }
  return events;
}

/**
 * Runs fired ahead of their instant (FireJob's `fireAheadMs`) that have not reached it yet: pausing,
 * cancelling or deleting the job before the instant stops them, as it would have stopped the fire.
 */
function cancelRunsNotYetDue(state: JobState, reason: 'paused' | 'cancelled' | 'deleted', now: Date): ExecutionCancelled[] {
  return Object.values(state.openExecutions)
    .filter((open) => open.status === 'queued' && Date.parse(open.scheduledAt) > now.getTime())
    .map((open) => ({
      type: 'ExecutionCancelled',
      data: { jobId: state.jobId, executionId: open.executionId, reason, detail: `the job was ${reason} before the run's instant`, cancelledAt: iso(now) },
    }));
}

/** The most instants one command enumerates; a longer outage records the rest as one skip. */
export const MAX_INSTANTS_PER_DECISION = 1000;

/** The job's instants from `first` up to `now`, in order. */
function dueInstants(schedule: Schedule, first: Date, now: Date, anchor: Date): Date[] {
  const due = [first];
  if (!isRecurring(schedule)) return due;
  for (let next = nextInstant(schedule, first, anchor); next && next <= now && due.length < MAX_INSTANTS_PER_DECISION; next = nextInstant(schedule, next, anchor)) {
    due.push(next);
  }
  return due;
}

type Outcome = { kind: 'fire'; trigger: 'schedule' | 'misfire' } | { kind: 'skip'; reason: SkipReason; detail: string };

/**
 * What becomes of each due instant. Instants within the misfire threshold are late but on time and fire;
 * older ones are misfires: `skip` records them all as skipped, `fire_once` fires the latest and records the
 * others as collapsed into it, `fire_all` fires up to the cap and records the rest.
 */
function planMisfires(
  due: Date[],
  policy: MisfirePolicy,
  { misfireThresholdMs, fireAllCap }: FireJob['data'],
  now: Date,
): { instant: Date; outcome: Outcome }[] {
  const missed = due.filter((instant) => now.getTime() - instant.getTime() > misfireThresholdMs);
  const onTime = due.filter((instant) => !missed.includes(instant));
  // fire_once: the missed instants collapse into one fire: an on-time one if there is, else the latest missed.
  const collapseInto = onTime[0] ?? missed[missed.length - 1];
  return due.map((instant, index): { instant: Date; outcome: Outcome } => {
    if (!missed.includes(instant)) return { instant, outcome: { kind: 'fire', trigger: 'schedule' } };
    switch (policy) {
      case 'skip':
        return { instant, outcome: { kind: 'skip', reason: 'misfire', detail: 'missed (no scheduler ran on time); misfirePolicy is skip' } };
      case 'fire_once':
        return instant === collapseInto
          ? { instant, outcome: { kind: 'fire', trigger: 'misfire' } }
          : { instant, outcome: { kind: 'skip', reason: 'misfire', detail: `missed; collapsed into the fire of ${iso(collapseInto!)} (misfirePolicy fire_once)` } };
      case 'fire_all':
        return index < fireAllCap
          ? { instant, outcome: { kind: 'fire', trigger: 'misfire' } }
          : { instant, outcome: { kind: 'skip', reason: 'misfire_cap', detail: `missed; beyond the ${fireAllCap} catch-up fires allowed (misfirePolicy fire_all)` } };
    }
  });
}

/** Scheduled executions have ids derived from (job, instant): a repeated decision names the same execution. */
export function executionIdFor(jobId: string, scheduledAt: string, qualifier = ''): string {
  const hex = createHash('sha256').update(`${jobId}|${scheduledAt}|${qualifier}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function finishExecution(
  state: JobState,
  data: FinishExecution['data'],
  now: Date,
): JobEvent[] {
  const open = state.openExecutions[data.executionId];
  const late = state.cancelledAhead[data.executionId];
  // A result reported twice is folded once: the execution is no longer open.
  if (!open && !late) return [];
  const events = startedAndFinished(state, (open ?? late)!, data, now);
  // A run a pause or cancellation meant to stop before its instant, but that its worker had started at it: the
  // target was called, so the result is recorded as it happened; the job stays as the decision left it (no retry).
  if (!open) return events;
  if (data.outcome === 'succeeded') {
    if (endsOneOff(state, open)) events.push({ type: 'JobCompleted', data: { jobId: state.jobId, completedAt: iso(now) } });
    return events;
  }
  const policy = state.spec!.retryPolicy;
  const error = data.error ?? data.outcome;
  if (data.retryable === false) return [...events, ...giveUp(state, open, `${error} (not retryable)`, 'not_retryable', now)];
  if (open.attempt >= policy.maxAttempts) return [...events, ...giveUp(state, open, error, 'attempts_exhausted', now)];
  const delayMs = retryDelayMs(policy, open.attempt, data.jitter ?? 1);
  events.push({
    type: 'RetryScheduled',
    data: {
      jobId: state.jobId,
      executionId: open.executionId,
      scheduledAt: open.scheduledAt,
      nextAttempt: open.attempt + 1,
      retryAt: iso(new Date(now.getTime() + delayMs)),
      delayMs,
    },
  });
  return events;
}

/** A run's result: its start too when none was reported (a short run reports both at once). */
function startedAndFinished(state: JobState, open: OpenExecution, data: FinishExecution['data'], now: Date): JobEvent[] {
  const events: JobEvent[] = [];
  const startedAt = open.startedAt ?? data.startedAt ?? iso(now);
  if (open.status === 'queued') {
    events.push({
      type: 'ExecutionStarted',
      data: { jobId: state.jobId, executionId: open.executionId, startedAt, workerId: data.workerId, attempt: open.attempt },
    });
  }
  events.push(finished(state, open.executionId, data.outcome, now, Math.max(0, now.getTime() - Date.parse(startedAt)), data.output, data.error));
  return events;
}

/**
 * The wait before the attempt after `failedAttempt` (1-based): fixed `delayMs`; linear `delayMs × n`;
 * exponential `delayMs × 2^(n−1)`; capped at `maxDelayMs`; with jitter, a uniform share of it (full
 * jitter: `sample` in [0, 1) comes with the command).
 */
export function retryDelayMs(policy: RetryPolicy, failedAttempt: number, sample: number): number {
  const base =
    policy.backoff === 'fixed' ? policy.delayMs : policy.backoff === 'linear' ? policy.delayMs * failedAttempt : policy.delayMs * 2 ** (failedAttempt - 1);
  const capped = Math.min(base, policy.maxDelayMs);
  return policy.jitter ? Math.floor(capped * Math.min(Math.max(sample, 0), 1)) : capped;
}

/** The fire failed for good: a dead letter records it, and a one-off job that it ends has failed. */
function giveUp(state: JobState, open: OpenExecution, lastError: string, reason: DeadLetterReason, now: Date): JobEvent[] {
  const events: JobEvent[] = [
    {
      type: 'ExecutionDeadLettered',
      data: {
        jobId: state.jobId,
        deadLetterId: executionIdFor(state.jobId, open.executionId, 'dead-letter'),
        executionId: open.executionId,
        scheduledAt: open.scheduledAt,
        attempts: open.attempt,
        lastError,
        reason,
        deadLetteredAt: iso(now),
      },
    },
  ];
  if (endsOneOff(state, open)) events.push({ type: 'JobFailed', data: { jobId: state.jobId, failedAt: iso(now), executionId: open.executionId } });
  return events;
}

/** A one-off job ends with the end of its fire: nothing else open, no retry pending, not a manual extra run. */
function endsOneOff(state: JobState, open: OpenExecution): boolean {
  return (
    !isRecurring(state.spec!.schedule) &&
    state.nextRunAt === null &&
    state.status === 'active' &&
    open.trigger !== 'manual' &&
    Object.keys(state.openExecutions).length === 1 &&
    Object.keys(state.pendingRetries).length === 0
  );
}

function finished(
  state: JobState,
  executionId: string,
  outcome: ExecutionFinished['data']['outcome'],
  now: Date,
  durationMs: number,
  output: unknown,
  error: string | undefined,
): JobEvent {
  return {
    type: 'ExecutionFinished',
    data: { jobId: state.jobId, executionId, outcome, finishedAt: iso(now), durationMs, ...optional('output', output), ...optional('error', error) },
  };
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
  // Never schedule at or before an instant that already fired (docs/guarantees.md#g2 would refuse it anyway).
  if (job.lastScheduledAt !== null && iso(instant) <= job.lastScheduledAt) {
    const after = nextInstant(schedule, new Date(job.lastScheduledAt), anchor);
    return after && iso(after);
  }
  return iso(instant);
}

/**
 * Instants that fell while the job was paused are skipped, not caught up, and each is recorded; the job
 * continues at its first instant after now (a one-off whose instant passed is done).
 */
function resumeJob(job: JobState, now: Date): JobEvent[] {
  const schedule = job.spec!.schedule;
  const anchor = new Date(job.createdAt!);
  const nextAfterNow = isRecurring(schedule) ? nextInstant(schedule, now, anchor) : job.pausedNextRunAt ? new Date(job.pausedNextRunAt) : null;
  const next = nextAfterNow && nextAfterNow > now ? iso(nextAfterNow) : null;
  const events: JobEvent[] = [];
  if (job.pausedNextRunAt && Date.parse(job.pausedNextRunAt) <= now.getTime()) {
    const missed = dueInstants(schedule, new Date(job.pausedNextRunAt), now, anchor);
    for (const instant of missed) {
      events.push({
        type: 'ExecutionSkipped',
        data: {
          jobId: job.jobId,
          executionId: executionIdFor(job.jobId, iso(instant)),
          scheduledAt: iso(instant),
          reason: 'paused',
          detail: 'the job was paused at this instant',
          skippedAt: iso(now),
          nextRunAt: next,
        },
      });
    }
  }
  events.push({ type: 'JobResumed', data: { jobId: job.jobId, resumedAt: iso(now), nextRunAt: next } });
  if (!isRecurring(schedule) && next === null) events.push({ type: 'JobCompleted', data: { jobId: job.jobId, completedAt: iso(now) } });
  return events;
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
