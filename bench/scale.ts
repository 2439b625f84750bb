/**
 * `npm run bench -- scale` (issue 17): what costs grow with the number of schedules and the age of a job.
 *
 * - BENCH_SCALE_SCHEDULES (100,000) interval schedules created through POST /api/v1/jobs/batch, 1,000 a request,
 *   spread so that together they fire BENCH_SCALE_RATE (200) times a second; accepted/s.
 * - The active scheduler's RSS (a process of the scheduler role alone) and the fire lateness (JobFired's firedAt −
 *   its instant, FIRE_AHEAD_MS=0 so that every fire is measured) over BENCH_SCALE_STEADY_S (60) seconds of steady load.
 * - Failover: the active scheduler killed with SIGKILL, the time until a standby's first fire.
 * - A job with BENCH_SCALE_HISTORY (100,000) events against a fresh one: trigger, GET /jobs/:id, GET its events page 1,
 *   each warm (median of 20) and cold (the first read of an API process started afterwards: its snapshot and the tail).
 * - A rebuild of the jobs read model: events per second.
 * Results: printed, and written to bench/results/scale.json.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { headers as natsHeaders } from '@nats-io/transport-node';
import pg from 'pg';
import { NatsClients } from '../src/infra/nats.js';
import { EVENT_TYPES_HEADER, eventSubject } from '../src/events/streams.js';
import { signUp } from './bench-users.js';
import { startChronosProcess } from './chronos-processes.js';
import { positiveInt } from './env.js';
import { HttpClient } from './http-client.js';

const SCHEDULES = positiveInt('BENCH_SCALE_SCHEDULES', 100_000);
const RATE = positiveInt('BENCH_SCALE_RATE', 200);
const STEADY_S = positiveInt('BENCH_SCALE_STEADY_S', 60);
const HISTORY = positiveInt('BENCH_SCALE_HISTORY', 100_000);
const ADMIN = { email: 'scale-admin@example.com', password: 'Sc4leAdminPassword' };
const env = { FIRE_AHEAD_MS: '0', CHRONOS_ADMIN_EMAIL: ADMIN.email, CHRONOS_ADMIN_PASSWORD: ADMIN.password, READ_YOUR_WRITES_WAIT_MS: '0' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const median = (values: number[]) => quantile([...values].sort((a, b) => a - b), 0.5);

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

async function main(): Promise<void> {
  const db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
  const nats = await NatsClients.connect(process.env.NATS_URL!, 'bench-scale');
  const result: Record<string, unknown> = { schedules: SCHEDULES, rate: RATE, loadBefore: loadAverage() };
  const core = await startChronosProcess('scale-core', 'api,projector,worker', env);
  const schedulerA = await startChronosProcess('scale-scheduler-a', 'scheduler', { ...env, CHRONOS_INSTANCE_ID: 'scheduler-a' });
  const schedulerB = await startChronosProcess('scale-scheduler-b', 'scheduler', { ...env, CHRONOS_INSTANCE_ID: 'scheduler-b' });
  const schedulers = { 'scheduler-a': schedulerA, 'scheduler-b': schedulerB };
  const http = new HttpClient(core.base, 32);
  try {
    const user = await signUp(http, 'scale');
    const auth = { authorization: user.authorization };

    // 1. Schedules through the bulk endpoint, spread over the fire rate.
    const periodMs = Math.round((SCHEDULES / RATE) * 1000);
    const firstAt = Date.now() + 60_000;
    const body = (i: number) => ({
      name: `scale ${i}`,
      type: 'custom',
      payload: { handler: 'noop' },
      schedule: { kind: 'interval', everyMs: periodMs, startAt: new Date(firstAt + Math.floor((i * 1000) / RATE)).toISOString() },
    });
    const createStart = performance.now();
    const inFlight = 4;
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        for (let from = (next += 1000) - 1000; from < SCHEDULES; from = (next += 1000) - 1000) {
          const jobs = Array.from({ length: Math.min(1000, SCHEDULES - from) }, (_, k) => body(from + k));
          const answer = await http.json<{ items: { id?: string }[] }>({ method: 'POST', path: '/api/v1/jobs/batch', headers: auth, body: { jobs } }, 200);
          if (answer.items.some((item) => !item.id)) throw new Error('a schedule was refused');
        }
      }),
    );
    const createSeconds = (performance.now() - createStart) / 1000;
    result.create = { seconds: Math.round(createSeconds), acceptedPerSecond: Math.round(SCHEDULES / createSeconds) };
    console.log(`created ${SCHEDULES} schedules in ${createSeconds.toFixed(0)} s (${Math.round(SCHEDULES / createSeconds)}/s)`);
    for (;;) {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM timers`);
      if (rows[0].n >= SCHEDULES) break;
      await sleep(1000);
    }

    // 2. Steady firing: lateness and the active scheduler's RSS.
    const waitUntil = firstAt + periodMs + 5_000; // every schedule has fired once: the scheduler holds what it will hold
    if (Date.now() < waitUntil && periodMs < 600_000) await sleep(Math.max(0, Math.min(firstAt + 10_000, waitUntil) - Date.now()));
    else await sleep(Math.max(0, firstAt + 10_000 - Date.now()));
    const steadyFrom = new Date();
    let rssMax = 0;
    for (let s = 0; s < STEADY_S; s++) {
      rssMax = Math.max(rssMax, ...Object.values(schedulers).map((p) => rssMiB(p.pid)));
      await sleep(1000);
    }
    const steadyTo = new Date();
    await sleep(3000);
    const { rows: lateRows } = await db.query(
      `SELECT EXTRACT(EPOCH FROM (queued_at - scheduled_at)) * 1000 AS ms FROM executions WHERE trigger = 'schedule' AND scheduled_at >= $1 AND scheduled_at < $2 ORDER BY 1`,
      [steadyFrom, steadyTo],
    );
    const lateness = lateRows.map((r) => Number(r.ms));
    result.steady = {
      seconds: STEADY_S,
      fires: lateness.length,
      firesPerSecond: Math.round(lateness.length / STEADY_S),
      latenessMs: { p50: Math.round(quantile(lateness, 0.5)), p99: Math.round(quantile(lateness, 0.99)), max: Math.round(lateness.at(-1) ?? NaN) },
      schedulerRssMiB: Math.round(rssMax),
    };
    console.log('steady', JSON.stringify(result.steady));

    // 3. Failover: kill the active scheduler, time the standby's first fire.
    const leases = await nats.kvm.open('chronos_leases');
    const holder = (await leases.get('scheduler'))?.string() as keyof typeof schedulers;
    const active = schedulers[holder];
    const killedAt = Date.now();
    active.kill();
    let resumedMs = NaN;
    for (let i = 0; i < 300 && Number.isNaN(resumedMs); i++) {
      await sleep(100);
      // Fires of the killed process still in flight land within a few ms of the kill; the standby's come after its lease.
      const { rows } = await db.query(`SELECT min(queued_at) AS at FROM executions WHERE trigger IN ('schedule','misfire') AND queued_at > $1`, [new Date(killedAt + 500)]);
      if (rows[0].at) resumedMs = rows[0].at.getTime() - killedAt;
    }
    result.failover = { killed: holder, resumedFiringAfterMs: Math.round(resumedMs), leaseTtlMs: 5000 };
    console.log('failover', JSON.stringify(result.failover));

    // 4. A job with a long history against a fresh one.
    const create = (name: string) =>
      http.json<{ id: string }>({ method: 'POST', path: '/api/v1/jobs', headers: auth, body: { name, type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'cron', expression: '0 0 1 1 *' } } }, 201);
    const old = await create('old');
    const fresh = await create('fresh');
    const fillStart = performance.now();
    const subject = eventSubject('job', old.id);
    const h = natsHeaders();
    h.set(EVENT_TYPES_HEADER, 'NotificationSent@1');
    for (let i = 0; i < HISTORY; i += 1000) {
      await Promise.all(
        Array.from({ length: Math.min(1000, HISTORY - i) }, () => {
          const message = {
            aggregateType: 'job', aggregateId: old.id, commandId: randomUUID(), actor: 'bench', correlationId: 'bench', occurredAt: new Date().toISOString(),
            events: [{ id: randomUUID(), type: 'NotificationSent', version: 1, data: { jobId: old.id, notificationId: randomUUID(), channel: 'email', trigger: 'failure', executionId: randomUUID(), to: 'a@example.com', attempts: 1, sentAt: new Date().toISOString() } }],
          };
          return nats.js.publish(subject, JSON.stringify(message), { headers: h });
        }),
      );
    }
    console.log(`appended ${HISTORY} events in ${((performance.now() - fillStart) / 1000).toFixed(0)} s`);
    const reads = async (base: string, id: string) => {
      const client = new HttpClient(base, 4);
      const get = async (path: string) => {
        const answer = await client.send({ method: 'GET', path, headers: auth });
        if (answer.status !== 200) throw new Error(`GET ${path}: ${answer.status}`);
      };
      const cold = { job: await timed(() => get(`/api/v1/jobs/${id}`)), eventsPage1: await timed(() => get(`/api/v1/jobs/${id}/events?page=1`)) };
      const warm = { trigger: [] as number[], job: [] as number[], eventsPage1: [] as number[] };
      for (let i = 0; i < 20; i++) {
        warm.trigger.push(await timed(() => client.send({ method: 'POST', path: `/api/v1/jobs/${id}/trigger`, headers: auth })));
        warm.job.push(await timed(() => get(`/api/v1/jobs/${id}`)));
        warm.eventsPage1.push(await timed(() => get(`/api/v1/jobs/${id}/events?page=1`)));
      }
      client.close();
      return { coldMs: { job: Math.round(cold.job), eventsPage1: Math.round(cold.eventsPage1) }, warmMedianMs: Object.fromEntries(Object.entries(warm).map(([k, v]) => [k, Number(median(v).toFixed(1))])) };
    };
    // The first API process folds the long history once (no snapshot yet) and snapshots it.
    const firstFold = await timed(() => http.send({ method: 'GET', path: `/api/v1/jobs/${old.id}`, headers: auth }));
    await sleep(1000);
    // A new API process has neither job cached: its first read of each is a cold load (snapshot + tail).
    const reader = await startChronosProcess('scale-reader', 'api', env);
    const history = { firstFoldWithoutSnapshotMs: Math.round(firstFold), old: await reads(reader.base, old.id), fresh: await reads(reader.base, fresh.id) };
    await reader.stop();
    result.history = { events: HISTORY, ...history };
    console.log('history', JSON.stringify(result.history));

    // 5. Rebuild of the jobs read model.
    const { accessToken } = await http.json<{ accessToken: string }>({ method: 'POST', path: '/api/v1/auth/login', body: ADMIN }, 200);
    const admin = { authorization: `Bearer ${accessToken}` };
    await http.json({ method: 'POST', path: '/api/v1/admin/projections/jobs/rebuild', headers: admin }, 202);
    for (;;) {
      await sleep(1000);
      const { rows } = await db.query(
        `SELECT status, position::bigint AS position, EXTRACT(EPOCH FROM (finished_at - started_at)) AS seconds FROM projection_rebuilds WHERE name = 'jobs' ORDER BY started_at DESC LIMIT 1`,
      );
      if (rows[0]?.status && rows[0].status !== 'running') {
        const { position, seconds, status } = rows[0];
        // The position is the log's stream sequence: one message per command, one to three events each here.
        result.rebuild = { status, logMessages: Number(position), seconds: Number(Number(seconds).toFixed(1)), messagesPerSecond: Math.round(Number(position) / Number(seconds)) };
        break;
      }
    }
    console.log('rebuild', JSON.stringify(result.rebuild));
    result.loadAfter = loadAverage();
  } finally {
    http.close();
    await Promise.all([core.stop(), schedulerA.stop(), schedulerB.stop()]);
    await nats.close();
    await db.end();
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/scale.json', `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
  }
}

await main();
