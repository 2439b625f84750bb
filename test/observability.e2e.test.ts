import type { ChronosApp } from '../src/app.js';
import { startChronosProcess } from './support/processes.js';
import { ApiClient, resetStack, startTestChronos, waitFor } from './support/stack.js';

const METRICS_TOKEN = 'observability-metrics-token-0123';

/** Metrics for Prometheus and the dashboard routes, changing as jobs run. */
describe('metrics and dashboard', () => {
  let chronos: ChronosApp;
  let client: ApiClient;
  let base: string;

  beforeAll(async () => {
    await resetStack();
    chronos = await startTestChronos({ METRICS_TOKEN, METRICS_CACHE_MS: '0' });
    base = `http://127.0.0.1:${chronos.port}`;
    client = await new ApiClient(base).signUp();
  });
  afterAll(() => chronos?.close());

  const scrape = async () => {
    const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  };
  /** The instance the metrics name as the active scheduler. */
  const activeSchedulerIn = (text: string) => /^chronos_scheduler_active\{instance="([^"]+)"\} 1$/m.exec(text)?.[1];
  const value = (text: string, series: string) => Number(text.split('\n').find((line) => line.startsWith(`${series} `))?.split(' ')[1] ?? 0);

  it('exposes Prometheus metrics that change as jobs run', async () => {
    const before = await scrape();
    expect(before).toContain('# TYPE chronos_http_requests_total counter');
    expect(before).toContain('process_cpu_seconds_total');
    await client.post('/api/v1/jobs', { name: 'ok', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'immediate' } });
    await client.post('/api/v1/jobs', { name: 'later', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'at', runAt: new Date(Date.now() + 500).toISOString() } });
    const after = await waitFor(async () => {
      const text = await scrape();
      // A one-off job completes by an event after its run's finish: the jobs read model may count it a moment later.
      const settled = value(text, 'chronos_executions{status="succeeded",type="custom"}') === 2 && value(text, 'chronos_jobs{status="completed"}') === 2;
      return settled && value(text, 'chronos_fire_lateness_seconds_count') >= 1 && value(text, 'chronos_start_lateness_seconds_count') === 2 && text;
    }, 30_000, 'metrics of the runs');
    expect(value(after, 'chronos_execution_duration_seconds_count{type="custom",outcome="succeeded"}')).toBe(2);
    expect(value(after, 'chronos_http_requests_total{method="POST",route="/api/v1/jobs",status="201"}')).toBe(2);
    expect(after).toContain('chronos_projection_lag_events{projection="jobs"}');
    expect(after).toContain('chronos_work_pending');
    // This process holds the scheduler lease (the only scheduler): the health route names it too.
    expect(after).toMatch(/^chronos_scheduler_active\{instance="[^"]+"\} 1$/m);
  });

  it("answers the caller's dashboard, and the services' health", async () => {
    await client.post('/api/v1/jobs', { name: 'boom', type: 'custom', payload: { handler: 'sleep', data: { ms: 200 } }, timeoutMs: 10, retryPolicy: { maxAttempts: 1 }, schedule: { kind: 'immediate' } });
    await client.post('/api/v1/jobs', { name: 'soon', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'cron', expression: '0 0 1 1 *' } });
    const stats = await waitFor(async () => {
      const body = (await client.get('/api/v1/dashboard/stats')).body;
      return body.executions?.last24h.failed === 1 && body;
    }, 10_000, 'the failure in the stats');
    expect(stats.jobs).toMatchObject({ total: 4, byStatus: { completed: 2, failed: 1, active: 1 }, byType: { custom: 4 } });
    expect(stats.executions.last24h).toMatchObject({ total: 3, succeeded: 2, failed: 1, successRate: 0.667 });
    expect(stats.upcoming.map((j: { name: string }) => j.name)).toEqual(['soon']);
    expect(stats.recentFailures[0]).toMatchObject({ jobName: 'boom', status: 'timed_out' });
    const stranger = await new ApiClient(base).signUp();
    expect((await stranger.get('/api/v1/dashboard/stats')).body.jobs.total).toBe(0);

    const health = await client.get('/api/v1/dashboard/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', services: { postgres: { status: 'up' }, redis: { status: 'up' }, nats: { status: 'up' } } });
    expect(health.body.streams.CHRONOS_EVENTS).toMatchObject({ lastSequence: expect.any(Number), replicas: 1, leader: null });
    expect(health.body.streams.CHRONOS_EVENTS.lastSequence).toBeGreaterThan(0);
    expect(health.body.scheduler).toEqual({ activeInstance: activeSchedulerIn(await scrape()) });
    expect(health.body.projections.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['jobs', 'executions']));
    expect((await new ApiClient(base).get('/api/v1/dashboard/health')).status).toBe(401);
  });

  it('splits public health into liveness and readiness; Redis down is degraded, not unready', async () => {
    const anonymous = new ApiClient(base);
    expect(await anonymous.get('/health/live')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await anonymous.get('/health/ready')).toMatchObject({ status: 200, body: { status: 'ok', checks: { postgres: 'up', nats: 'up', redis: 'up' } } });
    // A process of its own: a second app in this one would take over passport's JWT strategy, and stopping it
    // would leave this file's app authenticating against a closed database.
    const withoutRedis = await startChronosProcess('without-redis', { CHRONOS_ROLES: 'api', REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const ready = await new ApiClient(`http://127.0.0.1:${withoutRedis.logged('chronos started')!.json.port}`).get('/health/ready');
      expect(ready.status).toBe(200);
      // Up or down and nothing else: the failed check's error stays in the log.
      expect(ready.body).toEqual({ status: 'degraded', checks: { postgres: 'up', nats: 'up', redis: 'down' }, readModels: 'live' });
    } finally {
      await withoutRedis.stop();
    }
  });
});
