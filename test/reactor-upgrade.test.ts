import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { ChronosApp } from '../src/app.js';
import { EVENTS_STREAM, REACTOR_PREDECESSORS } from '../src/events/streams.js';
import { ApiClient, resetStack, startTestChronos, urls, waitFor } from './support/stack.js';

/**
 * A deployment that ran the three consumers the reactor replaced: the reactor's first start picks up after
 * the slowest of them, so nothing they had not acknowledged is lost and the log is not replayed from the start.
 */
describe('upgrading to the reactor consumer', () => {
  let chronos: ChronosApp | undefined;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    await resetStack();
    nc = await connect({ servers: urls.nats });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await chronos?.close();
    await nc.close();
  });

  it('starts after the lowest acknowledged position of the old consumers and leaves them in place', async () => {
    // Three jobs in the log (sequences 1-3), written by an API-only Chronos: no consumer reacts to them yet.
    chronos = await startTestChronos({ CHRONOS_ROLES: 'api' });
    const client = await new ApiClient(`http://127.0.0.1:${chronos.port}`).signUp();
    const jobIds: string[] = [];
    for (const name of ['one', 'two', 'three']) {
      const job = (await client.post('/api/v1/jobs', { name, type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'cron', expression: '0 0 1 1 *' } })).body;
      jobIds.push(job.id);
    }
    await chronos.close();
    chronos = undefined;

    // The old consumers, as a previous version left them: each acknowledged up to a different point.
    const ackFloors = [3, 2, 1];
    for (const [i, name] of REACTOR_PREDECESSORS.entries()) {
      await jsm.consumers.add(EVENTS_STREAM, {
        durable_name: name,
        ack_policy: AckPolicy.All,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: ackFloors[i]! + 1,
      });
    }

    chronos = await startTestChronos({ CHRONOS_ROLES: 'projector' });
    const reactor = await waitFor(() => jsm.consumers.info(EVENTS_STREAM, 'reactor').catch(() => undefined), 10_000, 'the reactor consumer');
    expect(reactor.config.opt_start_seq).toBe(2);

    // What the slowest predecessor had not acknowledged (jobs two and three) is published; job one is not again.
    const js = jetstream(nc);
    const created = async () => {
      const consumer = await js.consumers.get('CHRONOS_LIFECYCLE', { filter_subjects: 'chronos.lifecycle.*.*.job.created' });
      const subjects: string[] = [];
      for await (const message of await consumer.fetch({ max_messages: 10, expires: 1000 })) subjects.push(message.subject.split('.')[3]!);
      return subjects;
    };
    await waitFor(async () => (await created()).length === 2, 10_000, 'the lifecycle events of the unacknowledged jobs');
    expect(await created()).toEqual([jobIds[1], jobIds[2]]);

    // Old processes may still be running during a rolling upgrade: their consumers stay.
    for (const name of REACTOR_PREDECESSORS) await expect(jsm.consumers.info(EVENTS_STREAM, name)).resolves.toBeDefined();
  });
});
