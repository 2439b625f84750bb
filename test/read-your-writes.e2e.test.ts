import pg from 'pg';
import type { ChronosApp } from '../src/app.js';
import { HttpSink } from './support/http-sink.js';
import { startChronosProcess, stopAllProcesses, type ChronosProcess } from './support/processes.js';
import { ApiClient, resetStack, startTestChronos, urls, waitFor, type ApiResponse, type Json } from './support/stack.js';

const READ_MODELS_HEADER = 'x-chronos-read-models';
const ADMIN = { email: 'ryw-admin@example.com', password: 'Adm1nPassword' };
const PROJECTOR_ENV = { CHRONOS_ROLES: 'projector,scheduler,worker' };
// A bound far above what the projector needs even on a busy machine: a lag report here would be a wrong answer.
const API_ENV = { CHRONOS_ROLES: 'api', READ_YOUR_WRITES_WAIT_MS: '10000', CHRONOS_ADMIN_EMAIL: ADMIN.email, CHRONOS_ADMIN_PASSWORD: ADMIN.password };

/**
 * Read-your-writes (API.md, guarantee 8) with the projector in a process of its own and two API processes:
 * every write goes to one of them, and straight after its answer each view it affects is read ONCE on
 * each API process (no waiting, no retry) and must show it.
 */
describe('read-your-writes', () => {
  let apiA: ChronosApp;
  let apiB: ChronosProcess;
  let projector: ChronosProcess;
  let sink: HttpSink;
  /** Base URLs of the two API processes. */
  let bases: string[];
  let user: ApiClient;
  let admin: ApiClient;

  beforeAll(async () => {
    await resetStack();
    sink = await new HttpSink().start();
    projector = await startChronosProcess('projector-1', PROJECTOR_ENV);
    apiA = await startTestChronos(API_ENV);
    apiB = await startChronosProcess('api-b', API_ENV);
    bases = [`http://127.0.0.1:${apiA.port}`, `http://127.0.0.1:${apiB.logged('chronos started')!.json.port}`];
    user = await new ApiClient(bases[0]!).signUp();
    admin = new ApiClient(bases[1]!);
    expect((await admin.signIn(ADMIN.email, ADMIN.password)).status).toBe(200);
  });
  afterAll(async () => {
    await stopAllProcesses();
    await apiA?.close();
    await sink?.stop();
  });

  /** The same client (its token) talking to another API process. */
  const on = (base: string, client: ApiClient): ApiClient => Object.assign(new ApiClient(base), { token: client.token, user: client.user });

  /** A write's answer: its status, and that the read models had caught up with it before it answered. */
  async function written(answer: Promise<ApiResponse>, status: number): Promise<Json> {
    const res = await answer;
    expect(res.status).toBe(status);
    expect(res.headers.get(READ_MODELS_HEADER)).toBe('current');
    return res.body;
  }

  /** One read of `path` from each API process, as `client`: no retry, no wait. */
  async function readOnEach(client: ApiClient, path: string): Promise<Json[]> {
    return Promise.all(
      bases.map(async (base) => {
        const res = await on(base, client).get(path);
        expect(res.status).toBe(200);
        return res.body;
      }),
    );
  }

  const ids = (list: Json) => (list.items as { id: string }[]).map((item) => item.id);
  async function listed(client: ApiClient, path: string, id: string): Promise<boolean[]> {
    return (await readOnEach(client, path)).map((list) => ids(list).includes(id));
  }
  const everywhere = (value: boolean) => bases.map(() => value);

  describe('jobs', () => {
    let job: Json;
    const name = `ryw-${Math.random().toString(36).slice(2, 8)}`;

    /** The job as each view that lists it shows it, from each API process (undefined where it is missing). */
    async function shown(id: string) {
      const [all, upcoming, dashboard] = await Promise.all([
        readOnEach(user, '/api/v1/jobs?limit=100'),
        readOnEach(user, '/api/v1/jobs/upcoming'),
        readOnEach(user, '/api/v1/dashboard/stats'),
      ]);
      return {
        inList: all.map((list) => (list.items as Json[]).find((item) => item.id === id)),
        upcoming: upcoming.map((list) => (list.items as Json[]).find((item) => item.id === id)),
        onDashboard: dashboard.map((stats) => ({ total: stats.jobs.total, byStatus: stats.jobs.byStatus, upcoming: (stats.upcoming as Json[]).find((item) => item.id === id) })),
      };
    }

    it('create: listed, filtered by status, label and text, upcoming, counted on the dashboard', async () => {
      job = await written(
        user.post('/api/v1/jobs', { name, type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'interval', everyMs: 3_600_000 }, labels: { team: 'ryw' } }),
        201,
      );
      const view = await shown(job.id);
      expect(view.inList.map((item) => item?.name)).toEqual(everywhere(true).map(() => name));
      expect(view.upcoming.map((item) => item?.nextRunAt)).toEqual(everywhere(true).map(() => job.nextRunAt));
      expect(view.onDashboard).toEqual(everywhere(true).map(() => ({ total: 1, byStatus: { active: 1 }, upcoming: expect.objectContaining({ id: job.id, nextRunAt: job.nextRunAt }) })));
      expect(await listed(user, '/api/v1/jobs?status=active', job.id)).toEqual(everywhere(true));
      expect(await listed(user, '/api/v1/jobs?label=team=ryw', job.id)).toEqual(everywhere(true));
      expect(await listed(user, `/api/v1/jobs?q=${name}`, job.id)).toEqual(everywhere(true));
    });

    it('patch: the new name and labels are what lists and filters find', async () => {
      const renamed = `${name}-patched`;
      await written(user.request('PATCH', `/api/v1/jobs/${job.id}`, { name: renamed, labels: { team: 'patched' } }), 200);
      expect((await shown(job.id)).inList.map((item) => item?.name)).toEqual(everywhere(true).map(() => renamed));
      expect(await listed(user, '/api/v1/jobs?label=team=patched', job.id)).toEqual(everywhere(true));
      expect(await listed(user, '/api/v1/jobs?label=team=ryw', job.id)).toEqual(everywhere(false));
      expect(await listed(user, `/api/v1/jobs?q=${renamed}`, job.id)).toEqual(everywhere(true));
    });

    it('replace: the replaced spec is what lists show', async () => {
      const replaced = `${name}-replaced`;
      job = await written(user.request('PUT', `/api/v1/jobs/${job.id}`, { name: replaced, type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'interval', everyMs: 3_600_000 } }), 200);
      expect((await shown(job.id)).inList.map((item) => [item?.name, item?.labels])).toEqual(everywhere(true).map(() => [replaced, {}]));
      expect(await listed(user, '/api/v1/jobs?label=team', job.id)).toEqual(everywhere(false));
    });

    it('pause: listed as paused, no longer upcoming', async () => {
      await written(user.post(`/api/v1/jobs/${job.id}/pause`, { note: 'ryw' }), 200);
      const view = await shown(job.id);
      expect(view.inList.map((item) => item?.status)).toEqual(everywhere(true).map(() => 'paused'));
      expect(view.upcoming).toEqual(everywhere(true).map(() => undefined));
      expect(view.onDashboard).toEqual(everywhere(true).map(() => ({ total: 1, byStatus: { paused: 1 }, upcoming: undefined })));
      expect(await listed(user, '/api/v1/jobs?status=paused', job.id)).toEqual(everywhere(true));
      expect(await listed(user, '/api/v1/jobs?status=active', job.id)).toEqual(everywhere(false));
      expect((await readOnEach(user, `/api/v1/jobs/${job.id}`)).map((read) => read.status)).toEqual(everywhere(true).map(() => 'paused'));
    });

    it('resume: active and upcoming again, at the instant the answer names', async () => {
      job = await written(user.post(`/api/v1/jobs/${job.id}/resume`, {}), 200);
      const view = await shown(job.id);
      expect(view.upcoming.map((item) => item?.nextRunAt)).toEqual(everywhere(true).map(() => job.nextRunAt));
      expect(view.onDashboard.map((stats) => stats.byStatus)).toEqual(everywhere(true).map(() => ({ active: 1 })));
      expect(await listed(user, '/api/v1/jobs?status=active', job.id)).toEqual(everywhere(true));
    });

    it('reschedule: lists and upcoming show the new next instant', async () => {
      const before = job.nextRunAt;
      job = await written(user.post(`/api/v1/jobs/${job.id}/reschedule`, { schedule: { kind: 'interval', everyMs: 7_200_000 } }), 200);
      expect(job.nextRunAt).not.toBe(before);
      const view = await shown(job.id);
      expect(view.inList.map((item) => item?.nextRunAt)).toEqual(everywhere(true).map(() => job.nextRunAt));
      expect(view.upcoming.map((item) => item?.nextRunAt)).toEqual(everywhere(true).map(() => job.nextRunAt));
    });

    it('trigger: the execution is listed (only the trigger itself is waited for, not the run it starts)', async () => {
      const { executionId } = await written(user.post(`/api/v1/jobs/${job.id}/trigger`), 202);
      expect(await listed(user, `/api/v1/jobs/${job.id}/executions`, executionId)).toEqual(everywhere(true));
    });

    it('cancel: listed as cancelled, not upcoming', async () => {
      await written(user.post(`/api/v1/jobs/${job.id}/cancel`, {}), 200);
      const view = await shown(job.id);
      expect(view.inList.map((item) => item?.status)).toEqual(everywhere(true).map(() => 'cancelled'));
      expect(view.upcoming).toEqual(everywhere(true).map(() => undefined));
      expect(await listed(user, '/api/v1/jobs?status=cancelled', job.id)).toEqual(everywhere(true));
    });

    it('delete: gone from every list and from the dashboard', async () => {
      await written(user.request('DELETE', `/api/v1/jobs/${job.id}`), 204);
      const view = await shown(job.id);
      expect(view.inList).toEqual(everywhere(true).map(() => undefined));
      expect(view.onDashboard).toEqual(everywhere(true).map(() => ({ total: 0, byStatus: {}, upcoming: undefined })));
      expect(await listed(user, '/api/v1/jobs?status=cancelled', job.id)).toEqual(everywhere(false));
    });
  });

  describe('dead letters', () => {
    let owner: ApiClient;
    beforeAll(async () => {
      owner = await new ApiClient(bases[1]!).signUp();
    });

    /** A one-off job whose only attempt fails for good (the target answers 404), and its dead letter once the worker has reported. */
    async function deadLettered(path: string): Promise<{ job: Json; deadLetter: Json }> {
      sink.status = 404;
      const job = await written(owner.post('/api/v1/jobs', { name: path, type: 'http', payload: { url: sink.url(path) }, schedule: { kind: 'immediate' }, retryPolicy: { maxAttempts: 1 } }), 201);
      // The run's outcome comes later, from the worker, not from the write: waiting for it is no read-your-writes.
      const deadLetter = await waitFor(async () => ((await owner.get('/api/v1/dead-letters?limit=100')).body.items as Json[]).find((d) => d.jobId === job.id), 20_000, 'the dead letter');
      return { job, deadLetter };
    }

    it('retry: the dead letter leaves the list, the new execution is listed, the failed job is active again', async () => {
      const { job, deadLetter } = await deadLettered('/ryw-retry');
      sink.status = 200;
      const { executionId } = await written(owner.post(`/api/v1/dead-letters/${deadLetter.id}/retry`), 202);
      expect(await listed(owner, '/api/v1/dead-letters?limit=100', deadLetter.id)).toEqual(everywhere(false));
      expect(await listed(owner, `/api/v1/jobs/${job.id}/executions`, executionId)).toEqual(everywhere(true));
      expect(await listed(owner, '/api/v1/jobs?status=failed', job.id)).toEqual(everywhere(false));
    });

    it('discard: the dead letter leaves the list', async () => {
      const { deadLetter } = await deadLettered('/ryw-discard');
      await written(owner.request('DELETE', `/api/v1/dead-letters/${deadLetter.id}`), 204);
      expect(await listed(owner, '/api/v1/dead-letters?limit=100', deadLetter.id)).toEqual(everywhere(false));
    });
  });

  describe('admin role change', () => {
    it('the users list shows the new role, and the changed user holds its rights at once, with the token it has', async () => {
      const member = await new ApiClient(bases[0]!).signUp();
      const roleOf = async (id: string) => (await readOnEach(admin, '/api/v1/admin/users?limit=100')).map((list) => (list.items as Json[]).find((u) => u.id === id)?.role);

      await written(admin.request('PATCH', `/api/v1/admin/users/${member.user.id}`, { role: 'admin' }), 200);
      expect(await roleOf(member.user.id)).toEqual(everywhere(true).map(() => 'admin'));
      expect((await Promise.all(bases.map((base) => on(base, member).get('/api/v1/admin/users')))).map((r) => r.status)).toEqual(everywhere(true).map(() => 200));

      // The admin's own role, by the admin: its very next request already has a user's rights only.
      await written(admin.request('PATCH', `/api/v1/admin/users/${admin.user.id}`, { role: 'user' }), 200);
      expect((await Promise.all(bases.map((base) => on(base, admin).get('/api/v1/admin/users')))).map((r) => r.status)).toEqual(everywhere(true).map(() => 403));
      await written(member.request('PATCH', `/api/v1/admin/users/${admin.user.id}`, { role: 'admin' }), 200);
      expect(await roleOf(admin.user.id)).toEqual(everywhere(true).map(() => 'admin'));
    });
  });

  it('the OpenAPI document shows the header on every success response of every write route, and on no read', async () => {
    const document = (await new ApiClient(bases[0]!).get('/docs-json')).body;
    const writes = [
      ['post', '/api/v1/jobs'],
      ['post', '/api/v1/jobs/batch'],
      ['patch', '/api/v1/jobs/{id}'],
      ['put', '/api/v1/jobs/{id}'],
      ['delete', '/api/v1/jobs/{id}'],
      ...['pause', 'resume', 'cancel', 'trigger', 'reschedule'].map((action) => ['post', `/api/v1/jobs/{id}/${action}`]),
      ['post', '/api/v1/dead-letters/{id}/retry'],
      ['delete', '/api/v1/dead-letters/{id}'],
      ['patch', '/api/v1/admin/users/{id}'],
    ];
    const documented = Object.entries(document.paths as Record<string, Record<string, Json>>).flatMap(([path, operations]) =>
      Object.entries(operations).flatMap(([method, operation]) => {
        const successes = Object.entries(operation.responses as Record<string, Json>).filter(([status]) => status.startsWith('2'));
        return successes.some(([, response]) => response.headers?.['X-Chronos-Read-Models']) ? [[method, path, successes.every(([, response]) => response.headers?.['X-Chronos-Read-Models'])]] : [];
      }),
    );
    expect(documented.map(([method, path]) => `${method} ${path}`).sort()).toEqual(writes.map(([method, path]) => `${method} ${path}`).sort());
    expect(documented.every(([, , onEach]) => onEach)).toBe(true);
    expect(JSON.stringify(document)).not.toContain('x-chronos-read-your-writes');
  });

  describe('when the read models cannot catch up', () => {
    it('a write still answers, within the bound, saying the read models lag; once the projector is back, reads reflect it', async () => {
      projector.kill('SIGKILL');
      await projector.exited;
      const created = await user.post('/api/v1/jobs', { name: 'while-down', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'interval', everyMs: 3_600_000 } });
      expect(created.status).toBe(201);
      expect(created.headers.get(READ_MODELS_HEADER)).toBe('lagging');

      projector = await startChronosProcess('projector-2', PROJECTOR_ENV);
      // The next write waits for the read models to pass its own position, which is after the one that lagged.
      await written(user.post(`/api/v1/jobs/${created.body.id}/pause`, {}), 200);
      expect((await shown(created.body.id)).map((item) => item?.status)).toEqual(everywhere(true).map(() => 'paused'));
    });

    const shown = async (id: string) => (await readOnEach(user, '/api/v1/jobs?limit=100')).map((list) => (list.items as Json[]).find((item) => item.id === id));

    it('every process survives losing its notification connections, and waits are answered again once they are back', async () => {
      const db = new pg.Client({ connectionString: urls.database });
      await db.connect();
      try {
        // What a PostgreSQL restart does to them: the API processes' read-model listeners, the scheduler's timers listener.
        const { rows } = await db.query(
          `SELECT application_name AS name, pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name IN ('chronos-read-models', 'chronos-timers')`,
        );
        expect(rows.map((row: { name: string }) => row.name).sort()).toEqual(['chronos-read-models', 'chronos-read-models', 'chronos-timers']);
      } finally {
        await db.end();
      }
      const created = await written(user.post('/api/v1/jobs', { name: 'after-reconnect', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'interval', everyMs: 3_600_000 } }), 201);
      expect((await shown(created.id)).map((item) => item?.status)).toEqual(everywhere(true).map(() => 'active'));
      expect([apiB.alive, projector.alive]).toEqual([true, true]);
    });
  });
});
