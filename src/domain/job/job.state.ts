import type { JobSpec } from './job-spec.js';
import type { DeadLetterReason, ExecutionOutcome, ExecutionTrigger, JobEvent } from './job.events.js';

export type JobStatus = 'active' | 'paused' | 'completed' | 'failed' | 'cancelled';
export type OpenExecutionStatus = 'queued' | 'running';

/** An execution that has been queued and has not finished yet. Finished ones live in the read model only. */
export interface OpenExecution {
  executionId: string;
  scheduledAt: string;
  attempt: number;
  trigger: ExecutionTrigger;
  status: OpenExecutionStatus;
  startedAt?: string;
}

/** A failed attempt waiting for its retry timer. */
export interface PendingRetry {
  executionId: string;
  scheduledAt: string;
  nextAttempt: number;
  retryAt: string;
}

/** A fire whose attempts are exhausted, waiting for an operator to retry or discard it. */
export interface DeadLetter {
  deadLetterId: string;
  executionId: string;
  scheduledAt: string;
  attempts: number;
  lastError: string;
  /** Kept so that a history epoch can give the dead-letters read model its row back (absent in states folded before). */
  reason?: DeadLetterReason;
  deadLetteredAt?: string;
}

/** How many recorded notification ids the state keeps to fold a repeated report once. */
const RECENT_NOTIFICATIONS = 100;
/** How many runs cancelled before their instant the state keeps, so that a report of one that started anyway is recorded. */
const CANCELLED_AHEAD_KEPT = 20;

export interface JobState {
  exists: boolean;
  deleted: boolean;
  jobId: string;
  ownerId: string;
  spec: JobSpec | null;
  status: JobStatus;
  /** The next scheduled instant, or null when nothing is scheduled (paused, one-off done, ...). */
  nextRunAt: string | null;
  /** The last scheduled instant that has an outcome (fired or skipped): a fire at or before it is refused (docs/guarantees.md#g2). */
  lastScheduledAt: string | null;
  /** The next instant when the job was paused: on resume, instants from it up to then are recorded as skipped. */
  pausedNextRunAt: string | null;
  lastRunAt: string | null;
  lastRunStatus: ExecutionOutcome | null;
  openExecutions: Record<string, OpenExecution>;
  /**
   * Runs fired ahead that a pause or a cancellation stopped before their instant (the latest few), by id. The
   * worker holding one may have started it at its instant before the decision reached it: its start and result
   * are still recorded (the target was called), never refused.
   */
  cancelledAhead: Record<string, OpenExecution>;
  /** Failed attempts with a retry timer, by the failed execution's id. */
  pendingRetries: Record<string, PendingRetry>;
  /** Open dead letters, by id. */
  deadLetters: Record<string, DeadLetter>;
  /** Ids of the latest recorded notifications. */
  recentNotifications: string[];
  /** Number of events folded: the job's version, exposed as its ETag. */
  version: number;
  createdAt: string | null;
  updatedAt: string | null;
  /** The last history epoch (HistoryEpochClosed): when, and the version it made; events since = version − epoch.version. */
  epoch: { closedAt: string; version: number } | null;
}

/**
 * The shape of JobState, as snapshots record it (src/commands/job.repository.ts): change it with any change of
 * the fields or of what evolve keeps in them, and every stored snapshot is passed by and written anew.
 * `job.state.spec.ts` fails when the fields change and this does not.
 */
export const JOB_STATE_SHAPE = 2;

export const initialState = (): JobState => ({
  exists: false,
  deleted: false,
  jobId: '',
  ownerId: '',
  spec: null,
  status: 'active',
  nextRunAt: null,
  lastScheduledAt: null,
  pausedNextRunAt: null,
  lastRunAt: null,
  lastRunStatus: null,
  openExecutions: {},
  cancelledAhead: {},
  pendingRetries: {},
  deadLetters: {},
  recentNotifications: [],
  version: 0,
  createdAt: null,
  updatedAt: null,
  epoch: null,
});

export function evolve(state: JobState, event: JobEvent): JobState {
  const next: JobState = { ...state, version: state.version + 1 };
  switch (event.type) {
    case 'JobCreated':
      return {
        ...next,
        exists: true,
        jobId: event.data.jobId,
        ownerId: event.data.ownerId,
        spec: event.data.spec,
        status: 'active',
        nextRunAt: event.data.nextRunAt,
        createdAt: event.data.createdAt,
        updatedAt: event.data.createdAt,
      };
    case 'JobUpdated':
      return { ...next, spec: event.data.spec, nextRunAt: event.data.nextRunAt, updatedAt: event.data.updatedAt };
    case 'JobRescheduled':
      return {
        ...next,
        spec: state.spec && { ...state.spec, schedule: event.data.schedule },
        nextRunAt: event.data.nextRunAt,
        updatedAt: event.data.rescheduledAt,
      };
    case 'JobPaused':
      return { ...next, status: 'paused', nextRunAt: null, pausedNextRunAt: state.nextRunAt, updatedAt: event.data.pausedAt };
    case 'JobResumed':
      return { ...next, status: 'active', nextRunAt: event.data.nextRunAt, pausedNextRunAt: null, updatedAt: event.data.resumedAt };
    case 'JobCancelled':
      return { ...next, status: 'cancelled', nextRunAt: null, updatedAt: event.data.cancelledAt };
    case 'JobDeleted':
      return { ...next, deleted: true, nextRunAt: null, updatedAt: event.data.deletedAt };
    case 'JobCompleted':
      return { ...next, status: 'completed', nextRunAt: null, updatedAt: event.data.completedAt };
    case 'JobFailed':
      return { ...next, status: 'failed', nextRunAt: null, updatedAt: event.data.failedAt };
    case 'JobFired': {
      const { executionId, scheduledAt, attempt, trigger, firedAt, retryOf } = event.data;
      const advancesSchedule = trigger === 'schedule' || trigger === 'misfire';
      const { [retryOf ?? '']: _retried, ...pendingRetries } = state.pendingRetries;
      return {
        ...next,
        pendingRetries: retryOf ? pendingRetries : state.pendingRetries,
        nextRunAt: advancesSchedule ? event.data.nextRunAt : state.nextRunAt,
        lastScheduledAt: advancesSchedule ? scheduledAt : state.lastScheduledAt,
        lastRunAt: firedAt,
        openExecutions: {
          ...state.openExecutions,
          [executionId]: { executionId, scheduledAt, attempt, trigger, status: 'queued' },
        },
        updatedAt: firedAt,
      };
    }
    case 'ExecutionStarted': {
      const open = state.openExecutions[event.data.executionId];
      const started = { status: 'running', startedAt: event.data.startedAt } as const;
      if (open) return { ...next, openExecutions: { ...state.openExecutions, [open.executionId]: { ...open, ...started } } };
      const late = state.cancelledAhead[event.data.executionId];
      if (late) return { ...next, cancelledAhead: { ...state.cancelledAhead, [late.executionId]: { ...late, ...started } } };
      return next;
    }
    case 'ExecutionFinished': {
      const { [event.data.executionId]: _finished, ...stillOpen } = state.openExecutions;
      const { [event.data.executionId]: _late, ...cancelledAhead } = state.cancelledAhead;
      return {
        ...next,
        openExecutions: stillOpen,
        cancelledAhead,
        lastRunStatus: event.data.outcome,
        updatedAt: event.data.finishedAt,
      };
    }
    case 'ExecutionSkipped':
      return {
        ...next,
        nextRunAt: state.status === 'active' ? event.data.nextRunAt : state.nextRunAt,
        lastScheduledAt: event.data.scheduledAt,
        updatedAt: event.data.skippedAt,
      };
    case 'RetryScheduled': {
      const { executionId, scheduledAt, nextAttempt, retryAt } = event.data;
      return { ...next, pendingRetries: { ...state.pendingRetries, [executionId]: { executionId, scheduledAt, nextAttempt, retryAt } } };
    }
    case 'ExecutionDeadLettered': {
      const { deadLetterId, executionId, scheduledAt, attempts, lastError, reason, deadLetteredAt } = event.data;
      return {
        ...next,
        deadLetters: { ...state.deadLetters, [deadLetterId]: { deadLetterId, executionId, scheduledAt, attempts, lastError, reason, deadLetteredAt } },
      };
    }
    case 'DeadLetterRetried': {
      const { [event.data.deadLetterId]: _retried, ...deadLetters } = state.deadLetters;
      // A one-off that failed is live again while its dead letter is retried.
      return { ...next, deadLetters, status: state.status === 'failed' ? 'active' : state.status, updatedAt: event.data.retriedAt };
    }
    case 'DeadLetterDiscarded': {
      const { [event.data.deadLetterId]: _discarded, ...deadLetters } = state.deadLetters;
      return { ...next, deadLetters };
    }
    case 'NotificationSent':
    case 'NotificationFailed':
      return { ...next, recentNotifications: [...state.recentNotifications, event.data.notificationId].slice(-RECENT_NOTIFICATIONS) };
    case 'ExecutionCancelled': {
      const { [event.data.executionId]: cancelled, ...stillOpen } = state.openExecutions;
      // Replaced runs are aborted and deleted jobs take no results; a pause or cancellation only stops runs not yet due.
      const ahead = cancelled && (event.data.reason === 'paused' || event.data.reason === 'cancelled');
      const cancelledAhead = ahead ? Object.fromEntries([...Object.entries(state.cancelledAhead), [cancelled.executionId, cancelled]].slice(-CANCELLED_AHEAD_KEPT)) : state.cancelledAhead;
      return { ...next, openExecutions: stillOpen, cancelledAhead, updatedAt: event.data.cancelledAt };
    }
    case 'HistoryEpochClosed': {
      // The fold starts afresh from the closed state (missing fields of an older shape take their defaults), so a
      // log purged up to here folds to the same job, version included.
      const version = event.data.state.version + 1;
      return { ...initialState(), ...event.data.state, version, epoch: { closedAt: event.data.closedAt, version } };
    }
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

export const fold = (events: readonly JobEvent[], from: JobState = initialState()): JobState =>
  events.reduce(evolve, from);
