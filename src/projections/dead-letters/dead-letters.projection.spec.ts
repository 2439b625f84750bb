import type { JobEvent } from '../../domain/job/job.events.js';
import type { StoredJobEvent } from '../../events/stored-event.js';
import { storedInOrder } from '../../../test/support/stored-events.js';
import { deadLetterChanges } from './dead-letters.projection.js';

const AT = '2026-12-01T10:00:00.000Z';

/** Given: events as the log keeps them, in log order. */
const given = (...events: JobEvent[]): StoredJobEvent[] => storedInOrder(events, AT, () => 'c');

const deadLettered = (deadLetterId: string, jobId = 'job-1'): JobEvent => ({
  type: 'ExecutionDeadLettered',
  data: { jobId, deadLetterId, executionId: `exec-of-${deadLetterId}`, scheduledAt: AT, attempts: 3, lastError: 'HTTP 500', reason: 'attempts_exhausted', deadLetteredAt: AT },
});

describe('the dead-letters read model (given events → changes)', () => {
  it('opens a dead letter with what the operator needs to decide', () => {
    expect(deadLetterChanges(given(deadLettered('dl-1')))).toEqual([
      { open: { id: 'dl-1', jobId: 'job-1', executionId: 'exec-of-dl-1', scheduledAt: AT, attempts: 3, lastError: 'HTTP 500', reason: 'attempts_exhausted', deadLetteredAt: AT } },
    ]);
  });

  it('closes it when retried or discarded, and closes every one of a deleted job', () => {
    const changes = deadLetterChanges(
      given(
        deadLettered('dl-1'),
        { type: 'DeadLetterRetried', data: { jobId: 'job-1', deadLetterId: 'dl-1', executionId: 'exec-2', retriedAt: AT } },
        deadLettered('dl-2'),
        { type: 'DeadLetterDiscarded', data: { jobId: 'job-1', deadLetterId: 'dl-2', discardedAt: AT } },
        deadLettered('dl-3', 'job-2'),
        { type: 'JobDeleted', data: { jobId: 'job-2', deletedAt: AT } },
      ),
    );
    expect(changes.map((change) => ('open' in change ? `open ${change.open.id}` : 'close' in change ? `close ${change.close}` : `close job ${change.closeJob}`))).toEqual([
      'open dl-1',
      'close dl-1',
      'open dl-2',
      'close dl-2',
      'open dl-3',
      'close job job-2',
    ]);
  });

  it('changes nothing for the events of a run that has not failed for good', () => {
    const fired: JobEvent = { type: 'JobFired', data: { jobId: 'job-1', executionId: 'exec-1', scheduledAt: AT, firedAt: AT, trigger: 'schedule', attempt: 1, nextRunAt: null } };
    expect(deadLetterChanges(given(fired, { type: 'ExecutionFinished', data: { jobId: 'job-1', executionId: 'exec-1', outcome: 'failed', finishedAt: AT, durationMs: 5, error: 'HTTP 500' } }))).toEqual([]);
  });
});
