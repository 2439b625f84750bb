/**
 * Submission over HTTP, the path users take: one `POST /api/v1/jobs` per job (`custom` `noop`, `immediate`),
 * BENCH_HTTP_IN_FLIGHT (32) requests in flight over keep-alive connections, spread over 4 users with their
 * own bearer tokens, against Chronos in processes of its own (bench/chronos-processes.ts); or, with
 * `batchSize` > 1, `POST /api/v1/jobs/batch` of that many bodies each (the bulk scenario). Accepted: every
 * job created. Completed: every execution `succeeded` in the read model.
 */
import pg from 'pg';
import { benchConfig, resetChronosState, type ChronosBenchConnections } from './chronos.js';
import { benchLayout, startChronosProcesses } from './chronos-processes.js';
import { cpuPerJob, cpuSnapshot } from './cpu.js';
import { signUpMany, type BenchUser } from './bench-users.js';
import { HttpClient, load, type HttpRequest } from './http-client.js';
import { latenessStats, type LatenessStats } from './stats.js';

export interface SubmitResult {
  jobs: number;
  inFlight: number;
  /** Jobs accepted per second: all answered 201. */
  acceptedPerSecond: number;
  /** Jobs completed per second, from the first request until the last job's run is recorded. */
  completedPerSecond: number;
  acceptMs: number;
  completeMs: number;
  /** Latency of one submission (Chronos: the POST; BullMQ: `queue.add`), ms. */
  latency: LatenessStats;
  /** CPU per job of each process while measured (bench/cpu.ts), ms: `client` is the benchmark process. */
  cpuMsPerJob: Record<string, number>;
}

const POLL_MS = 100;
const STALL_MS = 120_000;

export const noopJob = (name: string) => ({ name, type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'immediate' } });

/** `jobs` submissions after `warmup` ones (submitted and completed first, not counted). */
export async function chronosHttpSubmit(
  opts: { jobs: number; warmup: number; inFlight: number; users: number; batchSize?: number; build?: string } & ChronosBenchConnections,
): Promise<SubmitResult & { layout: string }> {
  const batchSize = opts.batchSize ?? 1;
  const config = benchConfig(opts);
  await resetChronosState(config);
  const processes = await startChronosProcesses(opts.build ? 'baseline' : 'submit', benchLayout(), {}, undefined, opts.build);
  const clients = processes.apiBases.map((base) => new HttpClient(base, Math.ceil(opts.inFlight / processes.apiBases.length)));
  const db = new pg.Client({ connectionString: config.databaseUrl });
  await db.connect();
  try {
    const users = await signUpMany(clients[0]!, 'submit', opts.users);
    const succeeded = async () => Number((await db.query(`SELECT count(*)::int AS n FROM executions WHERE status = 'succeeded'`)).rows[0].n);
    await submitOverHttp(clients, users, 'warmup', opts.warmup, opts.inFlight, batchSize);
    await waitFor(succeeded, opts.warmup);
    const { submitted, acceptMs, completeMs, cpu } = await processes.profiled(`${opts.build ? 'baseline-' : ''}${batchSize === 1 ? 'submit' : 'bulk'}`, async () => {
      const cpuBefore = cpuSnapshot({ chronos: processes.pids });
      const started = performance.now();
      const submitted = await submitOverHttp(clients, users, 'job', opts.jobs, opts.inFlight, batchSize);
      const acceptMs = performance.now() - started;
      await waitFor(succeeded, opts.warmup + opts.jobs);
      const completeMs = performance.now() - started;
      return { submitted, acceptMs, completeMs, cpu: cpuPerJob(cpuBefore, cpuSnapshot({ chronos: processes.pids }), opts.jobs) };
    });
    return { ...rates(opts.jobs, opts.inFlight, acceptMs, completeMs, submitted.latency, cpu), layout: processes.layout };
  } finally {
    for (const client of clients) client.close();
    await db.end();
    await processes.stop();
  }
}

/** Request i goes to user i mod users, and to the API process i mod processes; `batchSize` jobs per request. */
async function submitOverHttp(clients: HttpClient[], users: BenchUser[], label: string, count: number, inFlight: number, batchSize: number) {
  if (count === 0) return { latency: latenessStats([]) };
  const lanesPerClient = Math.ceil(inFlight / clients.length);
  const results = await Promise.all(
    clients.map((client, c) => {
      const share = Math.floor(count / clients.length) + (c < count % clients.length ? 1 : 0);
      return load(client, {
        count: Math.ceil(share / batchSize),
        inFlight: lanesPerClient,
        next: (i): HttpRequest => {
          const authorization = users[i % users.length]!.authorization;
          if (batchSize === 1) return { method: 'POST', path: '/api/v1/jobs', headers: { authorization }, body: noopJob(`${label}-${c}-${i}`) };
          const size = Math.min(batchSize, share - i * batchSize);
          return { method: 'POST', path: '/api/v1/jobs/batch', headers: { authorization }, body: { jobs: Array.from({ length: size }, (_, j) => noopJob(`${label}-${c}-${i}-${j}`)) } };
        },
        check: (answer) => {
          const expected = batchSize === 1 ? 201 : 200;
          if (answer.status !== expected) throw new Error(`POST answered ${answer.status}: ${answer.body.toString().slice(0, 300)}`);
          if (batchSize > 1 && (JSON.parse(answer.body.toString()) as { items: Array<{ id?: string }> }).items.some((item) => !item.id)) {
            throw new Error(`a batch item was refused: ${answer.body.toString().slice(0, 300)}`);
          }
        },
      });
    }),
  );
  return { latency: latenessStats(results.flatMap((r) => r.samples)) };
}

export function rates(jobs: number, inFlight: number, acceptMs: number, completeMs: number, latency: LatenessStats, cpuMsPerJob: Record<string, number>): SubmitResult {
  const perSecond = (ms: number) => Math.round((jobs / ms) * 1000);
  return { jobs, inFlight, acceptedPerSecond: perSecond(acceptMs), completedPerSecond: perSecond(completeMs), acceptMs: Math.round(acceptMs), completeMs: Math.round(completeMs), latency, cpuMsPerJob };
}

/** Polls until `count()` reaches `target`; throws when it stops moving for STALL_MS. */
export async function waitFor(count: () => Promise<number>, target: number): Promise<void> {
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    const n = await count();
    if (n >= target) return;
    if (n !== last) [last, lastChange] = [n, performance.now()];
    else if (performance.now() - lastChange > STALL_MS) throw new Error(`stalled at ${n} of ${target} for ${STALL_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
