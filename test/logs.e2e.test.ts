import { randomUUID } from 'node:crypto';
import { HttpSink } from './support/http-sink.js';
import { startChronosProcess, stopAllProcesses, type ChronosProcess, type OutputLine } from './support/processes.js';
import { ApiClient, resetStack, waitFor, type Json } from './support/stack.js';

/**
 * The application log of a real Chronos process (every role, LOG_LEVEL info): one JSON line per entry, and
 * the id of an HTTP request followed as the correlation id through its command, the stored events, the
 * dispatch, the worker's execution and the result events. Secrets of every kind stay out of it.
 */
describe('structured logs and correlation', () => {
  const ADMIN = { email: 'logs-admin@example.com', password: 'Adm1n-Passw0rd-logs' };
  const METRICS_TOKEN = 'logs-metrics-token-0123456789';
  const USER_PASSWORD = 'Us3r-Passw0rd-logs';
  const JOB_SECRET = 'Bearer job-secret-7f3a9c';
  const requestId = `logs-test-${randomUUID()}`;

  let chronos: ChronosProcess;
  let sink: HttpSink;
  let client: ApiClient;
  let admin: ApiClient;
  let job: Json;

  beforeAll(async () => {
    await resetStack();
    sink = await new HttpSink().start();
    chronos = await startChronosProcess('logs', { CHRONOS_ADMIN_EMAIL: ADMIN.email, CHRONOS_ADMIN_PASSWORD: ADMIN.password, METRICS_TOKEN });
    const base = `http://127.0.0.1:${chronos.logged('chronos started')!.json.port}`;
    client = await new ApiClient(base).signUp(`logs-user-${randomUUID()}@example.com`, USER_PASSWORD);
    admin = new ApiClient(base);
    expect((await admin.signIn(ADMIN.email, ADMIN.password)).status).toBe(200);
  });
  afterAll(async () => {
    await stopAllProcesses();
    await sink?.stop();
  });

  const executions = async (jobId: string): Promise<Json[]> => (await client.get(`/api/v1/jobs/${jobId}/executions?limit=100`)).body.items;
  const history = async (jobId: string): Promise<Json[]> => (await client.get(`/api/v1/jobs/${jobId}/events?limit=100`)).body.items;
  const logLines = (predicate: (json: Json) => boolean): Json[] => chronos.lines.filter((line) => predicate(line.json ?? {})).map((line) => line.json);

  it('logs the request that creates a job with its request id, the user, and never a query', async () => {
    const created = await client.post(
      '/api/v1/jobs',
      {
        name: 'correlated',
        type: 'http',
        payload: { url: sink.url('/hook'), method: 'POST', headers: { Authorization: JOB_SECRET }, body: { hello: 'world' } },
        schedule: { kind: 'immediate' },
      },
      { 'X-Request-Id': requestId },
    );
    expect(created.status).toBe(201);
    expect(created.headers.get('x-request-id')).toBe(requestId);
    job = created.body;

    const line = await chronos.waitForLine((l) => l.json?.msg === 'request completed' && l.json.requestId === requestId && l.json.status === 201);
    expect(line.json).toMatchObject({
      level: 'info',
      context: 'HTTP',
      method: 'POST',
      route: '/api/v1/jobs',
      path: '/api/v1/jobs',
      requestId,
      correlationId: requestId,
      userId: client.user.id,
    });
    expect(typeof line.json.time).toBe('string');
    expect(line.json.durationMs).toBeGreaterThanOrEqual(0);

    const listed = await client.get('/api/v1/jobs?limit=5&access_token=hidden-query-value');
    await chronos.waitForLine((l) => l.json?.msg === 'request completed' && l.json.requestId === listed.headers.get('x-request-id'));
    expect(chronos.lines.filter((l) => l.text.includes('hidden-query-value')).map((l) => l.text)).toEqual([]);
  });

  it('carries the request id as the correlation id of the job events, through the worker, to the result events', async () => {
    const [run] = await waitFor(async () => {
      const runs = await executions(job.id);
      return runs.length === 1 && runs[0].status === 'succeeded' && runs;
    }, 20_000, 'the run to succeed');
    expect(sink.to('/hook')).toHaveLength(1);

    const events = await history(job.id);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['JobCreated', 'JobFired', 'ExecutionFinished']));
    expect(events.every((e) => e.correlationId === requestId)).toBe(true);
    // The worker's result names the fire it ran as its cause.
    const fired = events.find((e) => e.type === 'JobFired');
    expect(events.find((e) => e.type === 'ExecutionFinished').causationId).toBe(fired.id);
    // The admin's view of the log says the same.
    const adminEvents = await admin.get(`/api/v1/admin/events?aggregateId=${job.id}&limit=100`);
    expect(adminEvents.status).toBe(200);
    expect(adminEvents.body.items.length).toBe(events.length);
    expect(adminEvents.body.items.every((e: Json) => e.correlationId === requestId)).toBe(true);

    const finished = await chronos.waitForLine((l) => l.json?.msg === 'execution finished' && l.json.executionId === run.id);
    expect(finished.json).toMatchObject({
      level: 'info',
      context: 'WorkerService',
      correlationId: requestId,
      causationId: fired.id,
      jobId: job.id,
      executionId: run.id,
      attempt: 1,
      type: 'http',
      outcome: 'succeeded',
    });
  });

  it('takes a sane X-Correlation-Id as the correlation id of the commands a request issues', async () => {
    const correlationId = `trigger-${randomUUID()}`;
    const res = await client.post(`/api/v1/jobs/${job.id}/trigger`, {}, { 'X-Correlation-Id': correlationId });
    expect(res.status).toBe(202);
    const triggeredRequestId = res.headers.get('x-request-id');
    expect(triggeredRequestId).toBeTruthy();
    const line = await chronos.waitForLine((l) => l.json?.msg === 'request completed' && l.json.requestId === triggeredRequestId);
    expect(line.json.correlationId).toBe(correlationId);

    const { executionId } = res.body;
    await chronos.waitForLine((l) => l.json?.msg === 'execution finished' && l.json.executionId === executionId, 20_000);
    const events = (await history(job.id)).filter((e) => e.data.executionId === executionId);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['JobFired', 'ExecutionFinished']));
    expect(events.every((e) => e.correlationId === correlationId)).toBe(true);
    expect(logLines((j) => j.executionId === executionId && j.msg === 'execution finished')[0].correlationId).toBe(correlationId);

    // An id that is not sane is ignored: the request id correlates instead.
    const odd = await client.post(`/api/v1/jobs/${job.id}/trigger`, {}, { 'X-Correlation-Id': 'not sane: spaces and {braces}' });
    expect(odd.status).toBe(202);
    const oddLine = await chronos.waitForLine((l) => l.json?.msg === 'request completed' && l.json.requestId === odd.headers.get('x-request-id'));
    expect(oddLine.json.correlationId).toBe(odd.headers.get('x-request-id'));
  });

  it('logs probes at debug only (not at the default info)', async () => {
    expect((await client.get('/health')).status).toBe(200);
    expect((await client.get('/metrics', { authorization: `Bearer ${METRICS_TOKEN}` })).status).toBe(200);
    await client.get('/api/v1/auth/me'); // a request after them: when it is logged, they would have been
    await chronos.waitForLine((l) => l.json?.msg === 'request completed' && l.json.path === '/api/v1/auth/me');
    expect(logLines((j) => j.msg === 'request completed' && /^\/(health|metrics)/.test(j.path))).toEqual([]);
  });

  it('writes only JSON lines with level, time, msg, and never a password, token or job secret', async () => {
    await client.post('/api/v1/auth/logout');
    await chronos.waitForLine((l) => l.json?.msg === 'request completed' && l.json.path === '/api/v1/auth/logout');
    const lines: OutputLine[] = chronos.lines;
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.filter((l) => l.json === undefined).map((l) => l.text)).toEqual([]);
    expect(lines.filter((l) => typeof l.json.level !== 'string' || typeof l.json.time !== 'string' || typeof l.json.msg !== 'string').map((l) => l.text)).toEqual([]);

    const secrets = [client.token!, client.refreshToken!, admin.token!, admin.refreshToken!, USER_PASSWORD, ADMIN.password, JOB_SECRET, 'job-secret-7f3a9c'];
    const output = [...lines.map((l) => l.text), ...chronos.stderr];
    expect(output.filter((text) => secrets.some((secret) => text.includes(secret)))).toEqual([]);
  });
});
