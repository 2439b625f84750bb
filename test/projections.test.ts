import { randomUUID } from 'node:crypto';
import type { ChronosApp } from '../src/app.js';
import { JobRepository } from '../src/commands/job.repository.js';
import { defaultRetryPolicy, withDefaults } from '../src/domain/job/job-spec.js';
import { JetStreamEventStore } from '../src/infra/jetstream-event-store.js';
import { createDataSource } from '../src/infra/database/data-source.js';
import { NatsClients } from '../src/infra/nats.js';
import { applyCheckpointed, checkpointOf } from '../src/projections/checkpointed-projection.js';
import { ExecutionsProjection } from '../src/projections/executions/executions.projection.js';
import { JobsProjection } from '../src/projections/jobs/jobs.projection.js';
import { TimersProjection } from '../src/projections/timers/timers.projection.js';
import { resetStack, startTestChronos, urls, waitFor } from './support/stack.js';

const meta = () => ({ commandId: randomUUID(), actor: 'test', correlationId: 'test' });
const spec = (expression: string) =>
  withDefaults(
    { name: 'p', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'cron', expression, timezone: 'UTC' } },
    { retryPolicy: defaultRetryPolicy(), timeoutMs: 1000 },
  );

async function tables(dataSource: ReturnType<typeof createDataSource>) {
  return {
    jobs: await dataSource.query(`SELECT id, status, version, state, stats FROM jobs ORDER BY id`),
    executions: await dataSource.query(`SELECT * FROM executions ORDER BY id`),
    timers: await dataSource.query(`SELECT * FROM timers ORDER BY job_id`),
  };
}

describe('projections', () => {
  let nats: NatsClients;
  let repo: JobRepository;
  let store: JetStreamEventStore;
  const dataSource = createDataSource(urls.database);

  beforeAll(async () => {
    await resetStack();
    nats = await NatsClients.connect(urls.nats, 'projections-test');
    store = new JetStreamEventStore(nats.js, nats.jsm);
    repo = new JobRepository(store);
    await dataSource.initialize();
  });
  afterAll(async () => {
    await nats.close();
    await dataSource.destroy();
  });

  it('a batch redelivered after its commit (a crash before the ack) changes nothing', async () => {
    const jobId = randomUUID();
    await repo.execute(jobId, { type: 'CreateJob', now: new Date(), data: { jobId, ownerId: randomUUID(), spec: spec('0 * * * *'), executionId: randomUUID() } }, meta());
    await repo.execute(jobId, { type: 'TriggerJob', now: new Date(), data: { executionId: randomUUID() } }, meta());
    const { events } = await store.load('job', jobId);
    const projections = [new JobsProjection(), new ExecutionsProjection(), new TimersProjection()];

    expect(await applyCheckpointed(dataSource, projections, events)).toEqual([events.length, events.length, events.length]);
    const before = await tables(dataSource);
    expect(before.jobs).toHaveLength(1);
    expect(before.executions).toHaveLength(1);
    expect(before.timers).toHaveLength(1);

    // The same messages again, as JetStream redelivers them when the ack was lost.
    expect(await applyCheckpointed(dataSource, projections, events)).toEqual([0, 0, 0]);
    expect(await tables(dataSource)).toEqual(before);
    expect(await checkpointOf(dataSource, 'jobs')).toBe(events[events.length - 1]!.sequence);
  });

  it('rolls back the rows with the checkpoint when a batch fails half way', async () => {
    const jobId = randomUUID();
    await repo.execute(jobId, { type: 'CreateJob', now: new Date(), data: { jobId, ownerId: randomUUID(), spec: spec('5 * * * *'), executionId: randomUUID() } }, meta());
    const { events } = await store.load('job', jobId);
    const position = await checkpointOf(dataSource, 'jobs');
    const failing = {
      name: 'jobs',
      apply: async (db: Parameters<JobsProjection['apply']>[0], batch: typeof events) => {
        await new JobsProjection().apply(db, batch);
        throw new Error('crash after writing the rows');
      },
    };
    await expect(applyCheckpointed(dataSource, [new TimersProjection(), failing], events)).rejects.toThrow('crash');
    expect(await dataSource.query(`SELECT 1 FROM timers WHERE job_id = $1`, [jobId])).toHaveLength(0);
    expect(await checkpointOf(dataSource, 'jobs')).toBe(position);
    expect(await dataSource.query(`SELECT 1 FROM jobs WHERE id = $1`, [jobId])).toHaveLength(0);
  });

  describe('running in Chronos', () => {
    let chronos: ChronosApp | undefined;
    afterEach(() => chronos?.close());

    it('resumes from its checkpoint after a restart and catches up with what was appended meanwhile', async () => {
      chronos = await startTestChronos({ CHRONOS_ROLES: 'projector' });
      const first = randomUUID();
      await repo.execute(first, { type: 'CreateJob', now: new Date(), data: { jobId: first, ownerId: randomUUID(), spec: spec('0 0 * * *'), executionId: randomUUID() } }, meta());
      await waitFor(async () => (await dataSource.query(`SELECT 1 FROM jobs WHERE id = $1`, [first])).length === 1, 10_000, 'first job projected');
      await chronos.close();

      const second = randomUUID();
      await repo.execute(second, { type: 'CreateJob', now: new Date(), data: { jobId: second, ownerId: randomUUID(), spec: spec('0 0 * * *'), executionId: randomUUID() } }, meta());
      await repo.execute(first, { type: 'PauseJob', now: new Date(), data: {} }, meta());

      chronos = await startTestChronos({ CHRONOS_ROLES: 'projector' });
      await waitFor(async () => (await dataSource.query(`SELECT status FROM jobs WHERE id = $1`, [first]))[0]?.status === 'paused', 10_000, 'pause projected');
      await waitFor(async () => (await dataSource.query(`SELECT 1 FROM jobs WHERE id = $1`, [second])).length === 1, 10_000, 'second job projected');
      await waitFor(async () => (await dataSource.query(`SELECT 1 FROM timers WHERE job_id = $1`, [first])).length === 0, 10_000, 'timer cleared');
      const { lastSequence } = await store.load('job', first);
      expect(await checkpointOf(dataSource, 'jobs')).toBeGreaterThanOrEqual(lastSequence);
    });
  });
});
