import { startChronosProcess, stopAllProcesses, type ChronosProcess } from './support/processes.js';
import { killPostgres, startPostgres } from './support/services.js';
import { ApiClient, resetStack, sleep, waitFor, type Json } from './support/stack.js';

/** PostgreSQL going away and coming back (kill -9 of the postmaster, then a restart) must not end Chronos. */
describe('a PostgreSQL restart', () => {
  let chronos: ChronosProcess;
  let client: ApiClient;

  beforeAll(async () => {
    await resetStack();
    chronos = await startChronosProcess('pg-restart', {});
    client = await new ApiClient(`http://127.0.0.1:${chronos.logged('chronos started')!.json.port}`).signUp();
  });
  afterAll(async () => {
    await startPostgres().catch(() => undefined);
    await stopAllProcesses();
  });

  const runs = async (jobId: string): Promise<Json[]> => (await client.get(`/api/v1/jobs/${jobId}/executions?limit=100`)).body.items ?? [];

  it('leaves the process running; it is unready meanwhile and fires again once PostgreSQL is back', async () => {
    const job = (await client.post('/api/v1/jobs', { name: 'every second', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'interval', everyMs: 1000 } })).body;
    await waitFor(async () => (await runs(job.id)).length >= 2, 20_000, 'the job to fire');

    await killPostgres();
    await waitFor(async () => (await client.get('/health/ready')).status === 503, 20_000, 'readiness to say PostgreSQL is down');
    await sleep(1000); // every connection, the scheduler's listening one too, has noticed
    expect(chronos.alive).toBe(true);

    await startPostgres();
    await waitFor(async () => (await client.get('/health/ready')).status === 200, 30_000, 'readiness once PostgreSQL is back');
    const before = (await runs(job.id)).length;
    await waitFor(async () => (await runs(job.id)).length >= before + 2, 30_000, 'the job to fire again');
    expect(chronos.alive).toBe(true);
    expect(chronos.stderr.join('\n')).not.toMatch(/Unhandled 'error' event/);
  }, 120_000);
});
