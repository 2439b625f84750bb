import type { ChronosApp } from '../src/app.js';
import { HttpSink } from './support/http-sink.js';
import { ApiClient, resetStack, sleep, startTestChronos, waitFor } from './support/stack.js';

/** End to end over HTTP: a real Chronos (all roles) on real NATS, PostgreSQL and Redis, firing at a local sink. */
describe('jobs over HTTP', () => {
  let chronos: ChronosApp;
  let sink: HttpSink;
  let base: string;

  let client: ApiClient;
  const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => client.request(method, path, body, headers);
  const createJob = async (body: Record<string, unknown>) => {
    const res = await api('POST', '/api/v1/jobs', { name: 'test job', type: 'http', ...body });
    expect(res.status).toBe(201);
    return res.body as { id: string; version: number; nextRunAt: string | null; status: string };
  };
  const httpPayload = (path: string, extra: Record<string, unknown> = {}) => ({ url: sink.url(path), method: 'POST', body: { hello: path }, ...extra });
  const executions = async (jobId: string) => (await api('GET', `/api/v1/jobs/${jobId}/executions?limit=100`)).body.items as { status: string; scheduledAt: string; trigger: string; startedAt: string }[];

  beforeAll(async () => {
    await resetStack();
    sink = await new HttpSink().start();
    chronos = await startTestChronos();
    base = `http://127.0.0.1:${chronos.port}`;
    client = await new ApiClient(base).signUp();
  });
  afterAll(async () => {
    await chronos?.close();
    await sink?.stop();
  });

  it('runs an immediate http job once, with the idempotency headers, and completes it', async () => {
    const job = await createJob({ payload: httpPayload('/immediate', { headers: { 'x-custom': 'yes' }, query: { a: '1' } }), schedule: { kind: 'immediate' } });
    await waitFor(async () => (await api('GET', `/api/v1/jobs/${job.id}`)).body.status === 'completed', 10_000, 'completed');
    const execution = await waitFor(async () => {
      const items = await executions(job.id);
      return items.length === 1 && items[0]!.status === 'succeeded' && items[0];
    });
    expect(sink.to('/immediate')).toHaveLength(1);
    const request = sink.to('/immediate')[0]!;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/immediate?a=1');
    expect(JSON.parse(request.body)).toEqual({ hello: '/immediate' });
    expect(request.headers['x-custom']).toBe('yes');
    expect(request.headers['idempotency-key']).toBe(`${job.id}:${execution!.scheduledAt}`);
    expect(request.headers['x-chronos-attempt']).toBe('1');
    expect(request.headers['x-chronos-execution-id']).toBeDefined();
    const read = await api('GET', `/api/v1/executions/${request.headers['x-chronos-execution-id']}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ jobId: job.id, status: 'succeeded', attempt: 1, trigger: 'schedule', output: { status: 200 } });
  });

  it('fires an `at` job at its instant, not before', async () => {
    const runAt = new Date(Date.now() + 1500).toISOString();
    const job = await createJob({ payload: httpPayload('/at'), schedule: { kind: 'at', runAt } });
    expect(job.nextRunAt).toBe(runAt);
    await waitFor(() => sink.to('/at').length === 1, 10_000, 'the at fire');
    expect(sink.to('/at')[0]!.receivedAt).toBeGreaterThanOrEqual(Date.parse(runAt));
    await waitFor(async () => (await api('GET', `/api/v1/jobs/${job.id}`)).body.status === 'completed');
    await sleep(500);
    expect(sink.to('/at')).toHaveLength(1);
  });

  it('fires a 6-field cron every 2 seconds, each instant once, on the schedule', async () => {
    const job = await createJob({ payload: httpPayload('/cron'), schedule: { kind: 'cron', expression: '*/2 * * * * *', timezone: 'Europe/Berlin' } });
    await waitFor(() => sink.to('/cron').length >= 3, 15_000, 'three cron fires');
    await api('POST', `/api/v1/jobs/${job.id}/pause`, {});
    const instants = sink.to('/cron').map((r) => r.headers['idempotency-key'] as string);
    expect(new Set(instants).size).toBe(instants.length);
    for (const key of instants) expect(new Date(key.slice(job.id.length + 1)).getUTCSeconds() % 2).toBe(0);
  });

  it('fires an interval job anchored on its start, without drift', async () => {
    const startAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 1000);
    const job = await createJob({ payload: httpPayload('/interval'), schedule: { kind: 'interval', everyMs: 1000, startAt: startAt.toISOString() } });
    await waitFor(() => sink.to('/interval').length >= 3, 15_000, 'three interval fires');
    await api('POST', `/api/v1/jobs/${job.id}/cancel`, {});
    const scheduled = sink.to('/interval').map((r) => Date.parse((r.headers['idempotency-key'] as string).slice(job.id.length + 1)));
    scheduled.forEach((at, i) => expect(at).toBe(startAt.getTime() + i * 1000));
  });

  it('pause stops fires, resume restarts them, trigger runs now', async () => {
    const job = await createJob({ payload: httpPayload('/pause'), schedule: { kind: 'interval', everyMs: 1000 } });
    await waitFor(() => sink.to('/pause').length >= 1, 10_000, 'first fire');
    const paused = await api('POST', `/api/v1/jobs/${job.id}/pause`, { note: 'maintenance' });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ status: 'paused', nextRunAt: null });
    await sleep(300); // a fire already in flight may still land
    const countAtPause = sink.to('/pause').length;
    await sleep(2500);
    expect(sink.to('/pause')).toHaveLength(countAtPause);

    const again = await api('POST', `/api/v1/jobs/${job.id}/pause`, {});
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('INVALID_STATE');

    const triggered = await api('POST', `/api/v1/jobs/${job.id}/trigger`, {});
    expect(triggered.status).toBe(202);
    await waitFor(() => sink.to('/pause').some((r) => r.headers['x-chronos-execution-id'] === triggered.body.executionId), 10_000, 'the manual run');

    const resumed = await api('POST', `/api/v1/jobs/${job.id}/resume`, {});
    expect(resumed.body.status).toBe('active');
    const countAtResume = sink.to('/pause').length;
    await waitFor(() => sink.to('/pause').length >= countAtResume + 2, 10_000, 'fires after resume');
    await api('POST', `/api/v1/jobs/${job.id}/cancel`, {});
    const manual = (await executions(job.id)).filter((e) => e.trigger === 'manual');
    expect(manual).toHaveLength(1);
  });

  it('reschedules, updates with If-Match, and deletes', async () => {
    const job = await createJob({ payload: httpPayload('/edit'), schedule: { kind: 'cron', expression: '0 0 1 1 *' } });
    const rescheduled = await api('POST', `/api/v1/jobs/${job.id}/reschedule`, { schedule: { kind: 'at', runAt: '2099-01-01T00:00:00Z' } });
    expect(rescheduled.body.nextRunAt).toBe('2099-01-01T00:00:00.000Z');
    const etag = rescheduled.headers.get('etag')!;
    expect(etag).toBe(`"${rescheduled.body.version}"`);

    const patched = await api('PATCH', `/api/v1/jobs/${job.id}`, { name: 'renamed', labels: { team: 'ops' } }, { 'if-match': etag });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'renamed', labels: { team: 'ops' }, schedule: { kind: 'at' } });
    const stale = await api('PATCH', `/api/v1/jobs/${job.id}`, { name: 'again' }, { 'if-match': etag });
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe('VERSION_CONFLICT');

    const replaced = await api('PUT', `/api/v1/jobs/${job.id}`, { name: 'replaced', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'cron', expression: '0 9 * * *' } });
    expect(replaced.body).toMatchObject({ name: 'replaced', labels: {}, timeoutMs: 30000, schedule: { timezone: 'UTC' } });

    await waitFor(async () => (await api('GET', '/api/v1/jobs?label=team&limit=100')).body.items.length === 0, 5000, 'label gone from the list');
    expect((await api('DELETE', `/api/v1/jobs/${job.id}`)).status).toBe(204);
    expect((await api('DELETE', `/api/v1/jobs/${job.id}`)).status).toBe(404);
    const gone = await api('GET', `/api/v1/jobs/${job.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe('JOB_NOT_FOUND');
  });

  it('lists with filters, sorting and pagination', async () => {
    for (const name of ['list-b', 'list-a', 'list-c']) {
      await createJob({ name, type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'cron', expression: '0 0 1 1 *' }, labels: { suite: 'list' } });
    }
    const page = await waitFor(async () => {
      const res = await api('GET', '/api/v1/jobs?label=suite=list&sort=name&order=asc&limit=2&page=1');
      return res.body.total === 3 && res.body;
    });
    expect(page.items.map((j: { name: string }) => j.name)).toEqual(['list-a', 'list-b']);
    expect(page).toMatchObject({ page: 1, limit: 2, total: 3, totalPages: 2 });
    expect((await api('GET', '/api/v1/jobs?q=list-c')).body.items.map((j: { name: string }) => j.name)).toEqual(['list-c']);
    expect((await api('GET', '/api/v1/jobs?limit=101')).status).toBe(400);
  });

  describe('bad input gets a clear problem, never a 5xx', () => {
    const valid = { name: 'v', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'immediate' } };
    const cases: [string, unknown, number, string, string | undefined][] = [
      ['an unknown top-level field', { ...valid, extra: 1 }, 400, 'VALIDATION_FAILED', 'extra'],
      ['an unknown field inside schedule', { ...valid, schedule: { kind: 'immediate', foo: 1 } }, 400, 'VALIDATION_FAILED', 'schedule.foo'],
      ['an unknown field inside retryPolicy', { ...valid, retryPolicy: { maxAttempts: 2, bogus: true } }, 400, 'VALIDATION_FAILED', 'retryPolicy.bogus'],
      ['an unknown field inside the payload', { ...valid, payload: { handler: 'noop', what: 1 } }, 400, 'VALIDATION_FAILED', 'payload.what'],
      ['an http payload without a url', { ...valid, type: 'http', payload: { method: 'GET' } }, 400, 'VALIDATION_FAILED', 'payload.url'],
      ['an unknown schedule kind', { ...valid, schedule: { kind: 'sometimes' } }, 400, 'VALIDATION_FAILED', 'schedule'],
      ['a missing name', { ...valid, name: undefined }, 400, 'VALIDATION_FAILED', 'name'],
      ['a wrong type for timeoutMs', { ...valid, timeoutMs: 'soon' }, 400, 'VALIDATION_FAILED', 'timeoutMs'],
      ['a body that is an array', [valid], 400, 'VALIDATION_FAILED', undefined],
      ['an invalid cron', { ...valid, schedule: { kind: 'cron', expression: '61 * * * *' } }, 422, 'INVALID_CRON', 'schedule.expression'],
      ['an impossible cron', { ...valid, schedule: { kind: 'cron', expression: '0 0 30 2 *' } }, 422, 'INVALID_CRON', 'schedule.expression'],
      ['an unknown time zone', { ...valid, schedule: { kind: 'cron', expression: '0 9 * * *', timezone: 'Moon/Base' } }, 422, 'INVALID_TIMEZONE', 'schedule.timezone'],
      ['an interval below a second', { ...valid, schedule: { kind: 'interval', everyMs: 10 } }, 400, 'VALIDATION_FAILED', 'schedule.everyMs'],
      ['an email job without a body', { ...valid, type: 'email', payload: { to: 'a@example.com', subject: 's' } }, 400, 'VALIDATION_FAILED', 'payload.text'],
    ];
    it.each(cases)('rejects %s', async (_name, body, status, code, field) => {
      const res = await api('POST', '/api/v1/jobs', body);
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status, code, instance: '/api/v1/jobs' });
      expect(typeof res.body.title).toBe('string');
      if (field) expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    });

    it('rejects malformed JSON', async () => {
      const res = await api('POST', '/api/v1/jobs', '{"name": ');
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('MALFORMED_JSON');
    });

    it('answers unknown routes and ids with problem details', async () => {
      expect((await api('GET', '/api/v1/nope')).body).toMatchObject({ status: 404, code: 'ROUTE_NOT_FOUND' });
      expect((await api('GET', '/api/v1/jobs/not-a-uuid')).body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
      expect((await api('GET', '/api/v1/jobs/00000000-0000-4000-8000-00000000abcd')).body).toMatchObject({ status: 404, code: 'JOB_NOT_FOUND' });
      expect((await api('GET', '/api/v1/executions/00000000-0000-4000-8000-00000000abcd')).body).toMatchObject({ status: 404, code: 'EXECUTION_NOT_FOUND' });
    });
  });

  it('serves health and the OpenAPI document generated from the DTOs', async () => {
    expect(await api('GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    const doc = (await api('GET', '/docs-json')).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/jobs', '/api/v1/jobs/{id}', '/api/v1/jobs/{id}/executions', '/api/v1/executions/{id}', '/health']));
    expect(doc.components.schemas.CreateHttpJobDto.required).toEqual(expect.arrayContaining(['name', 'type', 'payload', 'schedule']));
    expect(doc.components.schemas.CronScheduleDto).toBeDefined();
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[] }>>)) {
      const isPublic = path.startsWith('/health') || /\/auth\/(register|login|refresh)$/.test(path);
      for (const [method, operation] of Object.entries(methods)) {
        expect([method, path, Boolean(operation.security?.length)]).toEqual([method, path, !isPublic]);
      }
    }
    const docs = await fetch(`${base}/docs`);
    expect(docs.status).toBe(200);
  });
});
