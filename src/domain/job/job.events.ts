import type { JobSpec } from './job-spec.js';
import type { JobState } from './job.state.js';
import type { Schedule } from './schedule.js';

/** A domain event: a fact, named in the past tense, immutable once appended. */
export interface Event<Type extends string, Data> {
  type: Type;
  data: Data;
}

export type ExecutionTrigger = 'schedule' | 'manual' | 'retry' | 'misfire';
export type ExecutionOutcome = 'succeeded' | 'failed' | 'timed_out';

export type JobCreated = Event<
  'JobCreated',
  { jobId: string; ownerId: string; spec: JobSpec; createdAt: string; nextRunAt: string | null }
>;
export type JobUpdated = Event<'JobUpdated', { jobId: string; spec: JobSpec; updatedAt: string; nextRunAt: string | null }>;
export type JobRescheduled = Event<
  'JobRescheduled',
  { jobId: string; schedule: Schedule; rescheduledAt: string; nextRunAt: string | null }
>;
export type JobPaused = Event<'JobPaused', { jobId: string; note?: string; pausedAt: string }>;
export type JobResumed = Event<'JobResumed', { jobId: string; resumedAt: string; nextRunAt: string | null }>;
export type JobCancelled = Event<'JobCancelled', { jobId: string; cancelledAt: string }>;
export type JobDeleted = Event<'JobDeleted', { jobId: string; deletedAt: string }>;
export type JobCompleted = Event<'JobCompleted', { jobId: string; completedAt: string }>;
export type JobFailed = Event<'JobFailed', { jobId: string; failedAt: string; executionId: string }>;
/** One fire of the job: an execution is queued. `nextRunAt` is the job's next instant after this fire. */
export type JobFired = Event<
  'JobFired',
  {
    jobId: string;
    executionId: string;
    scheduledAt: string;
    firedAt: string;
    trigger: ExecutionTrigger;
    attempt: number;
    nextRunAt: string | null;
    /** A retry: the failed attempt this one follows. */
    retryOf?: string;
  }
>;
export type ExecutionStarted = Event<
  'ExecutionStarted',
  { jobId: string; executionId: string; startedAt: string; workerId: string; attempt: number }
>;
export type ExecutionFinished = Event<
  'ExecutionFinished',
  {
    jobId: string;
    executionId: string;
    outcome: ExecutionOutcome;
    finishedAt: string;
    durationMs: number;
    output?: unknown;
    error?: string;
  }
>;

/** Why a scheduled instant did not run. */
export type SkipReason = 'overlap' | 'misfire' | 'misfire_cap' | 'paused';

/** A scheduled instant that was not run, and why: every instant has exactly one recorded outcome. */
export type ExecutionSkipped = Event<
  'ExecutionSkipped',
  {
    jobId: string;
    /** The execution this instant would have been; a skipped row has this id in the read model. */
    executionId: string;
    scheduledAt: string;
    reason: SkipReason;
    detail: string;
    skippedAt: string;
    nextRunAt: string | null;
  }
>;
/**
 * A queued or running execution stopped by a decision: replaced by a newer fire, or fired ahead of its
 * instant and the job paused, cancelled or deleted before the instant.
 */
export type ExecutionCancelled = Event<
  'ExecutionCancelled',
  { jobId: string; executionId: string; reason: 'replaced' | 'paused' | 'cancelled' | 'deleted'; detail: string; cancelledAt: string }
>;

/** A failed attempt will be tried again at `retryAt`: a durable timer, fired by the scheduler. */
export type RetryScheduled = Event<
  'RetryScheduled',
  { jobId: string; executionId: string; scheduledAt: string; nextAttempt: number; retryAt: string; delayMs: number }
>;
export type DeadLetterReason = 'attempts_exhausted' | 'not_retryable' | 'max_deliveries';
/** The fire's last attempt failed, or failed for good: kept for an operator to retry or discard. */
export type ExecutionDeadLettered = Event<
  'ExecutionDeadLettered',
  {
    jobId: string;
    deadLetterId: string;
    executionId: string;
    scheduledAt: string;
    attempts: number;
    lastError: string;
    reason: DeadLetterReason;
    deadLetteredAt: string;
  }
>;
/** An operator retried a dead letter: a new execution of the same fire, attempts counted afresh. */
export type DeadLetterRetried = Event<'DeadLetterRetried', { jobId: string; deadLetterId: string; executionId: string; retriedAt: string }>;
export type DeadLetterDiscarded = Event<'DeadLetterDiscarded', { jobId: string; deadLetterId: string; discardedAt: string }>;

export type NotificationChannel = 'email' | 'webhook';
/** What a notification is about: a dead letter (the fire failed for good) or a succeeded execution. */
export type NotificationTrigger = 'failure' | 'success';
export type NotificationSent = Event<
  'NotificationSent',
  {
    jobId: string;
    notificationId: string;
    channel: NotificationChannel;
    trigger: NotificationTrigger;
    /** The execution the notification is about. */
    executionId: string;
    to: string;
    attempts: number;
    sentAt: string;
    messageId?: string;
  }
>;
export type NotificationFailed = Event<
  'NotificationFailed',
  {
    jobId: string;
    notificationId: string;
    channel: NotificationChannel;
    trigger: NotificationTrigger;
    executionId: string;
    to: string;
    attempts: number;
    error: string;
    failedAt: string;
  }
>;

/** What the executions of a closed history add up to (the jobs read model's `stats`). */
export interface HistoryStats {
  totalExecutions: number;
  succeeded: number;
  failed: number;
  totalDurationMs: number;
}

/**
 * The job's history up to here is closed (continue-as-new): `state` is the job as every event before this one
 * folds it, so a fold may start here, and the messages before it can be purged from the log once the read
 * models hold nothing of them (docs/architecture.md, Retention). `stats` carries what the read models counted.
 */
export type HistoryEpochClosed = Event<
  'HistoryEpochClosed',
  { jobId: string; closedAt: string; state: JobState; stats: HistoryStats }
>;

export type JobEvent =
  | JobCreated
  | JobUpdated
  | JobRescheduled
  | JobPaused
  | JobResumed
  | JobCancelled
  | JobDeleted
  | JobCompleted
  | JobFailed
  | JobFired
  | ExecutionStarted
  | ExecutionFinished
  | ExecutionSkipped
  | ExecutionCancelled
  | RetryScheduled
  | ExecutionDeadLettered
  | DeadLetterRetried
  | DeadLetterDiscarded
  | NotificationSent
  | NotificationFailed
  | HistoryEpochClosed;

export type JobEventType = JobEvent['type'];

/** Schema version of each event type as written today; older versions are upcast on read (src/events/upcasters.ts). */
export const JOB_EVENT_VERSIONS: Record<JobEventType, number> = {
  JobCreated: 1,
  JobUpdated: 1,
  JobRescheduled: 1,
  JobPaused: 1,
  JobResumed: 1,
  JobCancelled: 1,
  JobDeleted: 1,
  JobCompleted: 1,
  JobFailed: 1,
  JobFired: 1,
  ExecutionStarted: 1,
  ExecutionFinished: 1,
  ExecutionSkipped: 1,
  ExecutionCancelled: 1,
  RetryScheduled: 1,
  ExecutionDeadLettered: 1,
  DeadLetterRetried: 1,
  DeadLetterDiscarded: 1,
  NotificationSent: 1,
  NotificationFailed: 1,
  HistoryEpochClosed: 1,
};
