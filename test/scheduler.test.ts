import { randomUUID } from 'node:crypto';
import type { ChronosApp } from '../src/app.js';
import { JobRepository } from '../src/commands/job.repository.js';
import { defaultRetryPolicy, withDefaults } from '../src/domain/job/job-spec.js';
import type { Schedule } from '../src/domain/job/schedule.js';
import { JetStreamEventStore } from '../src/infra/jetstream-event-store.js';
import { NatsClients } from '../src/infra/nats.js';
import { dueTimers } from '../src/projections/timers/due-timers.query.js';
import { SchedulerService } from '../src/scheduler/scheduler.service.js';
import { resetStack, sleep, startTestChronos, urls, waitFor } from './support/stack.js';

const meta = () => ({ commandId: randomUUID(), actor: 'test', correlationId: 'test' });
const spec = (schedule: Schedule) =>
  withDefaults({ name: 's', type: 'custom', payload: { handler: 'noop' }, schedule }, { retryPolicy: defaultRetryPolicy(), timeoutMs: 1000 });

describe('scheduler', () => {
  let nats: NatsClients;
  let store: JetStreamEventStore;
  let repo: JobRepository;
  const running: ChronosApp[] = [];
  const start = async (roles: string) => {
    const app = await startTestChronos({ CHRONOS_ROLES: roles });
    running.push(app);
    return app;
  };
  const firesOf = async (jobId: string) =>
    (await store.load('job', jobId)).events.filter((e) => e.type === 'JobFired').map((e) => (e.data as { scheduledAt: string }).scheduledAt);
  const createJob = async (schedule: Schedule) => {
    const jobId = randomUUID();
    await repo.execute(jobId, { type: 'CreateJob', now: new Date(), data: { jobId, ownerId: randomUUID(), spec: spec(schedule), executionId: randomUUID() } }, meta());
    return jobId;
  };

  beforeAll(async () => {
    await resetStack();
    nats = await NatsClients.connect(urls.nats, 'scheduler-test');
    store = new JetStreamEventStore(nats.js, nats.jsm);
    repo = new JobRepository(store);
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()));
  });
  afterAll(() => nats.close());

  it('two scheduler instances racing on the same instants fire each exactly once', async () => {
    const a = await start('scheduler,projector,worker');
    const b = await start('scheduler');
    const runAt = new Date(Date.now() + 1500).toISOString();
    const jobs = await Promise.all(Array.from({ length: 30 }, () => createJob({ kind: 'at', runAt })));
    await sleep(Date.parse(runAt) - Date.now() + 10);
    // Besides the active scheduler's own fire, both instances fire every instant three more times, concurrently.
    const schedulers = [a.app.get(SchedulerService), b.app.get(SchedulerService)];
    await Promise.all(jobs.flatMap((jobId) => [0, 1, 2].flatMap(() => schedulers.map((s) => s.fire(jobId, runAt)))));
    await sleep(500);
    for (const jobId of jobs) expect(await firesOf(jobId)).toEqual([runAt]);
    const { dataSource } = a.infra;
    await waitFor(async () => (await dataSource.query(`SELECT count(*)::int AS n FROM executions WHERE status = 'succeeded'`))[0].n === jobs.length, 10_000, 'all executions succeeded');
  });

  it('one instance is active at a time; the standby takes over when it goes away', async () => {
    const a = await start('scheduler,projector,worker');
    const b = await start('scheduler');
    const [sa, sb] = [a.app.get(SchedulerService), b.app.get(SchedulerService)];
    await waitFor(() => sa.isActive !== sb.isActive, 5000, 'one active scheduler');
    const [active, standby] = sa.isActive ? [a, b] : [b, a];
    const jobId = await createJob({ kind: 'cron', expression: '* * * * * *', timezone: 'UTC' });
    await waitFor(async () => (await firesOf(jobId)).length >= 2, 10_000, 'fires under the first scheduler');
    await active.close();
    const firesAtHandOver = (await firesOf(jobId)).length;
    await waitFor(() => standby.app.get(SchedulerService).isActive, 5000, 'the standby took over');
    if (active === a) running.push(await start('projector,worker'));
    await waitFor(async () => (await firesOf(jobId)).length >= firesAtHandOver + 2, 10_000, 'fires under the second scheduler');
    const fires = await firesOf(jobId);
    expect(new Set(fires).size).toBe(fires.length);
    expect([...fires].sort()).toEqual(fires);
  });

  it('after downtime a missed instant fires once, then the schedule continues from now', async () => {
    const a = await start('projector,worker');
    const jobId = await createJob({ kind: 'cron', expression: '* * * * * *', timezone: 'UTC' });
    await sleep(3200); // three instants pass with no scheduler running
    const restartedAt = Date.now();
    running.push(await start('scheduler'));
    await waitFor(async () => (await firesOf(jobId)).length >= 2, 10_000, 'catch-up fire and the next one');
    await waitFor(async () => (await firesOf(jobId)).length >= 4, 10_000, 'the schedule continuing every second');
    const [missed, next, ...rest] = await firesOf(jobId);
    expect(Date.parse(missed!)).toBeLessThan(restartedAt - 2000);
    expect(Date.parse(next!)).toBeGreaterThanOrEqual(restartedAt);
    rest.forEach((at, i) => expect(Date.parse(at)).toBe(Date.parse(next!) + (i + 1) * 1000));
    expect(a).toBeDefined();
  });

  it('between whole reads of its horizon, the scheduler reads only the timers that changed or entered it', async () => {
    const { infra } = await start('projector');
    const db = infra.dataSource;
    const now = Date.now() + 60_000; // timers of jobs that do not exist, an hour away from the other tests' instants
    const at = (ms: number) => new Date(now + 3_600_000 + ms);
    const ids: string[] = Array.from({ length: 2000 }, () => randomUUID());
    await db.query(
      `INSERT INTO timers (job_id, scheduled_at, position) SELECT id, $2, 10 FROM unnest($1::uuid[]) AS id`,
      [ids, at(1000)],
    );
    try {
      const whole = await dueTimers(db, { horizon: at(10_000) });
      expect(whole.instants.filter((t) => ids.includes(t.jobId))).toHaveLength(ids.length);
      // The projection moves three timers (their rows get the position of the event that moved them), and two
      // timers that were beyond the horizon come within it as the horizon moves on.
      const moved = ids.slice(0, 3);
      await db.query(`UPDATE timers SET scheduled_at = $2, position = $3 WHERE job_id = ANY($1::uuid[])`, [moved, at(2000), whole.position + 1]);
      const entering: string[] = [randomUUID(), randomUUID()];
      await db.query(`INSERT INTO timers (job_id, scheduled_at, position) SELECT id, $2, 0 FROM unnest($1::uuid[]) AS id`, [entering, at(10_500)]);
      const beyond = randomUUID();
      await db.query(`INSERT INTO timers (job_id, scheduled_at, position) VALUES ($1, $2, 0)`, [beyond, at(60_000)]);
      const next = await dueTimers(db, { horizon: at(11_000), after: { horizon: at(10_000), position: whole.position } });
      // (Timers of the other tests' jobs that changed meanwhile are read too: they are changes.)
      const mine = new Set([...ids, ...entering, beyond]);
      expect(next.instants.map((t) => t.jobId).filter((id) => mine.has(id)).sort()).toEqual([...moved, ...entering].sort());
      expect(next.position).toBeGreaterThanOrEqual(whole.position + 1);
      expect(next.truncated).toBe(false);
    } finally {
      await db.query(`DELETE FROM timers WHERE scheduled_at >= $1`, [at(0)]);
    }
  });
});
