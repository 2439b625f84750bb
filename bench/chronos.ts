/**
 * Chronos side of the benchmark.
 *
 * Every scenario runs on a clean slate: the JetStream streams (event log, work queue, lease bucket) are
 * deleted, the read-model schema is dropped and migrated again, and a fresh in-process Chronos (all roles,
 * HTTP on an ephemeral port, logging errors only) is started. Jobs go in through the command bus, exactly
 * as the REST API submits them, minus HTTP; completion and timings are read from the `executions` read
 * model in PostgreSQL.
 *
 * Set BENCH_TRACE=1 to print, once a second, where the pipeline stands (executions by status, projection
 * checkpoints, event-log length, work-queue backlog) to stderr.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { JetStreamApiCodes, jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { startChronos, type ChronosApp } from '../src/app.js';
import { JobCommands } from '../src/commands/job-commands.js';
import { loadConfig, type ChronosConfig } from '../src/config.js';
import { defaultRetryPolicy, withDefaults } from '../src/domain/job/job-spec.js';
import type { CreateJob } from '../src/domain/job/job.commands.js';
import type { Schedule } from '../src/domain/job/schedule.js';
import { runMigrations } from '../src/infra/database/data-source.js';
import { bucketStream, EVENTS_STREAM, LEASE_BUCKET, WORK_BACKLOG_STREAM, WORK_STREAM, WORKERS_CONSUMER } from '../src/events/streams.js';
import { latenessStats, type LatenessStats } from './stats.js';

/** Commands in flight while submitting (the REST API would see this many concurrent requests). */
export const BENCH_OWNER_ID = '00000000-0000-4000-8000-00000000b0b0';
const SUBMIT_CONCURRENCY = Number(process.env.BENCH_SUBMIT_CONCURRENCY) || 256;
const POLL_MS = 50;
/**
 * Give up when the watched count does not move for this long (guards against hangs). Longer than the
 * 60 s ack_wait of the event-log consumers, so a consumer that only recovers by redelivery still finishes.
 */
const STALL_TIMEOUT_MS = 180_000;
const TRACE = process.env.BENCH_TRACE === '1';

export interface ChronosBenchConnections {
  natsUrl?: string;
  databaseUrl?: string;
  redisUrl?: string;
}

export interface ChronosThroughputResult {
  jobsPerSecond: number;
  jobs: number;
  elapsedMs: number;
  /** Time to get every CreateJob command accepted (appended to the event log). */
  submitMs: number;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** All roles on the given servers, HTTP on an ephemeral port; `env` adds or overrides settings. */
export function benchConfig(conn: ChronosBenchConnections, env: Record<string, string> = {}): ChronosConfig {
  return loadConfig({
    ...process.env,
    PORT: '0',
    CHRONOS_ROLES: 'api,scheduler,worker,projector',
    ...(conn.natsUrl ? { NATS_URL: conn.natsUrl } : {}),
    ...(conn.databaseUrl ? { DATABASE_URL: conn.databaseUrl } : {}),
    ...(conn.redisUrl ? { REDIS_URL: conn.redisUrl } : {}),
    ...env,
  });
}

/** Deletes Chronos' streams (event log, work queue and its backlog) and lease bucket, and rebuilds the read-model schema from the migrations. */
export async function resetChronosState(config: ChronosConfig): Promise<void> {
  const nc = await connect({ servers: config.natsUrl, name: 'chronos-bench-reset' });
  try {
    const jsm = await jetstreamManager(nc);
    for (const name of [EVENTS_STREAM, WORK_STREAM, WORK_BACKLOG_STREAM, bucketStream(LEASE_BUCKET)]) {
      try {
        await jsm.streams.delete(name);
      } catch (error) {
        if ((error as { code?: number }).code !== JetStreamApiCodes.StreamNotFound) throw error;
      }
    }
  } finally {
    await nc.drain().catch(() => nc.close());
  }
  const client = new pg.Client({ connectionString: config.databaseUrl });
  await client.connect();
  try {
    await client.query('DROP SCHEMA public CASCADE');
    await client.query('CREATE SCHEMA public');
  } finally {
    await client.end();
  }
  await runMigrations(config.databaseUrl);
}

async function startQuietChronos(config: ChronosConfig): Promise<ChronosApp> {
  return startChronos({ ...config, logLevel: 'error' });
}

function createJob(chronos: ChronosApp, schedule: Schedule, i: number): Promise<unknown> {
  const jobId = randomUUID();
  const spec = withDefaults(
    { name: `bench-${i}`, type: 'custom', payload: { handler: 'noop' }, schedule },
    { retryPolicy: defaultRetryPolicy(), timeoutMs: 30_000 },
  );
  const command: CreateJob = {
    type: 'CreateJob',
    now: new Date(),
    data: { jobId, ownerId: BENCH_OWNER_ID, spec, executionId: randomUUID() },
  };
  return chronos.app.get(JobCommands).send(jobId, command, { commandId: randomUUID(), actor: 'bench', correlationId: 'bench' });
}

/** Sends `count` create commands with at most SUBMIT_CONCURRENCY in flight; the first error aborts. */
async function submitJobs(chronos: ChronosApp, config: ChronosConfig, count: number, schedule: () => Schedule, progress?: { submitted: number }): Promise<void> {
  let next = 0;
  let failed: unknown;
  const lane = async (): Promise<void> => {
    while (failed === undefined) {
      const i = next++;
      if (i >= count) return;
      try {
        await createJob(chronos, schedule(), i);
        if (progress) progress.submitted++;
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SUBMIT_CONCURRENCY, count) }, lane));
  if (failed !== undefined) throw failed;
}

async function countExecutions(chronos: ChronosApp, statuses: string[]): Promise<number> {
  const [row] = await chronos.infra.dataSource.query(`SELECT count(*)::int AS n FROM executions WHERE status = ANY($1::text[])`, [statuses]);
  return Number(row.n);
}

/** Polls until `count()` reaches `target`; throws if it stops moving for STALL_TIMEOUT_MS. */
async function waitForCount(label: string, target: number, count: () => Promise<number>): Promise<void> {
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    const n = await count();
    if (n >= target) return;
    const now = performance.now();
    if (n !== last) {
      last = n;
      lastChange = now;
    } else if (now - lastChange > STALL_TIMEOUT_MS) {
      throw new Error(`Chronos benchmark stalled: ${label} ${n}/${target}, unchanged for ${STALL_TIMEOUT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** BENCH_TRACE=1: one line a second with the state of each pipeline stage. */
function startTrace(label: string, chronos: ChronosApp, progress: { submitted: number }): () => void {
  if (!TRACE) return () => undefined;
  const t0 = performance.now();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      try {
        const db = chronos.infra.dataSource;
        const byStatus: { status: string; n: number }[] = await db.query(`SELECT status, count(*)::int AS n FROM executions GROUP BY status ORDER BY status`);
        const checkpoints: { name: string; position: string }[] = await db.query(`SELECT name, position FROM projection_checkpoints ORDER BY name`);
        const [{ n: timers }] = await db.query(`SELECT count(*)::int AS n FROM timers`);
        const events = await chronos.infra.nats.jsm.streams.info(EVENTS_STREAM);
        const work = await chronos.infra.nats.jsm.consumers.info(WORK_STREAM, WORKERS_CONSUMER).catch(() => undefined);
        const backlog = await chronos.infra.nats.jsm.streams.info(WORK_BACKLOG_STREAM).catch(() => undefined);
        const consumers = await Promise.all(
          ['read-models', 'reactor'].map(async (name) => {
            const info = await chronos.infra.nats.jsm.consumers.info(EVENTS_STREAM, name).catch(() => undefined);
            return `${name.replace(/^(projection|saga)-/, '')}=${info ? info.delivered.stream_seq - info.num_ack_pending : '?'}`;
          }),
        );
        console.error(
          `[trace ${label} +${((performance.now() - t0) / 1000).toFixed(1)}s] submitted=${progress.submitted}` +
            ` events.lastSeq=${events.state.last_seq} acked{${consumers.join(' ')}}` +
            ` checkpoints{${checkpoints.map((c) => `${c.name}=${c.position}`).join(' ')}} timers=${timers}` +
            ` work{pending=${work?.num_pending ?? '?'} ackPending=${work?.num_ack_pending ?? '?'} backlog=${backlog?.state.messages ?? '?'}}` +
            ` executions{${byStatus.map((s) => `${s.status}=${s.n}`).join(' ')}}`,
        );
      } catch (error) {
        console.error(`[trace ${label}] ${(error as Error).message}`);
      } finally {
        busy = false;
      }
    })();
  }, 1000);
  return () => clearInterval(timer);
}

/**
 * Throughput: `jobs` immediate custom:noop jobs submitted through the command bus (SUBMIT_CONCURRENCY
 * in flight), timed from the first submit until the executions read model shows every one succeeded.
 */
export async function chronosThroughput(opts: { jobs: number } & ChronosBenchConnections): Promise<ChronosThroughputResult> {
  const config = benchConfig(opts);
  await resetChronosState(config);
  const chronos = await startQuietChronos(config);
  const progress = { submitted: 0 };
  const stopTrace = startTrace('throughput', chronos, progress);
  try {
    const start = performance.now();
    let submitMs = 0;
    let submitError: unknown;
    const submitted = submitJobs(chronos, config, opts.jobs, () => ({ kind: 'immediate' }), progress).then(
      () => void (submitMs = performance.now() - start),
      (error: unknown) => void (submitError = error),
    );
    // Completion is watched while submitting; a failed submit ends the wait with its error.
    await waitForCount('succeeded executions', opts.jobs, async () => {
      if (submitError !== undefined) throw submitError;
      return countExecutions(chronos, ['succeeded']);
    });
    await submitted;
    const elapsedMs = performance.now() - start;
    return {
      jobsPerSecond: round1((opts.jobs / elapsedMs) * 1000),
      jobs: opts.jobs,
      elapsedMs: round1(elapsedMs),
      submitMs: round1(submitMs),
    };
  } finally {
    stopTrace();
    await chronos.close();
  }
}

/**
 * Lateness: `jobs` one-off jobs all due at T = now + leadMs (`{ kind: 'at', runAt: T }`). Once every
 * execution has finished, lateness = started_at (when the worker began the run) - T, per execution.
 */
export async function chronosLateness(opts: { jobs: number; leadMs: number } & ChronosBenchConnections): Promise<LatenessStats> {
  const config = benchConfig(opts);
  await resetChronosState(config);
  const chronos = await startQuietChronos(config);
  const progress = { submitted: 0 };
  const stopTrace = startTrace('lateness', chronos, progress);
  try {
    const createStart = Date.now();
    const T = createStart + opts.leadMs;
    const runAt = new Date(T).toISOString();
    await submitJobs(chronos, config, opts.jobs, () => ({ kind: 'at', runAt }), progress);
    const createdAt = Date.now();
    const createMs = createdAt - createStart;
    if (createdAt > T) {
      console.warn(`[bench/chronos] creating ${opts.jobs} jobs took ${createMs} ms, longer than leadMs=${opts.leadMs}; lateness is inflated`);
    } else {
      console.error(`[bench/chronos] created ${opts.jobs} 'at' jobs in ${createMs} ms (${T - createdAt} ms before they are due)`);
    }
    const finished = ['succeeded', 'failed', 'timed_out'];
    await waitForCount('finished executions', opts.jobs, () => countExecutions(chronos, finished));
    const rows: { ms: number; status: string }[] = await chronos.infra.dataSource.query(
      `SELECT EXTRACT(EPOCH FROM started_at) * 1000 AS ms, status FROM executions`,
    );
    const notSucceeded = rows.filter((r) => r.status !== 'succeeded').length;
    if (notSucceeded > 0) console.warn(`[bench/chronos] ${notSucceeded} of ${rows.length} executions did not succeed`);
    if (rows.length !== opts.jobs) console.warn(`[bench/chronos] expected ${opts.jobs} executions, found ${rows.length}`);
    return latenessStats(rows.map((r) => Number(r.ms) - T));
  } finally {
    stopTrace();
    await chronos.close();
  }
}
