import pg from 'pg';
import type { ChronosApp } from '../src/app.js';
import { READ_MODELS } from '../src/projections/read-models.js';
import { quiesceReadModels, readModelRows, rebuildReadModel } from './support/read-models.js';
import { HttpSink } from './support/http-sink.js';
import { startChronosProcess, stopAllProcesses } from './support/processes.js';
import { ApiClient, resetStack, sleep, startTestChronos, urls, waitFor, type Json } from './support/stack.js';

/**
 * Blue/green rebuilds of the read models from the event log: the tables afterwards hold exactly the rows
 * they held before, also when jobs keep changing during the rebuild, and reads answer throughout.
 */
describe('projection rebuild', () => {
  let chronos: ChronosApp;
  let admin: ApiClient;
  let user: ApiClient;
  let sink: HttpSink;
  let db: pg.Client;

  beforeAll(async () => {
    await resetStack();
    sink = await new HttpSink().start();
    // Small batches: a rebuild takes many transactions, and writes land between them and under the swap's lock.
    chronos = await startTestChronos({ CHRONOS_ADMIN_EMAIL: 'ops@example.com', CHRONOS_ADMIN_PASSWORD: 'Adm1nPassword', CHRONOS_REBUILD_BATCH_EVENTS: '100' });
    const base = `http://127.0.0.1:${chronos.port}`;
    admin = new ApiClient(base);
    await admin.signIn('ops@example.com', 'Adm1nPassword');
    user = await new ApiClient(base).signUp();
    db = new pg.Client({ connectionString: urls.database });
    await db.connect();
    await seed();
  }, 120_000);
  afterAll(async () => {
    await stopAllProcesses();
    await db?.end();
    await chronos?.close();
    await sink?.stop();
  });

  const createJob = async (body: Json) => {
    const res = await user.post('/api/v1/jobs', body);
    expect(res.status).toBe(201);
    return res.body;
  };

  /** Jobs in every state each read model keeps: done, failed and dead-lettered, waiting to retry, scheduled, paused, deleted. */
  async function seed(): Promise<void> {
    for (let batch = 0; batch < 15; batch++) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => createJob({ name: `noop-${batch}-${i}`, type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'immediate' } })));
    }
    await createJob({ name: 'ok', type: 'http', payload: { url: sink.url('/ok') }, schedule: { kind: 'immediate' } });
    const unreachable = { type: 'http', payload: { url: 'http://127.0.0.1:1/down' }, schedule: { kind: 'immediate' } };
    await createJob({ name: 'dead', ...unreachable, retryPolicy: { maxAttempts: 1 } });
    await createJob({ name: 'retrying', ...unreachable, retryPolicy: { maxAttempts: 3, backoff: 'fixed', delayMs: 3_600_000 } });
    const cron = await createJob({ name: 'nightly', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'cron', expression: '0 3 * * *', timezone: 'Europe/Berlin' } });
    await user.post(`/api/v1/jobs/${cron.id}/pause`, {});
    await user.post(`/api/v1/jobs/${cron.id}/resume`, {});
    const paused = await createJob({ name: 'paused', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'interval', everyMs: 3_600_000 } });
    await user.post(`/api/v1/jobs/${paused.id}/pause`, {});
    const deleted = await createJob({ name: 'deleted', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'cron', expression: '0 4 * * *' } });
    await user.request('DELETE', `/api/v1/jobs/${deleted.id}`);
    await waitFor(async () => (await user.get('/api/v1/dead-letters')).body.total === 1, 15_000, 'the dead letter');
    await quiesceReadModels(admin);
  }

  it('each read model, rebuilt from the first event, holds exactly the rows it held', async () => {
    const before = await readModelRows(db);
    expect(before.jobs!.length).toBeGreaterThan(300);
    expect(before.executions!.length).toBeGreaterThan(300);
    expect(before.timers!.length).toBeGreaterThan(0);
    expect(before.retry_timers!.length).toBe(1);
    expect(before.dead_letters!.length).toBe(1);
    for (const model of READ_MODELS) {
      await rebuildReadModel(admin, db, model.projection.name);
      expect(await readModelRows(db)).toEqual(before);
    }
  }, 120_000);

  it('rebuilds under concurrent writes lose nothing and double nothing, and reads answer throughout', async () => {
    let writing = true;
    const created: string[] = [];
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const job = await createJob({ name: `during-${i}`, type: 'custom', payload: { handler: 'noop' }, schedule: i % 3 === 0 ? { kind: 'cron', expression: '0 5 * * *' } : { kind: 'immediate' } });
        created.push(job.id);
        if (i % 3 === 0) await user.post(`/api/v1/jobs/${job.id}/pause`, {});
      }
    })();
    const reads: number[] = [];
    const totals: number[] = [];
    const reader = (async () => {
      while (writing) {
        const res = await user.get('/api/v1/jobs?limit=5');
        reads.push(res.status);
        totals.push(res.body.total);
        await sleep(10);
      }
    })();

    for (const model of READ_MODELS) await rebuildReadModel(admin, db, model.projection.name);
    writing = false;
    await Promise.all([writer, reader]);
    await quiesceReadModels(admin);

    expect(created.length).toBeGreaterThan(0);
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((status) => status === 200)).toBe(true);
    // Jobs are only added meanwhile: a read never sees fewer than the one before it.
    expect(totals).toEqual([...totals].sort((a, b) => a - b));
    for (const id of created) expect((await user.get(`/api/v1/jobs/${id}`)).status).toBe(200);

    // The tables that lived through the rebuilds equal what the log gives when nothing moves.
    const afterConcurrent = await readModelRows(db);
    for (const model of READ_MODELS) await rebuildReadModel(admin, db, model.projection.name);
    expect(await readModelRows(db)).toEqual(afterConcurrent);
  }, 180_000);

  it('a rebuild cut short by its instance shutting down is reported failed and leaves no tables behind; the live model is untouched', async () => {
    const before = await readModelRows(db);
    // A second API instance on the same stack, slow enough (10 events per transaction) to be stopped mid-way. A
    // process of its own: passport keeps one JWT strategy per process, so a second app in this one would take over
    // the first one's authentication and leave it with a closed database when stopped.
    const other = await startChronosProcess('rebuilder', { CHRONOS_ROLES: 'api', CHRONOS_ADMIN_EMAIL: 'ops@example.com', CHRONOS_ADMIN_PASSWORD: 'Adm1nPassword', CHRONOS_REBUILD_BATCH_EVENTS: '10' });
    const viaOther = new ApiClient(`http://127.0.0.1:${other.logged('chronos started')!.json.port}`);
    await viaOther.signIn('ops@example.com', 'Adm1nPassword');
    const started = await viaOther.post('/api/v1/admin/projections/executions/rebuild', {});
    expect(started.status).toBe(202);
    // Graceful: Nest ends by re-raising the SIGTERM it handled (a SIGKILL would mean stop() had to force it).
    expect(await other.stop()).toMatchObject({ signal: 'SIGTERM' });

    const listed = await admin.get('/api/v1/admin/projections');
    const status = (listed.body as Json[]).find((p) => p.name === 'executions');
    expect(status).toMatchObject({ status: 'live', lastRebuild: { rebuildId: started.body.progress.rebuildId, status: 'failed', error: expect.stringContaining('interrupted') } });
    const { rows } = await db.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild\\_%' OR nspname LIKE 'retired\\_%'`);
    expect(rows).toEqual([]);
    expect(await readModelRows(db)).toEqual(before);
  }, 60_000);

  it('refuses an unknown read model, a second rebuild of the same one, and non-admins', async () => {
    const unknown = await admin.post('/api/v1/admin/projections/nope/rebuild', {});
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'PROJECTION_NOT_FOUND' });
    expect((await user.post('/api/v1/admin/projections/jobs/rebuild', {})).status).toBe(403);

    // A rebuild already running (its row, as another instance would have written it) blocks a second.
    await db.query(`INSERT INTO projection_rebuilds (id, name, status, started_at, heartbeat_at) VALUES (gen_random_uuid(), 'jobs', 'running', now(), now())`);
    const twice = await admin.post('/api/v1/admin/projections/jobs/rebuild', {});
    expect(twice.status).toBe(409);
    expect(twice.body).toMatchObject({ code: 'REBUILD_IN_PROGRESS' });
    const listed = ((await admin.get('/api/v1/admin/projections')).body as Json[]).find((p) => p.name === 'jobs');
    expect(listed).toMatchObject({ status: 'rebuilding', progress: { position: 0 } });

    // One whose process stopped reporting is given up, and a new one can start.
    await db.query(`UPDATE projection_rebuilds SET heartbeat_at = now() - interval '1 minute' WHERE status = 'running'`);
    const after = ((await admin.get('/api/v1/admin/projections')).body as Json[]).find((p) => p.name === 'jobs');
    expect(after).toMatchObject({ status: 'live', lastRebuild: { status: 'failed', error: expect.stringContaining('abandoned') } });
    await rebuildReadModel(admin, db, 'jobs');
  }, 60_000);
});
