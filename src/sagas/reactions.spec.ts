import type { JobEvent } from '../domain/job/job.events.js';
import type { LogEntry, WorkItem } from '../events/messages.js';
import type { StoredJobEvent } from '../events/stored-event.js';
import { backlogSubject, cancelSubject, LOG_ENTRIES_SUBJECT, lifecycleSubject, workSubject } from '../events/streams.js';
import { dispatchPublications } from './dispatch-work.reaction.js';
import { lifecyclePublications } from './lifecycle.reaction.js';
import type { OwnerQueue } from './work-admission.js';

/** Given: events as the log keeps them, in log order from sequence 1. */
const given = (...events: JobEvent[]): StoredJobEvent[] =>
  events.map(
    (event, index) =>
      ({
        ...event,
        sequence: index + 1,
        index: 0,
        id: `event-${index + 1}`,
        aggregateType: 'job',
        aggregateId: (event.data as { jobId: string }).jobId,
        version: index + 1,
        occurredAt: '2026-12-01T10:00:00.000Z',
        actor: 'test',
        correlationId: `fire:${(event.data as { jobId: string }).jobId}`,
      }) as StoredJobEvent,
  );

const fired = (jobId: string, executionId: string): JobEvent => ({
  type: 'JobFired',
  data: { jobId, executionId, scheduledAt: '2026-12-01T10:00:00.000Z', firedAt: '2026-12-01T10:00:00.000Z', trigger: 'schedule', attempt: 1, nextRunAt: null },
});

const OWNER = 'owner-1';
const owners = new Map([
  ['job-1', OWNER],
  ['job-2', OWNER],
]);

describe('dispatching work (given events → publications)', () => {
  it('sends a fire to its owner\'s share of the work stream, once by its execution id, in the fire\'s chain', () => {
    const queues = new Map<string, OwnerQueue>([[OWNER, { queued: 0, waiting: 0 }]]);
    const [work] = dispatchPublications(given(fired('job-1', 'exec-1')), owners, queues, 5);
    expect(work).toMatchObject({ subject: workSubject(OWNER), msgID: 'work:exec-1' });
    expect(JSON.parse(work!.payload) as WorkItem).toEqual({
      jobId: 'job-1',
      ownerId: OWNER,
      firedSequence: 1,
      executionId: 'exec-1',
      scheduledAt: '2026-12-01T10:00:00.000Z',
      attempt: 1,
      correlationId: 'fire:job-1',
      causationId: 'event-1',
    });
    expect(queues.get(OWNER)).toEqual({ queued: 1, waiting: 0 });
  });

  it('keeps the fires over the owner\'s share in its backlog, with one log entry each saying why', () => {
    const queues = new Map<string, OwnerQueue>([[OWNER, { queued: 4, waiting: 0 }]]);
    const publications = dispatchPublications(given(fired('job-1', 'exec-1'), fired('job-2', 'exec-2'), fired('job-1', 'exec-3')), owners, queues, 5);
    expect(publications.map((p) => p.subject)).toEqual([workSubject(OWNER), backlogSubject(OWNER), backlogSubject(OWNER), LOG_ENTRIES_SUBJECT]);
    const entries = JSON.parse(publications[3]!.payload) as LogEntry[];
    expect(entries.map((entry) => entry.executionId)).toEqual(['exec-2', 'exec-3']);
    expect(entries[1]!.message).toContain('1 earlier fires of the owner are waiting before it');
    // A batch handled again publishes the same ids: the streams keep each message once.
    expect(publications[3]!.msgID).toBe('deferred:exec-2:2');
    expect(queues.get(OWNER)).toEqual({ queued: 5, waiting: 2 });
  });

  it('announces a cancelled run on core NATS, to whichever worker holds it, and ignores what starts nothing', () => {
    const publications = dispatchPublications(
      given(
        { type: 'JobPaused', data: { jobId: 'job-1', pausedAt: '2026-12-01T10:00:00.000Z' } },
        { type: 'ExecutionCancelled', data: { jobId: 'job-1', executionId: 'exec-1', reason: 'paused', detail: 'paused', cancelledAt: '2026-12-01T10:00:00.000Z' } },
      ),
      owners,
      new Map(),
      5,
    );
    expect(publications).toEqual([{ subject: cancelSubject('exec-1'), payload: 'paused', core: true }]);
  });
});

describe('lifecycle CloudEvents (given events → publications)', () => {
  it('publishes each event subscribers see under its owner and job, its id as the message id', () => {
    const [queued] = lifecyclePublications(given(fired('job-1', 'exec-1')), owners);
    expect(queued).toMatchObject({ subject: lifecycleSubject(OWNER, 'job-1', 'execution.queued'), msgID: 'event-1' });
    expect(JSON.parse(queued!.payload)).toMatchObject({ specversion: '1.0', id: 'event-1', type: 'chronos.execution.queued', subject: 'job-1', chronossequence: 1 });
  });

  it('marks a replay and gives its copies message ids of their own, keeping the CloudEvent id subscribers dedupe on', () => {
    const [replayed] = lifecyclePublications(given(fired('job-1', 'exec-1')), owners, 'replay-7');
    expect(replayed!.msgID).toBe('replay:replay-7:event-1');
    expect(JSON.parse(replayed!.payload)).toMatchObject({ id: 'event-1', chronosreplay: true });
  });

  it('masks the secrets of a job in what it publishes', () => {
    const created = given({
      type: 'JobCreated',
      data: {
        jobId: 'job-1',
        ownerId: OWNER,
        spec: {
          name: 'n',
          type: 'webhook',
          payload: { url: 'https://example.test/hook', secret: 'top-secret-value' },
          schedule: { kind: 'immediate' },
          retryPolicy: { maxAttempts: 1, backoff: 'fixed', delayMs: 1000, maxDelayMs: 1000, jitter: false },
          timeoutMs: 1000,
          concurrencyPolicy: 'forbid',
          misfirePolicy: 'skip',
          notifications: { onFailure: true, onSuccess: false, webhookSecret: 'another-secret' },
          labels: {},
        },
        status: 'active',
        nextRunAt: null,
        createdAt: '2026-12-01T10:00:00.000Z',
      } as never,
    });
    const [published] = lifecyclePublications(created, owners);
    expect(published!.payload).not.toContain('top-secret-value');
    expect(published!.payload).not.toContain('another-secret');
  });
});
