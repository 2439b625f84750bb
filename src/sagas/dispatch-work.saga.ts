import type { ExecutionCancelled, JobFired } from '../domain/job/job.events.js';
import type { StoredEvent } from '../events/stored-event.js';
import { cancelSubject, workSubject } from '../events/streams.js';
import type { LogContext } from '../observability/log-context.js';
import type { Publication, Reaction } from './reaction.js';

/** What a worker receives: which execution of which job to run. The worker reads the job's spec itself. */
export interface WorkItem {
  jobId: string;
  /** Stream sequence of the fire: the worker reads the job at least as recent as this. */
  firedSequence: number;
  executionId: string;
  scheduledAt: string;
  attempt: number;
  /** The fire's correlation id, and its JobFired event: what the worker's result commands carry on. */
  correlationId: string;
  causationId: string;
}

/** The log context of running a work item (items queued before they carried ids fall back to the execution id). */
export const workLogContext = (item: WorkItem): LogContext & { correlationId: string } => ({
  correlationId: item.correlationId ?? item.executionId,
  causationId: item.causationId,
  jobId: item.jobId,
  executionId: item.executionId,
  attempt: item.attempt,
});

/** The Nats-Msg-Id of the work item of an execution. */
export const workItemId = (executionId: string) => `work:${executionId}`;

/**
 * Starts and stops runs. Every fire becomes one work item on CHRONOS_WORK, with Nats-Msg-Id = work:<executionId>:
 * the reactor acknowledges a batch only after every publish is confirmed, so a crash repeats publishes that the
 * stream then drops as duplicates, and loses none (guarantee 6). A cancelled execution (replaced by a newer fire)
 * is announced on chronos.control.cancel.<executionId>, and the worker running it aborts it; a worker that misses
 * the announcement finishes the run, and its result is ignored because the execution is no longer open.
 */
export const dispatchWork: Reaction = {
  name: 'dispatch-work',
  react(events: StoredEvent[]): Publication[] {
    const publications: Publication[] = [];
    for (const event of events) {
      if (event.type === 'JobFired') {
        const { data, sequence, correlationId, id } = event as StoredEvent<JobFired['data']>;
        const item: WorkItem = { jobId: data.jobId, firedSequence: sequence, executionId: data.executionId, scheduledAt: data.scheduledAt, attempt: data.attempt, correlationId, causationId: id };
        publications.push({ subject: workSubject(data.jobId), payload: JSON.stringify(item), msgID: workItemId(data.executionId) });
      } else if (event.type === 'ExecutionCancelled') {
        const { executionId } = (event as StoredEvent<ExecutionCancelled['data']>).data;
        publications.push({ subject: cancelSubject(executionId), payload: '', core: true });
      }
    }
    return publications;
  },
};
