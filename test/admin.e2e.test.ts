import { connect } from '@nats-io/transport-node';
import { jetstream, DeliverPolicy } from '@nats-io/jetstream';
import type { ChronosApp } from '../src/app.js';
import { ApiClient, resetStack, startTestChronos, urls, waitFor } from './support/stack.js';

/** The admin surface over the event history: read it, see the read models' lag, replay lifecycle events. */
describe('admin: events, projections, lifecycle replay', () => {
  let chronos: ChronosApp;
  let admin: ApiClient;
  let user: ApiClient;

  beforeAll(async () => {
    await resetStack();
    chronos = await startTestChronos({ CHRONOS_ADMIN_EMAIL: 'ops@example.com', CHRONOS_ADMIN_PASSWORD: 'Adm1nPassword' });
    const base = `http://127.0.0.1:${chronos.port}`;
    admin = new ApiClient(base);
    await admin.signIn('ops@example.com', 'Adm1nPassword');
    user = await new ApiClient(base).signUp();
  });
  afterAll(() => chronos?.close());

  const createJob = async () =>
    (await user.post('/api/v1/jobs', { name: 'a', type: 'http', payload: { url: 'https://93.184.216.34/x', headers: { Authorization: 'Bearer NOT-FOR-ADMINS-EYES' } }, schedule: { kind: 'cron', expression: '0 0 1 1 *' } })).body;

  it('reads the event store in order, filtered by job, type and time, page by page; users get 403', async () => {
    const job = await createJob();
    await user.post(`/api/v1/jobs/${job.id}/pause`, {});
    await user.post(`/api/v1/jobs/${job.id}/resume`, {});
    const all = await admin.get(`/api/v1/admin/events?aggregateId=${job.id}`);
    expect(all.status).toBe(200);
    expect(all.body.items.map((e: { type: string }) => e.type)).toEqual(['JobCreated', 'JobPaused', 'JobResumed']);
    expect(all.body.items[0]).toMatchObject({ aggregateType: 'job', aggregateId: job.id, actor: `user:${user.user.id}`, version: 1 });
    expect(JSON.stringify(all.body)).not.toContain('NOT-FOR-ADMINS-EYES');
    expect(all.body.nextFromSequence).toBeNull();

    const paused = await admin.get(`/api/v1/admin/events?aggregateId=${job.id}&type=JobPaused`);
    expect(paused.body.items.map((e: { type: string }) => e.type)).toEqual(['JobPaused']);

    const first = await admin.get('/api/v1/admin/events?limit=1');
    expect(first.body.items).toHaveLength(1);
    const next = await admin.get(`/api/v1/admin/events?limit=1&fromSequence=${first.body.nextFromSequence}`);
    expect(next.body.items[0].sequence).toBeGreaterThan(first.body.items[0].sequence);

    const future = await admin.get(`/api/v1/admin/events?since=${new Date(Date.now() + 60_000).toISOString()}`);
    expect(future.body.items).toEqual([]);
    const upToCreation = await admin.get(`/api/v1/admin/events?aggregateId=${job.id}&until=${all.body.items[0].occurredAt}`);
    expect(upToCreation.body.items.map((e: { type: string }) => e.type)).toEqual(['JobCreated']);

    expect((await user.get('/api/v1/admin/events')).status).toBe(403);
    expect((await admin.get('/api/v1/admin/events?limit=1001')).status).toBe(400);
  });

  it('shows each read model with its position and lag', async () => {
    const projections = await waitFor(async () => {
      const body = (await admin.get('/api/v1/admin/projections')).body as { name: string; lagEvents: number }[];
      return body.every((p) => p.lagEvents === 0) && body;
    }, 10_000, 'caught-up read models');
    expect(projections.map((p) => p.name)).toEqual(expect.arrayContaining(['jobs', 'executions', 'timers']));
    expect(projections[0]).toMatchObject({ status: 'live', position: expect.any(Number) });
  });

  it('replays lifecycle events with their original ids, marked as replays', async () => {
    const job = await createJob();
    await user.post(`/api/v1/jobs/${job.id}/pause`, {});
    const nc = await connect({ servers: urls.nats });
    const js = jetstream(nc);
    const read = async () => {
      const consumer = await js.consumers.get('CHRONOS_LIFECYCLE', { filter_subjects: `chronos.lifecycle.${user.user.id}.${job.id}.>`, deliver_policy: DeliverPolicy.All });
      const events: { id: string; type: string; chronosreplay?: boolean }[] = [];
      for await (const message of await consumer.fetch({ max_messages: 50, expires: 1000 })) events.push(message.json());
      return events;
    };
    const originals = await waitFor(async () => {
      const events = await read();
      return events.length === 2 && events;
    }, 10_000, 'the original lifecycle events');
    const replay = await admin.post('/api/v1/admin/lifecycle/replay', { jobId: job.id });
    expect(replay.status).toBe(202);
    const all = await waitFor(async () => {
      const events = await read();
      return events.length === 4 && events;
    }, 10_000, 'the replayed events');
    await nc.close();
    const replayed = all.filter((e) => e.chronosreplay === true);
    expect(replayed.map((e) => [e.id, e.type])).toEqual(originals.map((e) => [e.id, e.type]));
    expect((await user.post('/api/v1/admin/lifecycle/replay', {})).status).toBe(403);
  });
});
