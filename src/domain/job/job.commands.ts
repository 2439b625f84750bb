import type { JobSpec } from './job-spec.js';
import type { ExecutionOutcome, HistoryStats, NotificationChannel, NotificationTrigger } from './job.events.js';
import type { Schedule } from './schedule.js';

/** A request to change a job. `now` is the command's time: the decider never reads the clock. */
export interface Command<Type extends string, Data> {
  type: Type;
  data: Data;
  now: Date;
}

export type CreateJob = Command<'CreateJob', { jobId: string; ownerId: string; spec: JobSpec; executionId: string }>;
export type UpdateJob = Command<'UpdateJob', { spec: JobSpec }>;
export type RescheduleJob = Command<'RescheduleJob', { schedule: Schedule }>;
export type PauseJob = Command<'PauseJob', { note?: string }>;
export type ResumeJob = Command<'ResumeJob', Record<string, never>>;
export type CancelJob = Command<'CancelJob', Record<string, never>>;
export type DeleteJob = Command<'DeleteJob', Record<string, never>>;
/** Run now, outside the schedule. */
export type TriggerJob = Command<'TriggerJob', { executionId: string }>;
/**
 * The scheduler fires the instant `scheduledAt` (due at or before `now`). Instants older than
 * `misfireThresholdMs` are misfires, handled by the job's misfirePolicy; `fire_all` fires at most
 * `fireAllCap` of them.
 */
/**
 * Fires the job's next instant. `fireAheadMs` lets the fire be recorded up to that long before the
 * instant (the worker holds the run until it), unless a run still open makes overlap undecidable yet.
 */
export type FireJob = Command<'FireJob', { scheduledAt: string; misfireThresholdMs: number; fireAllCap: number; fireAheadMs?: number }>;
export type StartExecution = Command<'StartExecution', { executionId: string; workerId: string }>;
/**
 * A worker reports how a run ended. `startedAt` is set when the start was not reported separately
 * (short runs report start and end in one command).
 */
export type FinishExecution = Command<
  'FinishExecution',
  {
    executionId: string;
    workerId: string;
    outcome: ExecutionOutcome;
    startedAt?: string;
    output?: unknown;
    error?: string;
    /** False when trying again cannot help (e.g. an HTTP 4xx other than 408/429): no more attempts. */
    retryable?: boolean;
    /** A uniform sample in [0, 1) for full jitter: randomness comes in with the command. */
    jitter?: number;
  }
>;
/** The scheduler fires a retry timer: the next attempt of the fire whose attempt `executionId` failed. */
export type RetryExecution = Command<'RetryExecution', { executionId: string }>;
/** JetStream gave up delivering the work of an execution (max_deliver): it becomes a dead letter. */
export type DeadLetterExecution = Command<'DeadLetterExecution', { executionId: string; error: string }>;
export type RetryDeadLetter = Command<'RetryDeadLetter', { deadLetterId: string }>;
export type DiscardDeadLetter = Command<'DiscardDeadLetter', { deadLetterId: string }>;
/** The notification saga reports how sending a notification ended. */
export type RecordNotification = Command<
  'RecordNotification',
  {
    notificationId: string;
    channel: NotificationChannel;
    trigger: NotificationTrigger;
    executionId: string;
    to: string;
    attempts: number;
    outcome: 'sent' | 'failed';
    messageId?: string;
    error?: string;
  }
>;

/**
 * Retention closes the job's history so far into one epoch event (docs/architecture.md, Retention): the state as
 * it stands, and the execution statistics the read models counted from the history it closes (`stats`, read
 * from the jobs read model at exactly this version: the command is sent with it as the expected version).
 */
export type CloseHistoryEpoch = Command<'CloseHistoryEpoch', { stats: HistoryStats }>;

export type JobCommand =
  | CreateJob
  | UpdateJob
  | RescheduleJob
  | PauseJob
  | ResumeJob
  | CancelJob
  | DeleteJob
  | TriggerJob
  | FireJob
  | StartExecution
  | FinishExecution
  | RetryExecution
  | DeadLetterExecution
  | RetryDeadLetter
  | DiscardDeadLetter
  | RecordNotification
  | CloseHistoryEpoch;
