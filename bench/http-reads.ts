/**
 * Reads with many jobs: BENCH_READ_JOBS (100,000) jobs of one user, one of them with BENCH_READ_EXECUTIONS
 * (10,000) executions, read over HTTP with the user's token, BENCH_READ_IN_FLIGHT (16) requests in flight,
 * each read beside the floor: the very same answers (status, content type, bytes) served from memory by a
 * minimal node:http server in a process of its own (bench/floor-server.ts), measured by the same client in
 * the same run.
 *
 * The jobs are filled by direct appends: the benchmark process decides and appends each command itself
 * (JobRepository on the event log, as the API's command handler does, without HTTP), and Chronos's
 * projector builds the read models from the log as it would from any write. A tenth of the jobs are
 * paused, a tenth carry each label value; none fires during the run (yearly crons, instants a year away).
 * The many executions are runs of one job, each triggered, started and finished by direct appends, one after
 * another (what a worker appends; Chronos runs no worker here: through one, a job's queued runs wait behind
 * each other and, thousands queued, exhaust their deliveries).
 * After the fill the tables are vacuumed and analysed, as autovacuum would have done.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { JobRepository } from '../src/commands/job.repository.js';
import { ConcurrencyError } from '../src/domain/errors.js';
import { defaultRetryPolicy, withDefaults } from '../src/domain/job/job-spec.js';
import type { JobCommand } from '../src/domain/job/job.commands.js';
import type { Schedule } from '../src/domain/job/schedule.js';
import { JetStreamEventStore } from '../src/infra/jetstream-event-store.js';
import { EVENTS_STREAM } from '../src/events/streams.js';
import { NatsClients } from '../src/infra/nats.js';
import { READ_MODEL_NAMES } from '../src/projections/read-models.js';
import { benchConfig, resetChronosState, type ChronosBenchConnections } from './chronos.js';
import { benchLayout, startChronosProcesses } from './chronos-processes.js';
import { signUp, type BenchUser } from './bench-users.js';
import { HttpClient, load, type HttpAnswer, type LoadResult } from './http-client.js';
import { waitFor } from './http-submit.js';
import { underLoad, type MachineLoad } from './machine.js';
import { latenessStats } from './stats.js';

export interface ReadFigures {
  name: string;
  /** The path of the first request (GET /jobs/:id rotates over many ids). */
  path: string;
  chronos: Omit<LoadResult, 'samples'>;
  floor: Omit<LoadResult, 'samples'>;
  load: MachineLoad;
}

export interface ReadsResult {
  jobs: number;
  executions: number;
  requests: number;
  inFlight: number;
  layout: string;
  fill: string;
  fillMs: number;
  reads: ReadFigures[];
}

const FILL_IN_FLIGHT = 256;
const WARMUP_REQUESTS = 200;
/** GET /jobs/:id rotates over this many jobs. */
const SAMPLE_IDS = 200;

interface Read {
  name: string;
  paths: string[];
}

export async function chronosReads(opts: { jobs: number; executions: number; requests: number; inFlight: number } & ChronosBenchConnections): Promise<ReadsResult> {
  const config = benchConfig(opts);
  await resetChronosState(config);
  // No scheduler or worker: nothing is due, and the fill records the many runs itself (below).
  const processes = await startChronosProcesses('reads', benchLayout(), {}, ['projector']);
  const clients = processes.apiBases.map((base) => new HttpClient(base, Math.ceil(opts.inFlight / processes.apiBases.length)));
  const db = new pg.Client({ connectionString: config.databaseUrl });
  await db.connect();
  try {
    const user = await signUp(clients[0]!, 'reader');
    const fillStarted = performance.now();
    const { manyRunsJobId, sampleIds } = await fill(config.natsUrl, db, user, opts.jobs, opts.executions);
    const fillMs = Math.round(performance.now() - fillStarted);
    console.error(`[bench/reads] filled ${opts.jobs} jobs and ${opts.executions} executions in ${fillMs} ms`);

    const deepPage = Math.max(1, Math.floor(opts.jobs / 20 / 2));
    const reads: Read[] = [
      { name: 'list, page 1', paths: ['/api/v1/jobs?limit=20'] },
      { name: `list, page ${deepPage} (offset ${(deepPage - 1) * 20})`, paths: [`/api/v1/jobs?limit=20&page=${deepPage}`] },
      { name: 'list, status=paused', paths: ['/api/v1/jobs?status=paused&limit=20'] },
      { name: 'list, label team=t3, by name', paths: ['/api/v1/jobs?label=team%3Dt3&sort=name&order=asc&limit=20'] },
      { name: `GET /jobs/:id (${sampleIds.length} ids)`, paths: sampleIds.map((id) => `/api/v1/jobs/${id}`) },
      { name: `executions of a job with ${opts.executions}`, paths: [`/api/v1/jobs/${manyRunsJobId}/executions?limit=20`] },
    ];
    const headers = { authorization: user.authorization };
    const figures: ReadFigures[] = [];
    await processes.profiled('reads', async () => {
      for (const read of reads) {
        // The floor serves what Chronos answered, byte for byte.
        const answers = new Map<string, HttpAnswer>();
        for (const path of read.paths) {
          const answer = await clients[0]!.send({ method: 'GET', path, headers });
          if (answer.status !== 200) throw new Error(`GET ${path} answered ${answer.status}: ${answer.body.toString().slice(0, 300)}`);
          answers.set(path, answer);
        }
        const measured = await underLoad(async () => {
          const chronos = await measureRead(clients, read, headers, opts);
          const floor = await withFloorServer(answers, (floorClient) => measureRead([floorClient], read, headers, opts));
          return { chronos, floor };
        });
        figures.push({ name: read.name, path: read.paths[0]!, ...measured });
        console.error(`[bench/reads] ${read.name}: ${JSON.stringify(measured)}`);
      }
    });
    return { jobs: opts.jobs, executions: opts.executions, requests: opts.requests, inFlight: opts.inFlight, layout: processes.layout, fill: 'direct appends + projection', fillMs, reads: figures };
  } finally {
    for (const client of clients) client.close();
    await db.end();
    await processes.stop();
  }
}

/** WARMUP_REQUESTS unmeasured, then `requests` measured, spread over the clients (API processes). */
async function measureRead(clients: HttpClient[], read: Read, headers: Record<string, string>, opts: { requests: number; inFlight: number }): Promise<Omit<LoadResult, 'samples'>> {
  const run = async (count: number) => {
    const started = performance.now();
    const parts = await Promise.all(
      clients.map((client) =>
        load(client, {
          count: Math.ceil(count / clients.length),
          inFlight: Math.ceil(opts.inFlight / clients.length),
          next: (i) => ({ method: 'GET', path: read.paths[i % read.paths.length]!, headers }),
          check: (answer, i) => {
            if (answer.status !== 200) throw new Error(`${read.name}: request ${i} answered ${answer.status}: ${answer.body.toString().slice(0, 300)}`);
          },
        }),
      ),
    );
    const elapsedMs = performance.now() - started;
    const requests = parts.reduce((n, part) => n + part.requests, 0);
    return { requests, elapsedMs: Math.round(elapsedMs), requestsPerSecond: Math.round((requests / elapsedMs) * 1000), latency: latenessStats(parts.flatMap((part) => part.samples)) };
  };
  await run(WARMUP_REQUESTS);
  return run(opts.requests);
}

async function withFloorServer<T>(answers: Map<string, HttpAnswer>, measure: (client: HttpClient) => Promise<T>): Promise<T> {
  const server = fork(join(dirname(fileURLToPath(import.meta.url)), 'floor-server.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.once('message', (message: { port: number }) => resolve(message.port));
      server.once('exit', (code) => reject(new Error(`the floor server exited with ${code}`)));
      server.send(
        [...answers].map(([path, answer]) => ({
          path,
          status: answer.status,
          headers: { 'content-type': String(answer.headers['content-type']), ...(answer.headers.etag ? { etag: String(answer.headers.etag) } : {}) },
          body: answer.body.toString('base64'),
        })),
      );
    });
    const client = new HttpClient(`http://127.0.0.1:${port}`, 16);
    try {
      return await measure(client);
    } finally {
      client.close();
    }
  } finally {
    server.kill();
  }
}

/**
 * `jobs` jobs of `user` (every tenth paused, label team=t0…t9, yearly crons and instants a year away), and
 * one more job run `executions` times. Returns that job and a sample of the others.
 */
async function fill(natsUrl: string, db: pg.Client, user: BenchUser, jobs: number, executions: number) {
  const nats = await NatsClients.connect(natsUrl, 'chronos-bench-fill');
  const repository = new JobRepository(new JetStreamEventStore(nats.publisher, nats.jsm));
  const send = async (jobId: string, command: JobCommand) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await repository.execute(jobId, command, { commandId: randomUUID(), actor: `user:${user.id}`, correlationId: 'bench-fill' });
      } catch (error) {
        // Another process appending to the same job (none here, but cheap to allow): a conflict only means trying again.
        if (!(error instanceof ConcurrencyError) || attempt >= 20) throw error;
      }
    }
  };
  const create = (jobId: string, i: number, schedule: Schedule) =>
    send(jobId, {
      type: 'CreateJob',
      now: new Date(),
      data: {
        jobId,
        ownerId: user.id,
        executionId: randomUUID(),
        spec: withDefaults(
          { name: `job-${String(i).padStart(6, '0')}`, description: `benchmark job ${i}`, type: 'custom', payload: { handler: 'noop' }, schedule, labels: { team: `t${i % 10}` } },
          { retryPolicy: defaultRetryPolicy(), timeoutMs: 30_000 },
        ),
      },
    });
  const yearAway = Date.now() + 366 * 86_400_000;
  const sampleIds: string[] = [];
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: FILL_IN_FLIGHT }, async () => {
        while (next < jobs) {
          const i = next++;
          const jobId = randomUUID();
          const schedule: Schedule = i % 2 === 0 ? { kind: 'cron', expression: '0 0 1 1 *', timezone: 'UTC' } : { kind: 'at', runAt: new Date(yearAway + i * 1000).toISOString() };
          await create(jobId, i, schedule);
          if (i % 10 === 0) await send(jobId, { type: 'PauseJob', now: new Date(), data: {} });
          if (i % Math.max(1, Math.floor(jobs / SAMPLE_IDS)) === 0 && sampleIds.length < SAMPLE_IDS) sampleIds.push(jobId);
        }
      }),
    );
    const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params)).rows[0].n);
    const manyRunsJobId = randomUUID();
    await create(manyRunsJobId, jobs, { kind: 'cron', expression: '0 0 1 1 *', timezone: 'UTC' });
    for (let i = 0; i < executions; i++) {
      const executionId = randomUUID();
      const startedAt = new Date();
      await send(manyRunsJobId, { type: 'TriggerJob', now: startedAt, data: { executionId } });
      await send(manyRunsJobId, { type: 'StartExecution', now: startedAt, data: { executionId, workerId: 'bench-fill' } });
      await send(manyRunsJobId, { type: 'FinishExecution', now: new Date(), data: { executionId, workerId: 'bench-fill', outcome: 'succeeded', startedAt: startedAt.toISOString() } });
    }
    await waitFor(() => count(`SELECT count(*)::int AS n FROM jobs`), jobs + 1);
    await waitFor(() => count(`SELECT count(*)::int AS n FROM executions WHERE job_id = $1 AND status = 'succeeded'`, [manyRunsJobId]), executions);
    // Every read model at the end of the log, so that nothing is being projected while reads are measured.
    const end = (await nats.jsm.streams.info(EVENTS_STREAM)).state.last_seq;
    await waitFor(() => count(`SELECT min(position)::bigint AS n FROM projection_checkpoints WHERE name = ANY($1::text[])`, [READ_MODEL_NAMES]), end);
    await db.query('VACUUM ANALYZE jobs');
    await db.query('VACUUM ANALYZE executions');
    return { manyRunsJobId, sampleIds };
  } finally {
    await nats.close();
  }
}
