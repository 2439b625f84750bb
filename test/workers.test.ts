import type { ChronosApp } from '../src/app.js';
import { HttpSink } from './support/http-sink.js';
import { ApiClient, resetStack, startTestChronos, waitFor, type Json } from './support/stack.js';

/** Executors and the worker's reporting, end to end through the API. */
describe('workers', () => {
  let chronos: ChronosApp;
  let sink: HttpSink;
  let base: string;

  let client: ApiClient;
  const post = (path: string, body: unknown) => client.post(path, body);
  const get = async (path: string): Promise<Json> => (await client.get(path)).body;
  const runOnce = async (body: Record<string, unknown>) => {
    const created = await post('/api/v1/jobs', { name: 'w', schedule: { kind: 'immediate' }, ...body });
    expect(created.status).toBe(201);
    const execution = await waitFor(async () => {
      const [item] = (await get(`/api/v1/jobs/${created.body.id}/executions`)).items;
      return item && !['queued', 'running'].includes(item.status) && item;
    }, 15_000, 'the execution to finish');
    const job = await waitFor(async () => {
      const current = await get(`/api/v1/jobs/${created.body.id}`);
      return current.status !== 'active' && current;
    }, 5000, 'the job to settle');
    return { job, execution };
  };

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

  it('custom echo returns its data as the output', async () => {
    const { job, execution } = await runOnce({ type: 'custom', payload: { handler: 'echo', data: { answer: 42 } } });
    expect(execution).toMatchObject({ status: 'succeeded', output: { answer: 42 }, error: null });
    expect(job).toMatchObject({ status: 'completed', lastRunStatus: 'succeeded' });
    // Statistics come from the jobs read model, which may lag the log by a moment.
    const withStats = await waitFor(async () => {
      const current = await get(`/api/v1/jobs/${job.id}`);
      return current.stats.totalExecutions === 1 && current;
    }, 5000, 'statistics');
    expect(withStats.stats).toEqual({ totalExecutions: 1, succeeded: 1, failed: 0, averageDurationMs: expect.any(Number) });
  });

  it("keeps each execution's log, readable per execution and per job, filtered by level", async () => {
    const { job, execution } = await runOnce({ type: 'custom', payload: { handler: 'sleep', data: { ms: 10 } }, timeoutMs: 5, retryPolicy: { maxAttempts: 1 } });
    const logs = await waitFor(async () => {
      const items = (await get(`/api/v1/executions/${execution.id}/logs`)).items;
      return items.length >= 2 && items;
    }, 5000, 'the log entries');
    expect(logs.map((entry: { level: string; message: string }) => [entry.level, entry.message])).toEqual([
      ['info', `attempt 1 started on worker ${execution.workerId}`],
      ['error', 'timed_out: timed out after 5 ms'],
    ]);
    expect(logs[0]).toMatchObject({ executionId: execution.id, metadata: { attempt: 1 }, timestamp: expect.any(String) });
    expect((await get(`/api/v1/jobs/${job.id}/logs?level=error`)).items.map((e: { message: string }) => e.message)).toEqual(['timed_out: timed out after 5 ms']);
    expect((await client.get(`/api/v1/jobs/${job.id}/logs?level=loud`)).status).toBe(400);
  });

  it('a run past timeoutMs is aborted and recorded as timed out; the one-off job fails', async () => {
    const { job, execution } = await runOnce({ type: 'custom', payload: { handler: 'sleep', data: { ms: 5000 } }, timeoutMs: 300 });
    expect(execution.status).toBe('timed_out');
    expect(execution.error).toMatch(/timed out after 300 ms/);
    expect(execution.durationMs).toBeGreaterThanOrEqual(290);
    expect(execution.durationMs).toBeLessThan(3000);
    expect(job).toMatchObject({ status: 'failed', lastRunStatus: 'timed_out' });
  });

  it('a long run is visible as running before it ends', async () => {
    const created = await post('/api/v1/jobs', { name: 'slow', type: 'custom', payload: { handler: 'sleep', data: { ms: 2000 } }, schedule: { kind: 'immediate' } });
    const running = await waitFor(async () => {
      const [item] = (await get(`/api/v1/jobs/${created.body.id}/executions`)).items;
      return item?.status === 'running' && item;
    }, 5000, 'the running state');
    expect(running.startedAt).toEqual(expect.any(String));
    expect(running.workerId).toEqual(expect.any(String));
    await waitFor(async () => (await get(`/api/v1/jobs/${created.body.id}`)).status === 'completed', 10_000);
  });

  it('an http target answering an unexpected status fails the run with the response in the output', async () => {
    sink.status = 503;
    const { job, execution } = await runOnce({ type: 'http', payload: { url: sink.url('/down') } });
    sink.status = 200;
    expect(execution).toMatchObject({ status: 'failed', error: 'unexpected status 503', output: { status: 503, body: '{"ok":false}' } });
    expect(job.status).toBe('failed');
  });

  it('expectStatus decides what success is', async () => {
    sink.status = 404;
    const { execution } = await runOnce({ type: 'http', payload: { url: sink.url('/gone'), method: 'DELETE', expectStatus: [200, 404] } });
    sink.status = 200;
    expect(execution.status).toBe('succeeded');
    expect(sink.to('/gone')[0]!.method).toBe('DELETE');
  });

  it('an unreachable http target fails the run with a clear error', async () => {
    const { execution } = await runOnce({ type: 'http', payload: { url: 'http://127.0.0.1:9/unreachable' }, timeoutMs: 2000 });
    expect(execution.status).toBe('failed');
    expect(execution.error).toMatch(/request to http:\/\/127\.0\.0\.1:9 failed/);
  });

  it('an http request past timeoutMs is aborted', async () => {
    const slow = new HttpSink();
    await slow.start();
    // A target that accepts the connection and never answers.
    const hang = await import('node:http').then(({ createServer }) => createServer(() => undefined));
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    const port = (hang.address() as { port: number }).port;
    const { execution } = await runOnce({ type: 'http', payload: { url: `http://127.0.0.1:${port}/` }, timeoutMs: 300 });
    hang.closeAllConnections();
    hang.close();
    await slow.stop();
    expect(execution.status).toBe('timed_out');
  });
});
