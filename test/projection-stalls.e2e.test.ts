import { randomUUID } from 'node:crypto';
import type { LoggerService } from '@nestjs/common';
import pg from 'pg';
import { startChronos, type ChronosApp } from '../src/app.js';
import { JobRepository } from '../src/commands/job.repository.js';
import { defaultRetryPolicy, withDefaults, type JobSpec } from '../src/domain/job/job-spec.js';
import { JetStreamEventStore } from '../src/infra/jetstream-event-store.js';
import { NatsClients } from '../src/infra/nats.js';
import { ApiClient, resetStack, startTestChronos, testConfig, urls, waitFor, type Json } from './support/stack.js';

const ADMIN = { CHRONOS_ADMIN_EMAIL: 'ops@example.com', CHRONOS_ADMIN_PASSWORD: 'Adm1nPassword' };
const METRICS_TOKEN = 'scrape-token-for-the-stalls-test';

/** Every error line the app logs, as the objects or strings it was given. */
class CapturingLogger implements LoggerService {
  readonly errors: unknown[] = [];
  log(): void {}
  warn(): void {}
  debug(): void {}
  verbose(): void {}
  error(message: unknown): void {
    this.errors.push(message);
  }
}

const projection = async (admin: ApiClient, name: string): Promise<Json> =>
  (await admin.get('/api/v1/admin/projections')).body.find((entry: Json) => entry.name === name);

/** Every read model has applied the whole log (held-back jobs aside). */
const caughtUp = async (admin: ApiClient) => (await admin.get('/api/v1/admin/projections')).body.every((entry: Json) => entry.lagEvents === 0);

const noop = (name: string, schedule: Json = { kind: 'immediate' }) => ({ name, type: 'custom', payload: { handler: 'noop' }, schedule });

/**
 * Events that hold what PostgreSQL cannot store, already in the log (appended before the API refused such
 * values, or by another writer): every read model applies them, with the documented treatment, and nothing
 * stops.
 */
describe('events the stores cannot hold as they are', () => {
  let chronos: ChronosApp;
  let worker: ChronosApp | undefined;
  let nats: NatsClients;
  let repo: JobRepository;
  let store: JetStreamEventStore;
  let admin: ApiClient;
  let user: ApiClient;

  beforeAll(async () => {
    await resetStack();
    // No worker at first: the test reports the runs' results itself, as a worker of an older version would have.
    chronos = await startTestChronos({ ...ADMIN, CHRONOS_ROLES: 'api,projector,scheduler' });
    const base = `http://127.0.0.1:${chronos.port}`;
    admin = new ApiClient(base);
    await admin.signIn(ADMIN.CHRONOS_ADMIN_EMAIL, ADMIN.CHRONOS_ADMIN_PASSWORD);
    user = await new ApiClient(base).signUp();
    nats = await NatsClients.connect(urls.nats, 'stalls-test');
    store = new JetStreamEventStore(nats.publisher, nats.jsm);
    repo = new JobRepository(store);
  });
  afterAll(async () => {
    await worker?.close();
    await chronos?.close();
    await nats?.close();
  });

  const meta = () => ({ commandId: randomUUID(), actor: 'test:legacy-writer', correlationId: randomUUID() });
  const spec = (fields: Partial<JobSpec>): JobSpec =>
    withDefaults({ name: 'legacy', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'at', runAt: '2999-01-01T00:00:00.000Z' }, ...fields } as JobSpec, {
      retryPolicy: { ...defaultRetryPolicy(), maxAttempts: 1 },
      timeoutMs: 1000,
    });
  const create = async (fields: Partial<JobSpec>) => {
    const jobId = randomUUID();
    await repo.execute(jobId, { type: 'CreateJob', now: new Date(), data: { jobId, ownerId: user.user.id, spec: spec(fields), executionId: randomUUID() } }, meta());
    return jobId;
  };

  it('projects NUL, lone surrogates and instants past year 9999 everywhere; the log and the folded job keep them exactly', async () => {
    const hostileName = 'bad\u0000name \ud800 and \udfff';
    const named = await create({ name: hostileName, description: 'nul\u0000desc', labels: { 'key\u0000': 'value\ud83d', team: 'x\udc00y' } });
    // Beyond what the decider accepts today: appended as an older writer did, straight to the log.
    const farAway = randomUUID();
    const farSpec = spec({ name: 'year 10000', schedule: { kind: 'at', runAt: '+010000-01-01T00:59:59.000Z' } });
    const createdAt = new Date().toISOString();
    await store.append('job', farAway, 0, [{ type: 'JobCreated', version: 1, data: { jobId: farAway, ownerId: user.user.id, spec: farSpec, createdAt, nextRunAt: farSpec.schedule.kind === 'at' ? farSpec.schedule.runAt : null } }], meta());
    const ran = await create({ name: 'binary run' });
    const executionId = randomUUID();
    await repo.execute(ran, { type: 'TriggerJob', now: new Date(), data: { executionId } }, meta());
    await repo.execute(
      ran,
      {
        type: 'FinishExecution',
        now: new Date(),
        data: { executionId, workerId: 'old-worker', outcome: 'failed', output: { body: 'a\u0000b', half: '\ud83d', ['k\u0000']: 1 }, error: 'target said \u0000\ud800', retryable: false },
      },
      meta(),
    );

    await waitFor(() => caughtUp(admin), 20_000, 'the read models to apply the whole log');
    for (const entry of (await admin.get('/api/v1/admin/projections')).body) expect(entry).toMatchObject({ status: 'live', stalledJobs: 0 });

    // The read models: U+FFFD in place of each NUL and unpaired surrogate.
    const listed = (await user.get('/api/v1/jobs?limit=100')).body.items;
    const fromList = listed.find((job: Json) => job.id === named);
    expect(fromList).toMatchObject({ name: 'bad\ufffdname \ufffd and \ufffd', description: 'nul\ufffddesc', labels: { 'key\ufffd': 'value\ufffd', team: 'x\ufffdy' } });
    expect(listed.find((job: Json) => job.id === farAway)).toMatchObject({ nextRunAt: '+010000-01-01T00:59:59.000Z', status: 'active' });
    const execution = (await user.get(`/api/v1/jobs/${ran}/executions`)).body.items[0];
    expect(execution).toMatchObject({ id: executionId, status: 'failed', error: 'target said \ufffd\ufffd', output: { body: 'a\ufffdb', half: '\ufffd', 'k\ufffd': 1 } });
    const deadLetters = (await user.get('/api/v1/dead-letters')).body.items;
    expect(deadLetters).toEqual([expect.objectContaining({ executionId, lastError: 'target said \ufffd\ufffd (not retryable)' })]);
    expect((await user.get('/api/v1/jobs/upcoming?withinHours=8784')).status).toBe(200);

    // The log, and the job folded from it, keep the exact text.
    expect((await user.get(`/api/v1/jobs/${named}`)).body).toMatchObject({ name: hostileName, labels: { 'key\u0000': 'value\ud83d' } });
    const history = (await user.get(`/api/v1/jobs/${ran}/events`)).body.items;
    expect(history.find((event: Json) => event.type === 'ExecutionFinished').data.error).toBe('target said \u0000\ud800');

    // A message on the event subjects that is no event message (anyone allowed to publish on NATS could send
    // one) is skipped by every consumer, not retried forever.
    await nats.js.publish(`chronos.es.job.${randomUUID()}`, 'not json at all');
    await nats.js.publish(`chronos.es.job.${randomUUID()}`, JSON.stringify({ events: 'nope' }));

    // And the pipeline is alive: an ordinary job fires, runs and is listed.
    worker = await startTestChronos({ CHRONOS_ROLES: 'worker' });
    const ordinary = (await user.post('/api/v1/jobs', noop('ordinary'))).body;
    await waitFor(async () => (await user.get(`/api/v1/jobs/${ordinary.id}/executions`)).body.items[0]?.status === 'succeeded', 20_000, 'the ordinary job to run');
    expect((await user.get('/api/v1/jobs?limit=100')).body.items.map((job: Json) => job.id)).toContain(ordinary.id);
  }, 60_000);
});

/**
 * A read model that fails on an event (here the database refuses it, as an operator's constraint or a bug
 * would): the failure stays with that job in that read model, everything else goes on, the stall is reported
 * everywhere an operator looks, and the documented ways out lose nothing.
 */
describe('a read model that cannot apply an event', () => {
  let chronos: ChronosApp;
  let admin: ApiClient;
  let user: ApiClient;
  let other: ApiClient;
  let db: pg.Client;
  const logger = new CapturingLogger();

  beforeAll(async () => {
    await resetStack();
    chronos = await startChronos(testConfig({ ...ADMIN, LOG_LEVEL: 'error', METRICS_TOKEN: METRICS_TOKEN, METRICS_CACHE_MS: '0' }), logger);
    const base = `http://127.0.0.1:${chronos.port}`;
    admin = new ApiClient(base);
    await admin.signIn(ADMIN.CHRONOS_ADMIN_EMAIL, ADMIN.CHRONOS_ADMIN_PASSWORD);
    user = await new ApiClient(base).signUp();
    other = await new ApiClient(base).signUp();
    db = new pg.Client({ connectionString: urls.database });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await chronos?.close();
  });

  const executionsOf = async (client: ApiClient, jobId: string): Promise<Json[]> => (await client.get(`/api/v1/jobs/${jobId}/executions?limit=100`)).body.items;

  it('holds back only the job it cannot apply, reports it everywhere, and resumes it once the cause is gone', async () => {
    const started = Date.now();
    // Another user's job firing every second all along: firing must not stop.
    const ticking = (await other.post('/api/v1/jobs', noop('ticking', { kind: 'interval', everyMs: 1000 }))).body;
    await db.query(`
      CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM jobs WHERE id = NEW.job_id AND name = 'poison') THEN RAISE EXCEPTION 'executions of poison are refused'; END IF;
        RETURN NEW;
      END $$`);
    await db.query(`CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON executions FOR EACH ROW EXECUTE FUNCTION refuse_poison()`);

    const poison = (await user.post('/api/v1/jobs', noop('poison'))).body;
    const stalled = await waitFor(async () => {
      const entry = await projection(admin, 'executions');
      return entry.status === 'stalled' && entry;
    }, 20_000, 'the executions read model to stall');
    expect(stalled).toMatchObject({ stalledJobs: 1, stalledAt: { jobId: poison.id, code: 'REFUSED_BY_DATABASE', eventType: 'JobCreated+JobFired' } });
    const createdAt = (await user.get(`/api/v1/jobs/${poison.id}/events`)).body.items[0].sequence;
    expect(stalled.stalledAt.sequence).toBe(createdAt);
    expect(Date.parse(stalled.stalledAt.since)).not.toBeNaN();

    // Everything else moves: other read models, other jobs of every user, new jobs, firing.
    const after = (await user.post('/api/v1/jobs', noop('after the poison'))).body;
    await waitFor(async () => (await executionsOf(user, after.id))[0]?.status === 'succeeded', 20_000, 'a job created after the poison to run and be recorded');
    const ticks = (await executionsOf(other, ticking.id)).length;
    await waitFor(async () => (await executionsOf(other, ticking.id)).length >= ticks + 2, 20_000, 'the interval job to keep firing');
    await waitFor(() => caughtUp(admin), 20_000, 'every read model, the stalled one too, to reach the end of the log');
    for (const entry of (await admin.get('/api/v1/admin/projections')).body) {
      expect(entry.status).toBe(entry.name === 'executions' ? 'stalled' : 'live');
    }
    // The poison job itself ran (the worker is not a read model) and the jobs read model shows it; its executions are held back.
    await waitFor(async () => (await user.get(`/api/v1/jobs?q=poison`)).body.items[0]?.lastRunStatus === 'succeeded', 20_000, 'the jobs read model to show the run');
    expect(await executionsOf(user, poison.id)).toEqual([]);

    // Reported where an operator looks.
    const ready = await user.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'degraded', readModels: 'stalled' });
    const health = await user.get('/api/v1/dashboard/health');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('degraded');
    expect(health.body.projections.find((entry: Json) => entry.name === 'executions')).toMatchObject({ status: 'stalled', stalledJobs: 1, stalledAt: { sequence: createdAt, code: 'REFUSED_BY_DATABASE' } });
    const metrics = (await user.get('/metrics', { authorization: `Bearer ${METRICS_TOKEN}` })).body as string;
    expect(metrics).toMatch(/chronos_projection_stalled_jobs\{projection="executions"\} 1/);
    expect(metrics).toMatch(/chronos_projection_stalls_total\{projection="executions",code="REFUSED_BY_DATABASE"\} 1/);
    // Logged at once, then once a minute while it lasts: not once per batch or retry.
    const lines = logger.errors.filter((line) => JSON.stringify(line).includes('read model executions is stalled'));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(1 + Math.ceil((Date.now() - started) / 60_000));
    expect(lines[0]).toMatchObject({ projection: 'executions', jobId: poison.id, sequence: createdAt, code: 'REFUSED_BY_DATABASE' });
    expect((await admin.get('/api/v1/admin/projections/executions/stalls')).body).toEqual([expect.objectContaining({ jobId: poison.id, sequence: createdAt })]);

    // The poison's later events are held back too, in order: a manual run while stalled.
    expect((await user.post(`/api/v1/jobs/${poison.id}/trigger`)).status).toBe(202);
    await waitFor(() => caughtUp(admin), 20_000, 'the trigger to be applied');

    // Resuming while the cause is still there changes nothing and says why.
    const refused = await admin.post('/api/v1/admin/projections/executions/resume');
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ resumed: [], stillStalled: [expect.objectContaining({ jobId: poison.id, code: 'REFUSED_BY_DATABASE' })] });
    expect((await projection(admin, 'executions')).status).toBe('stalled');

    // The cause removed, the held-back events are applied in order, and nothing of anyone else's moved.
    await db.query(`DROP TRIGGER refuse_poison ON executions`);
    const resumed = await admin.post('/api/v1/admin/projections/executions/resume');
    expect(resumed.body).toEqual({ resumed: [poison.id], stillStalled: [] });
    expect(await projection(admin, 'executions')).toMatchObject({ status: 'live', stalledJobs: 0 });
    await waitFor(async () => (await executionsOf(user, poison.id)).filter((row) => row.status === 'succeeded').length === 2, 20_000, 'both runs of the poison job to be listed');
    expect((await user.get('/health/ready')).body).toMatchObject({ status: 'ok', readModels: 'live' });

    // The resumed read model is a replay of the log: a rebuild from the first event gives the same rows.
    await other.post(`/api/v1/jobs/${ticking.id}/pause`, {});
    const settled = async () => (await executionsOf(other, ticking.id)).every((row) => !['queued', 'running'].includes(row.status)) && caughtUp(admin);
    await waitFor(settled, 20_000, 'the last runs to finish and be applied');
    const table = async () => (await db.query(`SELECT * FROM executions ORDER BY id`)).rows;
    const live = await table();
    expect((await admin.post('/api/v1/admin/projections/executions/rebuild')).status).toBe(202);
    await waitFor(async () => (await projection(admin, 'executions')).lastRebuild?.status === 'succeeded', 30_000, 'the rebuild');
    expect(await table()).toEqual(live);
  }, 120_000);

  it('a rebuild that meets the same failure reports it and changes nothing; after the fix it swaps in and clears the stall', async () => {
    await db.query(`ALTER TABLE jobs ADD CONSTRAINT no_poison_b CHECK (name <> 'poison b')`);
    const poison = (await user.post('/api/v1/jobs', noop('poison b', { kind: 'cron', expression: '0 3 * * *' }))).body;
    await waitFor(async () => (await projection(admin, 'jobs')).status === 'stalled', 20_000, 'the jobs read model to stall');
    expect((await projection(admin, 'jobs')).stalledAt).toMatchObject({ jobId: poison.id, code: 'CONSTRAINT_VIOLATION' });
    // Held back in lists, still readable by id (folded from the log), still firing (the timers read model is not stalled).
    expect((await user.get('/api/v1/jobs?q=poison')).body.items.map((job: Json) => job.name)).not.toContain('poison b');
    expect((await user.get(`/api/v1/jobs/${poison.id}`)).body).toMatchObject({ name: 'poison b', status: 'active' });
    expect((await db.query(`SELECT 1 FROM timers WHERE job_id = $1`, [poison.id])).rowCount).toBe(1);

    // The new tables copy the constraint: the rebuild fails, the live model keeps serving, still stalled.
    expect((await admin.post('/api/v1/admin/projections/jobs/rebuild')).status).toBe(202);
    const failed = await waitFor(async () => {
      const entry = await projection(admin, 'jobs');
      return entry.lastRebuild?.status === 'failed' && entry;
    }, 30_000, 'the rebuild to fail');
    expect(failed.lastRebuild.error).toContain('no_poison_b');
    expect(failed).toMatchObject({ status: 'stalled', stalledJobs: 1 });

    await db.query(`ALTER TABLE jobs DROP CONSTRAINT no_poison_b`);
    expect((await admin.post('/api/v1/admin/projections/jobs/rebuild')).status).toBe(202);
    await waitFor(async () => (await projection(admin, 'jobs')).lastRebuild?.status === 'succeeded', 30_000, 'the rebuild to succeed');
    expect(await projection(admin, 'jobs')).toMatchObject({ status: 'live', stalledJobs: 0 });
    expect((await user.get('/api/v1/jobs?q=poison')).body.items.map((job: Json) => job.name)).toContain('poison b');
    // From then on the job's events are applied as anyone's.
    await user.post(`/api/v1/jobs/${poison.id}/pause`, {});
    await waitFor(async () => (await user.get('/api/v1/jobs?q=poison')).body.items.find((job: Json) => job.id === poison.id)?.status === 'paused', 20_000, 'the pause to be listed');
  }, 120_000);

  it('GET /jobs/:id reads the jobs read model, and the log for a job whose row that read model holds back', async () => {
    const job = (await user.post('/api/v1/jobs', noop('stale row', { kind: 'cron', expression: '0 4 * * *' }))).body;
    expect((await user.get(`/api/v1/jobs/${job.id}`)).body).toMatchObject({ name: 'stale row', version: job.version });
    expect((await other.get(`/api/v1/jobs/${job.id}`)).status).toBe(404);
    await db.query(`ALTER TABLE jobs ADD CONSTRAINT no_poison_c CHECK (name <> 'poison c')`);
    let version = job.version;
    try {
      const renamed = await user.request('PATCH', `/api/v1/jobs/${job.id}`, { name: 'poison c' });
      expect(renamed.status).toBe(200);
      version = renamed.body.version;
      await waitFor(async () => (await projection(admin, 'jobs')).status === 'stalled', 20_000, 'the jobs read model to stall');
      expect((await db.query(`SELECT name FROM jobs WHERE id = $1`, [job.id])).rows).toEqual([{ name: 'stale row' }]);
      // The row is behind the log: the job is folded from the log, as current as the write's answer.
      const read = await user.get(`/api/v1/jobs/${job.id}`);
      expect(read.body).toMatchObject({ name: 'poison c', version });
      expect(read.headers.get('etag')).toBe(`"${version}"`);
      expect((await user.get(`/api/v1/jobs/${job.id}/executions`)).status).toBe(200);
      expect((await other.get(`/api/v1/jobs/${job.id}`)).status).toBe(404);
    } finally {
      await db.query(`ALTER TABLE jobs DROP CONSTRAINT no_poison_c`);
    }
    expect((await admin.post('/api/v1/admin/projections/jobs/resume')).body).toEqual({ resumed: [job.id], stillStalled: [] });
    await waitFor(async () => (await db.query(`SELECT name FROM jobs WHERE id = $1`, [job.id])).rows[0]?.name === 'poison c', 20_000, 'the resumed read model');
    expect((await user.get(`/api/v1/jobs/${job.id}`)).body).toMatchObject({ name: 'poison c', version });
  }, 60_000);
});
