import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChronosApp } from '../src/app.js';
import { WORK_BACKLOG_STREAM } from '../src/events/streams.js';
import { startChronosProcess, stopAllProcesses, type ChronosProcess } from './support/processes.js';
import { ApiClient, resetStack, startTestChronos, waitFor, type Json } from './support/stack.js';

/**
 * Guarantee 9, fair shares: one owner's flood of long runs leaves another owner's job on time, and every
 * flooded job still runs, once. Real servers, the API in this process, the workers as processes of their own.
 * Order and overlap are read from the execution records, never from how long anything took.
 */
describe('fair shares between owners', () => {
  /** Small shares, so a few hundred jobs are a flood: 6 slots per worker, 3 of them per owner, 15 items per owner in the work stream. */
  const shares = { WORKER_CONCURRENCY: '6', WORKER_OWNER_CONCURRENCY: '3', OWNER_MAX_QUEUED: '15', WORK_ACK_WAIT_MS: '3000' };
  let chronos: ChronosApp;
  let worker: ChronosProcess;
  let flooder: ApiClient;
  let other: ApiClient;

  const create = async (client: ApiClient, body: Record<string, unknown>): Promise<Json> => {
    const res = await client.post('/api/v1/jobs', { schedule: { kind: 'immediate' }, ...body });
    expect(res.status).toBe(201);
    return res.body;
  };
  const executionsOf = async (client: ApiClient, jobId: string): Promise<Json[]> => (await client.get(`/api/v1/jobs/${jobId}/executions?limit=100`)).body.items;
  const logsOf = async (client: ApiClient, executionId: string): Promise<Json[]> => (await client.get(`/api/v1/executions/${executionId}/logs?limit=100`)).body.items;
  const inBatches = async <T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> => {
    const results: R[] = [];
    for (let i = 0; i < items.length; i += 25) results.push(...(await Promise.all(items.slice(i, i + 25).map(fn))));
    return results;
  };
  /** Each job's one execution, once every job labelled `batch` has completed. */
  const finishedExecutions = async (client: ApiClient, batch: string, jobIds: string[], timeoutMs: number): Promise<Json[]> => {
    await waitFor(async () => (await client.get(`/api/v1/jobs?status=completed&label=batch=${batch}&limit=1`)).body.total === jobIds.length, timeoutMs, `${jobIds.length} jobs completed`);
    return inBatches(jobIds, async (jobId) => {
      const executions = await executionsOf(client, jobId);
      expect(executions).toHaveLength(1);
      expect(executions[0]).toMatchObject({ status: 'succeeded', attempt: 1 });
      return executions[0];
    });
  };
  const startsAfter = (executions: Json[], instant: string) => executions.filter((e) => Date.parse(e.startedAt) > Date.parse(instant)).length;

  beforeAll(async () => {
    await resetStack();
    chronos = await startTestChronos({ CHRONOS_ROLES: 'api,scheduler,projector', ...shares });
    worker = await startChronosProcess('worker-1', { CHRONOS_ROLES: 'worker', ...shares });
    const base = `http://127.0.0.1:${chronos.port}`;
    flooder = await new ApiClient(base).signUp();
    other = await new ApiClient(base).signUp();
  });
  afterAll(async () => {
    await stopAllProcesses();
    await chronos?.close();
  });

  it('a flood of long sleep jobs leaves another owner\'s job on time; every flooded job runs once; a waiting one says why', async () => {
    const floodSize = 150;
    const flood = await inBatches(Array.from({ length: floodSize }, (_, i) => i), (i) =>
      create(flooder, { name: `flood-${i}`, labels: { batch: 'flood' }, type: 'custom', payload: { handler: 'sleep', data: { ms: 500 } } }),
    );

    // The last fire is far beyond its owner's share of the work stream: it waits in the backlog, and its log says so.
    const [waiting] = await waitFor(async () => {
      const executions = await executionsOf(flooder, flood.at(-1).id);
      return executions.length === 1 && executions;
    }, 10_000, 'the last flooded execution');
    const told = await waitFor(async () => (await logsOf(flooder, waiting.id)).find((entry) => entry.metadata?.waiting === 'owner_max_queued'), 10_000, 'the waiting entry');
    expect(told.message).toMatch(/^waiting in its owner's backlog: the owner has \d+ runs queued or running \(OWNER_MAX_QUEUED is 15\) and \d+ earlier fires of the owner are waiting before it/);
    expect((await other.get(`/api/v1/executions/${waiting.id}/logs`)).status).toBe(404);

    const job = await create(other, { name: 'on time', labels: { batch: 'one' }, type: 'custom', payload: { handler: 'echo', data: { ok: true } } });
    const [mine] = await finishedExecutions(other, 'one', [job.id], 60_000);
    const flooded = await finishedExecutions(flooder, 'flood', flood.map((j: Json) => j.id), 120_000);

    // Every flooded execution was queued before this one, and most of them started after it: it did not wait its turn behind them.
    expect(flooded.every((e) => Date.parse(e.queuedAt) <= Date.parse(mine.queuedAt))).toBe(true);
    expect(startsAfter(flooded, mine.startedAt)).toBeGreaterThan(floodSize / 4);
    // One run each: one start in each execution's log; the deferred one said why it waited, then ran.
    const logs = await inBatches(flooded, (e) => logsOf(flooder, e.id));
    for (const log of logs) expect(log.filter((entry) => entry.message.startsWith('attempt 1 started'))).toHaveLength(1);
    const story = (await logsOf(flooder, waiting.id)).map((entry) => entry.metadata?.waiting ?? entry.message.split(' ')[0]);
    // (It may also have waited for a slot in the worker, while three runs of its owner were going on there.)
    expect(story.filter((step) => step !== 'worker_owner_concurrency')).toEqual(['owner_max_queued', 'attempt', 'succeeded']);
  }, 240_000);

  it('a worker killed with SIGKILL while work is deferred loses nothing and repeats no deferred run', async () => {
    // A target that answers after a second: each request is one run, and it holds the run long enough to be cut.
    const requests: { key: string; at: number }[] = [];
    const target: Server = createServer((req, res) => {
      requests.push({ key: String(req.headers['idempotency-key']), at: Date.now() });
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), 1000);
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    try {
      const survivor = await startChronosProcess('worker-2', { CHRONOS_ROLES: 'worker', ...shares });
      const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/run`;
      const jobs = await inBatches(Array.from({ length: 60 }, (_, i) => i), (i) => create(flooder, { name: `http-${i}`, labels: { batch: 'http' }, type: 'http', payload: { url } }));
      await waitFor(() => requests.length >= 3, 30_000, 'the first runs');
      const backlog = await chronos.infra.nats.jsm.streams.info(WORK_BACKLOG_STREAM);
      expect(backlog.state.messages).toBeGreaterThan(0);
      worker.kill('SIGKILL');
      await worker.exited;
      const killedAt = Date.now();
      worker = await startChronosProcess('worker-3', { CHRONOS_ROLES: 'worker', ...shares });

      await finishedExecutions(flooder, 'http', jobs.map((j: Json) => j.id), 120_000);
      const byKey = new Map<string, number[]>();
      for (const { key, at } of requests) byKey.set(key, [...(byKey.get(key) ?? []), at]);
      expect(byKey.size).toBe(jobs.length);
      // Only the runs in progress on the killed worker (at most its share, 3) ran again; nothing that waited did.
      const repeated = [...byKey.values()].filter((times) => times.length > 1);
      expect(repeated.length).toBeLessThanOrEqual(3);
      for (const times of repeated) {
        expect(times).toHaveLength(2);
        expect(times[0]).toBeLessThan(killedAt);
      }
      // One worker again for what follows.
      await worker.stop();
      worker = survivor;
    } finally {
      target.closeAllConnections();
      await new Promise((resolve) => target.close(resolve));
    }
  }, 240_000);

  it('an allow interval job of 1 s with long runs leaves another owner\'s job on time, and its waiting runs say why', async () => {
    const interval = await create(flooder, {
      name: 'every second, long',
      type: 'custom',
      payload: { handler: 'sleep', data: { ms: 10_000 } },
      timeoutMs: 60_000,
      schedule: { kind: 'interval', everyMs: 1000 },
      concurrencyPolicy: 'allow',
    });
    // More runs open than the worker has slots: without shares they would all be taken, and more would queue.
    await waitFor(async () => (await executionsOf(flooder, interval.id)).filter((e) => ['queued', 'running'].includes(e.status)).length >= 8, 30_000, '8 open runs');
    const job = await create(other, { name: 'on time too', labels: { batch: 'two' }, type: 'custom', payload: { handler: 'echo' } });
    const [mine] = await finishedExecutions(other, 'two', [job.id], 60_000);
    // Runs queued before it had not started when it did: it did not wait its turn behind them.
    const theirs = (await executionsOf(flooder, interval.id)).filter((e) => Date.parse(e.queuedAt) < Date.parse(mine.queuedAt));
    expect(theirs.filter((e) => !e.startedAt || Date.parse(e.startedAt) > Date.parse(mine.startedAt)).length).toBeGreaterThan(0);
    const parked = await waitFor(async () => {
      for (const execution of theirs) {
        const entry = (await logsOf(flooder, execution.id)).find((e) => e.metadata?.waiting === 'worker_owner_concurrency');
        if (entry) return entry;
      }
      return undefined;
    }, 10_000, 'a waiting run that says why');
    expect(parked.message).toBe(`waiting for a slot on worker ${worker.name}: its owner has 3 runs there (WORKER_OWNER_CONCURRENCY is 3)`);
    expect((await flooder.request('DELETE', `/api/v1/jobs/${interval.id}`)).status).toBe(204);
  }, 180_000);
});
