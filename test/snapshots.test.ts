import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { JobRepository, type JobSnapshots } from '../src/commands/job.repository.js';
import { defaultRetryPolicy, withDefaults } from '../src/domain/job/job-spec.js';
import type { JobCommand } from '../src/domain/job/job.commands.js';
import { decide } from '../src/domain/job/job.decide.js';
import { JOB_STATE_SHAPE, type JobState } from '../src/domain/job/job.state.js';
import type { Schedule } from '../src/domain/job/schedule.js';
import { JetStreamEventStore } from '../src/infra/jetstream-event-store.js';
import { KvSnapshotStore } from '../src/infra/kv-snapshot-store.js';
import { NatsClients } from '../src/infra/nats.js';
import { SNAPSHOTS_BUCKET, snapshotKey } from '../src/events/streams.js';
import { resetStack, urls } from './support/stack.js';

/**
 * A snapshot is a cache, never the truth: for every command of generated sequences, a process loading the job
 * from its snapshot decides exactly what a process folding the whole log decides, answers the same history
 * length, and deleting every snapshot (or finding one of another state shape) changes nothing.
 */

const T0 = Date.parse('2026-11-22T09:00:00.000Z');
const meta = () => ({ commandId: randomUUID(), actor: 'test', correlationId: 'test' });
const spec = (schedule: Schedule) =>
  withDefaults({ name: 'snap', type: 'custom', payload: { handler: 'noop' }, schedule }, { retryPolicy: { ...defaultRetryPolicy(), maxAttempts: 2 }, timeoutMs: 1000 });
const everyMinute: Schedule = { kind: 'interval', everyMs: 60_000 };

/** What a step asks for; which execution or dead letter it names is resolved against the state it meets. */
type Step =
  | { kind: 'fire' | 'trigger' | 'pause' | 'resume' | 'cancel' | 'delete' | 'reschedule' | 'update' | 'wipe' }
  | { kind: 'start' | 'finish' | 'retry' | 'deadLetter' | 'retryDeadLetter' | 'discardDeadLetter' | 'notify'; pick: number; outcome: 'succeeded' | 'failed' };

const step: fc.Arbitrary<{ step: Step; advanceMs: number }> = fc.record({
  step: fc.oneof(
    { weight: 6, arbitrary: fc.constant({ kind: 'fire' } as Step) },
    { weight: 3, arbitrary: fc.constantFrom<Step>({ kind: 'trigger' }, { kind: 'pause' }, { kind: 'resume' }, { kind: 'reschedule' }, { kind: 'update' }, { kind: 'wipe' }) },
    { weight: 1, arbitrary: fc.constantFrom<Step>({ kind: 'cancel' }, { kind: 'delete' }) },
    {
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constantFrom('start', 'finish', 'finish', 'retry', 'deadLetter', 'retryDeadLetter', 'discardDeadLetter', 'notify'),
        pick: fc.nat(5),
        outcome: fc.constantFrom('succeeded', 'failed'),
      }) as fc.Arbitrary<Step>,
    },
  ),
  advanceMs: fc.integer({ min: 0, max: 150_000 }),
});

function commandFor({ step: s }: { step: Step }, state: JobState, now: Date): JobCommand | 'wipe' {
  const nth = <T>(items: T[], pick: number): T | undefined => items[pick % Math.max(1, items.length)];
  const open = Object.values(state.openExecutions).sort((a, b) => a.executionId.localeCompare(b.executionId));
  const retries = Object.values(state.pendingRetries).sort((a, b) => a.executionId.localeCompare(b.executionId));
  const deadLetters = Object.keys(state.deadLetters).sort();
  const fireData = { misfireThresholdMs: 60_000, fireAllCap: 5, fireAheadMs: 2000 };
  switch (s.kind) {
    case 'wipe':
      return 'wipe';
    case 'fire':
      return { type: 'FireJob', now, data: { scheduledAt: state.nextRunAt ?? now.toISOString(), ...fireData } };
    case 'trigger':
      return { type: 'TriggerJob', now, data: { executionId: randomUUID() } };
    case 'pause':
      return { type: 'PauseJob', now, data: {} };
    case 'resume':
      return { type: 'ResumeJob', now, data: {} };
    case 'cancel':
      return { type: 'CancelJob', now, data: {} };
    case 'delete':
      return { type: 'DeleteJob', now, data: {} };
    case 'reschedule':
      return { type: 'RescheduleJob', now, data: { schedule: { kind: 'interval', everyMs: 30_000 } } };
    case 'update':
      return { type: 'UpdateJob', now, data: { spec: spec(everyMinute) } };
    case 'start':
      return { type: 'StartExecution', now, data: { executionId: nth(open, s.pick)?.executionId ?? randomUUID(), workerId: 'w' } };
    case 'finish':
      return { type: 'FinishExecution', now, data: { executionId: nth(open, s.pick)?.executionId ?? randomUUID(), workerId: 'w', outcome: s.outcome, jitter: 0.5, startedAt: now.toISOString() } };
    case 'retry':
      return { type: 'RetryExecution', now, data: { executionId: nth(retries, s.pick)?.executionId ?? randomUUID() } };
    case 'deadLetter':
      return { type: 'DeadLetterExecution', now, data: { executionId: nth(open, s.pick)?.executionId ?? randomUUID(), error: 'gave up' } };
    case 'retryDeadLetter':
      return { type: 'RetryDeadLetter', now, data: { deadLetterId: nth(deadLetters, s.pick) ?? randomUUID() } };
    case 'discardDeadLetter':
      return { type: 'DiscardDeadLetter', now, data: { deadLetterId: nth(deadLetters, s.pick) ?? randomUUID() } };
    case 'notify':
      return {
        type: 'RecordNotification',
        now,
        data: { notificationId: randomUUID(), channel: 'email', trigger: 'failure', executionId: randomUUID(), to: 'a@example.com', attempts: 1, outcome: 'sent' },
      };
  }
}

/** The decider's answer: its events, or the error it refused with. */
function answer(command: JobCommand, state: JobState): unknown {
  try {
    return { events: decide(command, state) };
  } catch (error) {
    return { refused: (error as Error).name, message: (error as Error).message };
  }
}

describe('snapshots (a cache of the fold, never the truth)', () => {
  let nats: NatsClients;
  let store: JetStreamEventStore;
  let snapshotStore: KvSnapshotStore;

  beforeAll(async () => {
    await resetStack();
    nats = await NatsClients.connect(urls.nats, 'snapshots-test');
    store = new JetStreamEventStore(nats.js, nats.jsm);
    snapshotStore = await KvSnapshotStore.open(nats.kvm);
  });
  afterAll(() => nats.close());

  const withSnapshots = (everyEvents: number): JobSnapshots => ({ store: snapshotStore, everyEvents });

  it('every command decides the same on a state loaded from a snapshot as on the whole log folded', async () => {
    let snapshotsRead = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.array(step, { minLength: 5, maxLength: 40 }), async (everyEvents, steps) => {
        const jobId = randomUUID();
        // The writer keeps its states cached and writes snapshots as it goes.
        const writer = new JobRepository(store, withSnapshots(everyEvents));
        await writer.execute(jobId, { type: 'CreateJob', now: new Date(T0), data: { jobId, ownerId: 'owner', spec: spec(everyMinute), executionId: randomUUID() } }, meta());
        let now = T0;
        for (const s of steps) {
          now += s.advanceMs;
          // Two cold processes: one folds the whole log, one starts from the snapshot.
          const folded = await new JobRepository(store).load(jobId);
          const fromSnapshot = await new JobRepository(store, withSnapshots(everyEvents)).load(jobId);
          expect(fromSnapshot).toEqual(folded);
          const [pageWithout, pageWith] = await Promise.all([
            new JobRepository(store).historyPage(jobId, 0, 5),
            new JobRepository(store, withSnapshots(everyEvents)).historyPage(jobId, 0, 5),
          ]);
          expect(pageWith).toEqual(pageWithout);
          if ((await snapshotStore.get('job', jobId)) !== null) snapshotsRead++;
          const command = commandFor(s, folded, new Date(now));
          if (command === 'wipe') {
            await nats.kvm.open(SNAPSHOTS_BUCKET).then((kv) => kv.purge(snapshotKey('job', jobId)));
            continue;
          }
          expect(answer(command, fromSnapshot)).toEqual(answer(command, folded));
          await writer.execute(jobId, command, meta()).catch(() => undefined);
        }
        const final = await new JobRepository(store).load(jobId);
        expect(await new JobRepository(store, withSnapshots(everyEvents)).load(jobId)).toEqual(final);
        expect((await new JobRepository(store).historyPage(jobId, 0, 1_000_000)).total).toBe((await store.load('job', jobId)).events.length);
      }),
      { numRuns: 25 },
    );
    // The property ran against snapshots, not only against their absence.
    expect(snapshotsRead).toBeGreaterThan(25);
  });

  it('a snapshot of another state shape, or one that is not a snapshot, is passed by; the next one replaces it', async () => {
    const jobId = randomUUID();
    const writer = new JobRepository(store, withSnapshots(2));
    await writer.execute(jobId, { type: 'CreateJob', now: new Date(T0), data: { jobId, ownerId: 'owner', spec: spec(everyMinute), executionId: randomUUID() } }, meta());
    await writer.execute(jobId, { type: 'TriggerJob', now: new Date(T0), data: { executionId: randomUUID() } }, meta());
    const truth = await new JobRepository(store).load(jobId);
    const kv = await nats.kvm.open(SNAPSHOTS_BUCKET);
    const lies = [
      { shape: JOB_STATE_SHAPE + 1, lastSequence: 1_000_000, eventCount: 1, state: { ...truth, status: 'cancelled' } },
      { shape: JOB_STATE_SHAPE, lastSequence: -1, eventCount: 0, state: {} },
      'not json at all',
    ];
    for (const lie of lies) {
      await kv.put(snapshotKey('job', jobId), typeof lie === 'string' ? lie : JSON.stringify(lie));
      expect(await new JobRepository(store, withSnapshots(2)).load(jobId)).toEqual(truth);
    }
    // A cold load that folds past the threshold writes a snapshot of today's shape over the stale one.
    await new JobRepository(store, withSnapshots(2)).load(jobId);
    for (let i = 0; i < 50 && (await snapshotStore.get('job', jobId))?.shape !== JOB_STATE_SHAPE; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await snapshotStore.get('job', jobId)).toMatchObject({ shape: JOB_STATE_SHAPE, state: { version: truth.version } });
  });

  it('a load from a snapshot reads only the events after it', async () => {
    const jobId = randomUUID();
    const writer = new JobRepository(store, withSnapshots(10));
    await writer.execute(jobId, { type: 'CreateJob', now: new Date(T0), data: { jobId, ownerId: 'owner', spec: spec(everyMinute), executionId: randomUUID() } }, meta());
    for (let i = 0; i < 24; i++) await writer.execute(jobId, { type: 'TriggerJob', now: new Date(T0), data: { executionId: randomUUID() } }, meta());
    for (let i = 0; i < 50 && (await snapshotStore.get('job', jobId))?.state === undefined; i++) await new Promise((r) => setTimeout(r, 100));
    const snapshot = await snapshotStore.get('job', jobId);
    expect((snapshot!.state as JobState).version).toBe(20);
    let read = 0;
    const counting = new JetStreamEventStore(nats.js, nats.jsm);
    const load = counting.load.bind(counting);
    counting.load = async (...args) => {
      const result = await load(...args);
      read += result.events.length;
      return result;
    };
    expect((await new JobRepository(counting, withSnapshots(10)).load(jobId)).version).toBe(25);
    expect(read).toBe(5);
  });
});
