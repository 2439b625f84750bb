import { defaultRetryPolicy, withDefaults } from '../../domain/job/job-spec.js';
import type { JobEvent } from '../../domain/job/job.events.js';
import type { StoredJobEvent } from '../../events/stored-event.js';
import { projectJobs, type JobRow } from './jobs.projection.js';
import { storedInOrder } from '../../../test/support/stored-events.js';

const AT = '2026-12-01T10:00:00.000Z';
const NEXT = '2026-12-01T11:00:00.000Z';

/** Given: events as the log keeps them, in log order. */
const given = (...events: JobEvent[]): StoredJobEvent[] => storedInOrder(events, AT, () => 'c');

const created = (jobId: string): JobEvent => ({
  type: 'JobCreated',
  data: {
    jobId,
    ownerId: 'owner-1',
    spec: withDefaults({ name: `job ${jobId}`, type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'cron', expression: '0 * * * *', timezone: 'UTC' } }, { retryPolicy: defaultRetryPolicy(), timeoutMs: 30_000 }),
    createdAt: AT,
    nextRunAt: NEXT,
  },
});
const fired = (jobId: string, executionId: string): JobEvent => ({
  type: 'JobFired',
  data: { jobId, executionId, scheduledAt: AT, firedAt: AT, trigger: 'schedule', attempt: 1, nextRunAt: NEXT },
});
const finished = (jobId: string, executionId: string, outcome: 'succeeded' | 'failed', durationMs: number): JobEvent => ({
  type: 'ExecutionFinished',
  data: { jobId, executionId, outcome, finishedAt: AT, durationMs },
});

/** Then: the rows of the batch, by job id. */
const rows = (changes: { upserts: JobRow[] }) => new Map(changes.upserts.map((row) => [row.state.jobId, row]));

describe('the jobs read model (given events → rows)', () => {
  it('writes a created job as the domain folds it, with no runs yet', () => {
    const changes = projectJobs(new Map(), given(created('job-1')));
    expect(changes.deletes).toEqual([]);
    expect(rows(changes).get('job-1')).toMatchObject({
      state: { exists: true, jobId: 'job-1', ownerId: 'owner-1', status: 'active', nextRunAt: NEXT, version: 1, spec: { name: 'job job-1' } },
      stats: { totalExecutions: 0, succeeded: 0, failed: 0, totalDurationMs: 0 },
    });
  });

  it('counts each finished run by outcome with its duration, and the job records its last run', () => {
    const changes = projectJobs(new Map(), given(created('job-1'), fired('job-1', 'exec-1'), finished('job-1', 'exec-1', 'succeeded', 40), fired('job-1', 'exec-2'), finished('job-1', 'exec-2', 'failed', 60)));
    expect(rows(changes).get('job-1')).toMatchObject({
      state: { lastRunStatus: 'failed', version: 5, openExecutions: {} },
      stats: { totalExecutions: 2, succeeded: 1, failed: 1, totalDurationMs: 100 },
    });
  });

  it('goes on from the row as stored, and leaves the stored row untouched', () => {
    const first = rows(projectJobs(new Map(), given(created('job-1'), fired('job-1', 'exec-1'))));
    const stored = structuredClone(first.get('job-1')!);
    const later = given(created('job-1'), fired('job-1', 'exec-1'), finished('job-1', 'exec-1', 'succeeded', 25), { type: 'JobPaused', data: { jobId: 'job-1', pausedAt: AT } }).slice(2);
    const row = rows(projectJobs(first, later)).get('job-1')!;
    expect(row).toMatchObject({ state: { status: 'paused', nextRunAt: null, version: 4 }, stats: { totalExecutions: 1, succeeded: 1, totalDurationMs: 25 } });
    expect(first.get('job-1')).toEqual(stored);
  });

  it('deletes a deleted job instead of writing it, and keeps the others of the batch', () => {
    const changes = projectJobs(new Map(), given(created('job-1'), created('job-2'), { type: 'JobDeleted', data: { jobId: 'job-1', deletedAt: AT } }));
    expect(changes.deletes).toEqual(['job-1']);
    expect([...rows(changes).keys()]).toEqual(['job-2']);
  });
});
