import type { ChronosApp } from '../src/app.js';
import { HttpSink } from './support/http-sink.js';
import { startChronosProcess, stopAllProcesses } from './support/processes.js';
import { ApiClient, resetStack, sleep, startTestChronos, waitFor } from './support/stack.js';

/** Processes killed at the worst moment (SIGKILL, real processes): nothing acknowledged is lost, nothing is doubled. */
describe('crashes', () => {
  let chronos: ChronosApp | undefined;
  let sink: HttpSink;

  beforeEach(async () => {
    await resetStack();
    sink = await new HttpSink().start();
  });
  afterEach(async () => {
    await stopAllProcesses();
    await chronos?.close();
    chronos = undefined;
    await sink.stop();
  });

  it('a worker killed mid-run leaves its attempt to be redelivered, and it completes once', async () => {
    chronos = await startTestChronos({ CHRONOS_ROLES: 'api,scheduler,projector' });
    const client = await new ApiClient(`http://127.0.0.1:${chronos.port}`).signUp();
    const workerEnv = { CHRONOS_ROLES: 'worker', WORK_ACK_WAIT_MS: '2000' };
    const doomed = await startChronosProcess('worker-a', workerEnv);
    const job = (await client.post('/api/v1/jobs', { name: 'long', type: 'custom', payload: { handler: 'sleep', data: { ms: 3000 } }, schedule: { kind: 'immediate' } })).body;
    const running = await waitFor(async () => {
      const [execution] = (await client.get(`/api/v1/jobs/${job.id}/executions`)).body.items;
      return execution?.status === 'running' && execution;
    }, 10_000, 'the run to start');
    expect(running.workerId).toBe('worker-a');
    doomed.kill('SIGKILL');
    await startChronosProcess('worker-b', workerEnv);

    const done = await waitFor(async () => {
      const [execution] = (await client.get(`/api/v1/jobs/${job.id}/executions`)).body.items;
      return execution?.status === 'succeeded' && execution;
    }, 20_000, 'the redelivered run to succeed');
    expect(done).toMatchObject({ id: running.id, attempt: 1 });
    const executions = (await client.get(`/api/v1/jobs/${job.id}/executions`)).body;
    expect(executions.total).toBe(1);
    const history = (await client.get(`/api/v1/jobs/${job.id}/events?limit=100`)).body.items.map((e: { type: string }) => e.type);
    expect(history.filter((t: string) => t === 'ExecutionFinished')).toHaveLength(1);
    expect(history).toContain('JobCompleted');
  });

  it('the saga process killed between events and the work they cause loses nothing and doubles nothing', async () => {
    chronos = await startTestChronos({ CHRONOS_ROLES: 'api,worker' });
    const client = await new ApiClient(`http://127.0.0.1:${chronos.port}`).signUp();
    const sagas = await startChronosProcess('projector-a', { CHRONOS_ROLES: 'projector,scheduler', CHRONOS_LEASE_TTL_MS: '1000' });
    const jobs = 150;
    const created = Promise.all(
      Array.from({ length: jobs }, (_, i) =>
        client.post('/api/v1/jobs', { name: `j${i}`, type: 'http', payload: { url: sink.url(`/crash/${i}`) }, schedule: { kind: 'immediate' } }),
      ),
    );
    // Kill the dispatch saga while the fires stream in: some were read and not yet acknowledged.
    await waitFor(() => sink.requests.length > 10, 15_000, 'the first runs');
    sagas.kill('SIGKILL');
    expect((await created).every((r) => r.status === 201)).toBe(true);
    await sleep(500);
    await startChronosProcess('projector-b', { CHRONOS_ROLES: 'projector,scheduler', CHRONOS_LEASE_TTL_MS: '1000' });

    await waitFor(() => sink.requests.length >= jobs, 30_000, `${jobs} runs`);
    await sleep(1000); // a doubled dispatch would show up here
    const keys = sink.requests.map((r) => r.headers['idempotency-key'] as string);
    expect(keys).toHaveLength(jobs);
    expect(new Set(keys).size).toBe(jobs);
    await waitFor(async () => (await client.get('/api/v1/jobs?status=completed&limit=1')).body.total === jobs, 15_000, 'every job completed');
  }, 180_000);
});
