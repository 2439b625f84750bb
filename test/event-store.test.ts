import { randomUUID } from 'node:crypto';
import { JobRepository } from '../src/commands/job.repository.js';
import { ConcurrencyError } from '../src/domain/errors.js';
import { defaultRetryPolicy, withDefaults } from '../src/domain/job/job-spec.js';
import { WrongExpectedSequenceError } from '../src/events/event-store.js';
import { JetStreamEventStore } from '../src/infra/jetstream-event-store.js';
import { NatsClients } from '../src/infra/nats.js';
import { resetStack, urls } from './support/stack.js';

const meta = (commandId = randomUUID()) => ({ commandId, actor: 'test', correlationId: 'test' });
const spec = withDefaults(
  { name: 'x', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'cron', expression: '0 * * * *', timezone: 'UTC' } },
  { retryPolicy: defaultRetryPolicy(), timeoutMs: 1000 },
);

describe('event store on JetStream', () => {
  let nats: NatsClients;
  let store: JetStreamEventStore;

  beforeAll(async () => {
    await resetStack();
    nats = await NatsClients.connect(urls.nats, 'event-store-test');
    store = new JetStreamEventStore(nats.js, nats.jsm);
  });
  afterAll(() => nats.close());

  it('appends one message per command and loads the events back in order', async () => {
    const id = randomUUID();
    const first = await store.append('job', id, 0, [{ type: 'A', version: 1, data: { n: 1 } }, { type: 'B', version: 1, data: { n: 2 } }], meta());
    await store.append('job', id, first.sequence, [{ type: 'C', version: 1, data: { n: 3 } }], meta());
    const { events, lastSequence } = await store.load('job', id);
    expect(events.map((e) => [e.type, e.data])).toEqual([['A', { n: 1 }], ['B', { n: 2 }], ['C', { n: 3 }]]);
    expect(events[0]!.sequence).toBe(events[1]!.sequence);
    expect(lastSequence).toBe(events[2]!.sequence);
    expect(events.every((e) => e.aggregateId === id && e.aggregateType === 'job' && e.id)).toBe(true);
  });

  it('rejects an append whose expected sequence is stale (optimistic concurrency)', async () => {
    const id = randomUUID();
    const { sequence } = await store.append('job', id, 0, [{ type: 'A', version: 1, data: {} }], meta());
    await store.append('job', id, sequence, [{ type: 'B', version: 1, data: {} }], meta());
    await expect(store.append('job', id, sequence, [{ type: 'C', version: 1, data: {} }], meta())).rejects.toBeInstanceOf(WrongExpectedSequenceError);
    await expect(store.append('job', id, 0, [{ type: 'C', version: 1, data: {} }], meta())).rejects.toBeInstanceOf(WrongExpectedSequenceError);
    expect((await store.load('job', id)).events.map((e) => e.type)).toEqual(['A', 'B']);
  });

  it('deduplicates a command appended twice (Nats-Msg-Id = command id)', async () => {
    const id = randomUUID();
    const commandId = randomUUID();
    const first = await store.append('job', id, 0, [{ type: 'A', version: 1, data: {} }], meta(commandId));
    const again = await store.append('job', id, 0, [{ type: 'A', version: 1, data: {} }], meta(commandId));
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    expect((await store.load('job', id)).events).toHaveLength(1);
  });

  it('CreateJob appends without reading first; an id that has events is still refused, a repeated command still folded once', async () => {
    const jobId = randomUUID();
    const create = () => ({ type: 'CreateJob' as const, now: new Date(), data: { jobId, ownerId: randomUUID(), spec, executionId: randomUUID() } });
    const commandId = randomUUID();
    const first = await new JobRepository(store).execute(jobId, create(), meta(commandId));
    // Other processes, nothing cached: the same command again is its duplicate, another create is refused.
    const again = await new JobRepository(store).execute(jobId, create(), meta(commandId));
    expect(again).toMatchObject({ duplicate: true, position: first.position, state: { version: first.state.version } });
    await expect(new JobRepository(store).execute(jobId, create(), meta())).rejects.toThrow('already exists');
    expect((await store.load('job', jobId)).events.filter((e) => e.type === 'JobCreated')).toHaveLength(1);
  });

  it('the repository reloads and decides again on conflict, so concurrent commands all land', async () => {
    const jobId = randomUUID();
    const a = new JobRepository(store);
    const b = new JobRepository(store);
    await a.execute(jobId, { type: 'CreateJob', now: new Date(), data: { jobId, ownerId: randomUUID(), spec, executionId: randomUUID() } }, meta());
    await b.load(jobId); // b caches version 1
    await a.execute(jobId, { type: 'PauseJob', now: new Date(), data: {} }, meta());
    // b's cached state is stale (active): its append conflicts, it catches up, and the decider now refuses.
    await expect(b.execute(jobId, { type: 'PauseJob', now: new Date(), data: {} }, meta())).rejects.toThrow('cannot pause a job that is paused');
    const resumed = await b.execute(jobId, { type: 'ResumeJob', now: new Date(), data: {} }, meta());
    expect(resumed.state.status).toBe('active');
    expect((await a.load(jobId)).version).toBe(3);
  });

  it('a burst of commands of one job in one process all land, one after the other (issue 15)', async () => {
    // Before: each raced the others for the same sequence and all but a few gave up ("kept changing"), which
    // for a worker's results meant a run redelivered and called again.
    const jobId = randomUUID();
    const repo = new JobRepository(store);
    await repo.execute(jobId, { type: 'CreateJob', now: new Date(), data: { jobId, ownerId: randomUUID(), spec, executionId: randomUUID() } }, meta());
    const burst = Array.from({ length: 12 }, () => repo.execute(jobId, { type: 'TriggerJob', now: new Date(), data: { executionId: randomUUID() } }, meta()));
    const results = await Promise.allSettled(burst);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect((await new JobRepository(store).load(jobId)).version).toBe(13);
  });

  it('a command its cached state would refuse is decided again on the state the log has now', async () => {
    const jobId = randomUUID();
    const a = new JobRepository(store);
    const b = new JobRepository(store);
    await a.execute(jobId, { type: 'CreateJob', now: new Date(), data: { jobId, ownerId: randomUUID(), spec, executionId: randomUUID() } }, meta());
    await b.load(jobId); // b caches the job active
    await a.execute(jobId, { type: 'PauseJob', now: new Date(), data: {} }, meta());
    // On b's cached state a resume is refused (the job is active there); the log says paused, so it lands.
    const resumed = await b.execute(jobId, { type: 'ResumeJob', now: new Date(), data: {} }, meta());
    expect(resumed.state.status).toBe('active');
    // When the log agrees with the refusal, it stands.
    await expect(b.execute(jobId, { type: 'ResumeJob', now: new Date(), data: {} }, meta())).rejects.toThrow('cannot resume');
    expect((await a.load(jobId)).version).toBe(3);
  });

  it('names the log position of what a command did: its message, or for a command applied before, that message', async () => {
    const jobId = randomUUID();
    const a = new JobRepository(store);
    const b = new JobRepository(store);
    const created = await a.execute(jobId, { type: 'CreateJob', now: new Date(), data: { jobId, ownerId: randomUUID(), spec, executionId: randomUUID() } }, meta());
    expect(created.position).toBe((await store.load('job', jobId)).lastSequence);
    await b.load(jobId); // b caches the job as created
    const pause = meta();
    const paused = await a.execute(jobId, { type: 'PauseJob', now: new Date(), data: {} }, pause);
    expect(paused.position).toBeGreaterThan(created.position);
    // b, a step behind, sends the same command again: JetStream knows its id and names the original message.
    const again = await b.execute(jobId, { type: 'PauseJob', now: new Date(), data: {} }, pause);
    expect(again).toMatchObject({ duplicate: true, position: paused.position, state: { status: 'paused' } });
    expect((await store.load('job', jobId)).lastSequence).toBe(paused.position);
  });

  it('answers a stale If-Match version with a precondition failure', async () => {
    const jobId = randomUUID();
    const repo = new JobRepository(store);
    await repo.execute(jobId, { type: 'CreateJob', now: new Date(), data: { jobId, ownerId: randomUUID(), spec, executionId: randomUUID() } }, meta());
    await repo.execute(jobId, { type: 'PauseJob', now: new Date(), data: {} }, meta(), 1);
    const error = await repo.execute(jobId, { type: 'ResumeJob', now: new Date(), data: {} }, meta(), 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect((error as ConcurrencyError).precondition).toBe(true);
  });

  it('creates the event stream with the guarantees of the design', async () => {
    const info = await nats.jsm.streams.info('CHRONOS_EVENTS');
    // Purges are allowed for one thing: a job's subject before its history epoch (retention, docs/architecture.md).
    expect(info.config).toMatchObject({ storage: 'file', discard: 'new', deny_delete: true, deny_purge: false, allow_direct: true, num_replicas: 1 });
  });
});
