import type { JobEvent } from '../domain/job/job.events.js';
import type { LogEntry, NotificationItem, WorkItem } from '../events/messages.js';
import type { StoredJobEvent } from '../events/stored-event.js';
import { backlogSubject, cancelSubject, LOG_ENTRIES_SUBJECT, lifecycleSubject, notifySubject, workSubject } from '../events/streams.js';
import { notificationIdFor } from '../commands/ids.js';
import type { Notifications } from '../domain/job/job-spec.js';
import { dispatchPublications } from './dispatch-work.reaction.js';
import { lifecyclePublications } from './lifecycle.reaction.js';
import { emptyNotificationMemory, notificationPublications, notificationUnknowns, type NotificationMemory } from './notifications.reaction.js';
import type { OwnerQueue } from './work-admission.js';
import { storedInOrder } from '../../test/support/stored-events.js';

/** Given: events as the log keeps them, in log order from sequence 1. */
const given = (...events: JobEvent[]): StoredJobEvent[] => storedInOrder(events, '2026-12-01T10:00:00.000Z', (event) => `fire:${(event.data as { jobId: string }).jobId}`);

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
  it('publishes each event subscribers see under its owner and job, its id as the message id, as a structured CloudEvent', () => {
    const [queued] = lifecyclePublications(given(fired('job-1', 'exec-1')), owners);
    expect(queued).toMatchObject({ subject: lifecycleSubject(OWNER, 'job-1', 'execution.queued'), msgID: 'event-1', headers: { 'Content-Type': 'application/cloudevents+json' } });
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

describe('notifications (given events → publications)', () => {
  const AT = '2026-12-01T10:00:00.000Z';
  const LONG_AGO = Date.parse('2026-11-01T00:00:00.000Z');
  const created = (jobId: string, notifications: Partial<Notifications>): JobEvent =>
    ({ type: 'JobCreated', data: { jobId, ownerId: OWNER, spec: { name: jobId, notifications }, status: 'active', nextRunAt: null, createdAt: AT } }) as never;
  const deadLettered = (jobId: string, executionId: string): JobEvent => ({
    type: 'ExecutionDeadLettered',
    data: { jobId, deadLetterId: `dl-${executionId}`, executionId, scheduledAt: AT, attempts: 3, lastError: 'HTTP 500', reason: 'attempts_exhausted', deadLetteredAt: AT },
  });
  const finished = (jobId: string, executionId: string, outcome: 'succeeded' | 'failed' = 'succeeded'): JobEvent => ({
    type: 'ExecutionFinished',
    data: { jobId, executionId, outcome, finishedAt: AT, durationMs: 5 },
  });
  /** Given events into a saga that remembers `memory`: what it publishes. */
  const when = (events: StoredJobEvent[], memory: NotificationMemory = emptyNotificationMemory(), oldest = LONG_AGO) => notificationPublications(events, memory, oldest);
  const items = (publications: { payload: string }[]) => publications.map((p) => JSON.parse(p.payload) as NotificationItem);

  it('queues a failed fire on every channel of its job, by default by email only, each once by its deterministic id', () => {
    const publications = when(given(created('job-1', {}), created('job-2', { webhookUrl: 'https://example.test/hook' }), deadLettered('job-1', 'exec-1'), deadLettered('job-2', 'exec-2')));
    expect(publications.map((p) => [p.subject, p.msgID])).toEqual([
      [notifySubject('job-1'), notificationIdFor('job-1', 'dl-exec-1', 'email', 'failure')],
      [notifySubject('job-2'), notificationIdFor('job-2', 'dl-exec-2', 'email', 'failure')],
      [notifySubject('job-2'), notificationIdFor('job-2', 'dl-exec-2', 'webhook', 'failure')],
    ]);
    expect(items(publications)[0]).toEqual({
      notificationId: notificationIdFor('job-1', 'dl-exec-1', 'email', 'failure'),
      channel: 'email',
      trigger: 'failure',
      jobId: 'job-1',
      eventSequence: 3,
      executionId: 'exec-1',
      scheduledAt: AT,
      attempts: 3,
      error: 'HTTP 500',
      deadLetterId: 'dl-exec-1',
      occurredAt: AT,
      correlationId: 'fire:job-1',
      causationId: 'event-3',
    });
    // A batch handled again publishes the same ids: the notify stream keeps each item once.
    expect(when(given(created('job-1', {}), created('job-2', { webhookUrl: 'https://example.test/hook' }), deadLettered('job-1', 'exec-1'), deadLettered('job-2', 'exec-2')))).toEqual(publications);
  });

  it('queues a success only when the job asks for it, with the attempt and instant of its fire', () => {
    const publications = when(given(created('job-1', { onSuccess: true }), created('job-2', {}), fired('job-1', 'exec-1'), fired('job-2', 'exec-2'), finished('job-1', 'exec-1'), finished('job-2', 'exec-2')));
    expect(items(publications)).toEqual([expect.objectContaining({ jobId: 'job-1', channel: 'email', trigger: 'success', executionId: 'exec-1', scheduledAt: AT, attempts: 1, eventSequence: 5 })]);
  });

  it('queues nothing for a failed run (its dead letter notifies), a muted job, a deleted job, or an outcome older than the cut-off', () => {
    expect(when(given(created('job-1', { onSuccess: true }), fired('job-1', 'exec-1'), finished('job-1', 'exec-1', 'failed')))).toEqual([]);
    expect(when(given(created('job-1', { onFailure: false }), deadLettered('job-1', 'exec-1')))).toEqual([]);
    expect(when(given(created('job-1', {}), { type: 'JobDeleted', data: { jobId: 'job-1', deletedAt: AT } }, deadLettered('job-1', 'exec-1')))).toEqual([]);
    expect(when(given(created('job-1', {}), deadLettered('job-1', 'exec-1')), emptyNotificationMemory(), Date.parse(AT) + 1)).toEqual([]);
  });

  it('follows settings across batches, and a later change applies to later outcomes only', () => {
    const memory = emptyNotificationMemory();
    const events = given(created('job-1', {}), deadLettered('job-1', 'exec-1'), { type: 'JobUpdated', data: { jobId: 'job-1', spec: { notifications: { onFailure: false } }, updatedAt: AT } } as never, deadLettered('job-1', 'exec-2'));
    expect(items(when(events.slice(0, 1), memory))).toEqual([]);
    expect(items(when(events.slice(1), memory)).map((item) => item.executionId)).toEqual(['exec-1']);
  });

  it('names what it does not know (a job first seen at its outcome, the fire of a run that notifies), and no more', () => {
    const memory = emptyNotificationMemory();
    const events = given(deadLettered('job-1', 'exec-1'), created('job-2', { onSuccess: true }), finished('job-2', 'exec-2'), created('job-3', {}), finished('job-3', 'exec-3'));
    const unknowns = notificationUnknowns(events, memory, LONG_AGO);
    expect(unknowns).toEqual({ jobs: new Map([['job-1', 1]]), fires: [{ jobId: 'job-2', executionId: 'exec-2', finishedSequence: 3 }] });
    // Once read from the log into memory, the fold uses them.
    memory.jobs.set('job-1', { notifications: { webhookUrl: 'https://example.test/hook' }, deleted: false });
    memory.fires.set('exec-2', { scheduledAt: '2026-12-01T09:00:00.000Z', attempt: 2 });
    expect(notificationUnknowns(events, memory, LONG_AGO)).toEqual({ jobs: new Map(), fires: [] });
    expect(items(when(events, memory)).map((item) => [item.jobId, item.channel, item.attempts])).toEqual([
      ['job-1', 'email', 3],
      ['job-1', 'webhook', 3],
      ['job-2', 'email', 2],
    ]);
  });
});
