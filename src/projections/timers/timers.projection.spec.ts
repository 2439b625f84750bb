import type { JobEvent } from '../../domain/job/job.events.js';
import type { StoredJobEvent } from '../../events/stored-event.js';
import { timerChanges } from './timers.projection.js';
import { storedInOrder } from '../../../test/support/stored-events.js';

const AT = '2026-12-01T10:00:00.000Z';
const NEXT = '2026-12-01T11:00:00.000Z';
const LATER = '2026-12-01T12:00:00.000Z';

/** Given: events as the log keeps them, in log order. */
const given = (...events: JobEvent[]): StoredJobEvent[] => storedInOrder(events, AT, (_, index) => `chain-${index + 1}`);

const created = (jobId: string, nextRunAt: string | null): JobEvent => ({ type: 'JobCreated', data: { jobId, ownerId: 'owner-1', spec: {} as never, createdAt: AT, nextRunAt } });
const fired = (jobId: string, trigger: 'schedule' | 'manual' | 'retry', nextRunAt: string | null, retryOf?: string): JobEvent => ({
  type: 'JobFired',
  data: { jobId, executionId: `exec-${trigger}`, scheduledAt: AT, firedAt: AT, trigger, attempt: 1, nextRunAt, ...(retryOf ? { retryOf } : {}) },
});

describe('the timers read model (given events → rows)', () => {
  it("keeps each job's latest next instant from the events that carry it, with the position of the event that set it", () => {
    const { next } = timerChanges(given(created('job-1', NEXT), fired('job-1', 'schedule', LATER), created('job-2', null)));
    expect(next).toEqual(
      new Map([
        ['job-1', { at: LATER, position: 2 }],
        ['job-2', { at: null, position: 3 }],
      ]),
    );
  });

  it('does not move the schedule for a manual fire (outside the schedule)', () => {
    expect(timerChanges(given(created('job-1', NEXT), fired('job-1', 'manual', null))).next.get('job-1')).toEqual({ at: NEXT, position: 1 });
  });

  it('clears the timer of a job that stops: paused, cancelled, completed, failed, deleted', () => {
    const { next, deletedJobs } = timerChanges(
      given(
        created('job-1', NEXT),
        { type: 'JobPaused', data: { jobId: 'job-1', pausedAt: AT } },
        created('job-2', NEXT),
        { type: 'JobDeleted', data: { jobId: 'job-2', deletedAt: AT } },
      ),
    );
    expect(next).toEqual(
      new Map([
        ['job-1', { at: null, position: 2 }],
        ['job-2', { at: null, position: 4 }],
      ]),
    );
    expect(deletedJobs).toEqual(['job-2']);
  });

  it("keeps a retry as a timer of its own, with the failed run's correlation, until the retry fires", () => {
    const retry: JobEvent = { type: 'RetryScheduled', data: { jobId: 'job-1', executionId: 'exec-1', scheduledAt: AT, nextAttempt: 2, retryAt: NEXT, delayMs: 3_600_000 } };
    expect(timerChanges(given(created('job-1', null), retry)).retries).toEqual(new Map([['exec-1', { jobId: 'job-1', retryAt: NEXT, correlationId: 'chain-2', position: 2 }]]));
    expect(timerChanges(given(created('job-1', null), retry, fired('job-1', 'retry', null, 'exec-1'))).retries).toEqual(new Map([['exec-1', null]]));
  });
});
