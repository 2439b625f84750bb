import type { JobEvent } from '../../domain/job/job.events.js';
import type { StoredJobEvent } from '../../events/stored-event.js';
import { storedInOrder } from '../../../test/support/stored-events.js';
import { executionRows, type ExecutionRow } from './executions.projection.js';

const AT = '2026-12-01T10:00:00.000Z';
const LATER = '2026-12-01T10:00:01.500Z';

/** Given: events as the log keeps them, in log order. */
const given = (...events: JobEvent[]): StoredJobEvent[] => storedInOrder(events, AT, () => 'c');

const fired = (executionId: string, attempt = 1): JobEvent => ({
  type: 'JobFired',
  data: { jobId: 'job-1', executionId, scheduledAt: AT, firedAt: AT, trigger: 'schedule', attempt, nextRunAt: null },
});
const started = (executionId: string): JobEvent => ({ type: 'ExecutionStarted', data: { jobId: 'job-1', executionId, startedAt: AT, workerId: 'worker-1', attempt: 1 } });
const finished = (executionId: string, outcome: 'succeeded' | 'failed'): JobEvent => ({
  type: 'ExecutionFinished',
  data: { jobId: 'job-1', executionId, outcome, finishedAt: LATER, durationMs: 1500, output: { status: 200 }, ...(outcome === 'failed' ? { error: 'HTTP 500' } : {}) },
});

/** Then: the rows written, by execution id. */
const byId = (rows: ExecutionRow[]) => new Map(rows.map((row) => [row.id, row]));

describe('the executions read model (given events → rows)', () => {
  it('follows an attempt from its fire to its finish: queued, running, then its outcome with output and duration', () => {
    const rows = byId(executionRows(new Map(), given(fired('exec-1'), started('exec-1'), finished('exec-1', 'succeeded'))));
    expect(rows.get('exec-1')).toEqual({
      id: 'exec-1',
      jobId: 'job-1',
      scheduledAt: AT,
      attempt: 1,
      trigger: 'schedule',
      status: 'succeeded',
      queuedAt: AT,
      startedAt: AT,
      finishedAt: LATER,
      durationMs: 1500,
      output: { status: 200 },
      error: null,
      workerId: 'worker-1',
    });
  });

  it('records a skipped instant as a row that never ran, saying why', () => {
    const skipped: JobEvent = { type: 'ExecutionSkipped', data: { jobId: 'job-1', executionId: 'exec-2', scheduledAt: AT, reason: 'overlap', detail: 'exec-1 still running', skippedAt: LATER, nextRunAt: null } };
    expect(byId(executionRows(new Map(), given(skipped))).get('exec-2')).toMatchObject({ status: 'skipped', attempt: 0, startedAt: null, finishedAt: LATER, output: { reason: 'overlap' }, error: 'exec-1 still running' });
  });

  it('cancels a queued run with the decision that stopped it', () => {
    const cancelled: JobEvent = { type: 'ExecutionCancelled', data: { jobId: 'job-1', executionId: 'exec-1', reason: 'paused', detail: 'job paused before its instant', cancelledAt: LATER } };
    expect(byId(executionRows(new Map(), given(fired('exec-1'), cancelled))).get('exec-1')).toMatchObject({ status: 'cancelled', finishedAt: LATER, error: 'job paused before its instant' });
  });

  it('goes on from the row as stored, in another batch, and leaves the stored row untouched', () => {
    const [queued] = executionRows(new Map(), given(fired('exec-1')));
    const stored = structuredClone(queued!);
    const later = given(fired('exec-1'), started('exec-1'), finished('exec-1', 'failed')).slice(1);
    expect(executionRows(new Map([['exec-1', queued!]]), later)).toEqual([expect.objectContaining({ id: 'exec-1', status: 'failed', error: 'HTTP 500', workerId: 'worker-1' })]);
    expect(queued).toEqual(stored);
  });

  it('writes nothing for a start or finish of a run it has no row of (its day already dropped by retention)', () => {
    expect(executionRows(new Map(), given(started('exec-9'), finished('exec-9', 'succeeded')))).toEqual([]);
  });

  it('keeps each attempt of a fire as its own row', () => {
    const rows = executionRows(new Map(), given(fired('exec-1'), finished('exec-1', 'failed'), fired('exec-2', 2)));
    expect(rows.map((row) => [row.id, row.attempt, row.status])).toEqual([
      ['exec-1', 1, 'failed'],
      ['exec-2', 2, 'queued'],
    ]);
  });
});
