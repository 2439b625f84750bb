/**
 * What read-your-writes costs a write: the latency of POST /api/v1/jobs over HTTP, answered after the read
 * models have passed the write (READ_YOUR_WRITES_WAIT_MS at its default) and answered without waiting
 * (READ_YOUR_WRITES_WAIT_MS=0), measured in the same run.
 *
 * One Chronos runs the projector, scheduler and worker roles; two API instances run beside it, the same in
 * all but the setting, on the same event log and read models. The client sends the same requests to both,
 * in alternating rounds, so drift (a growing log, a warming cache, a neighbour on the machine) falls on both
 * alike. The jobs are yearly crons: they do not fire during the run, so the figure is the write's own.
 */
import { startChronos, type ChronosApp } from '../src/app.js';
import type { ChronosConfig } from '../src/config.js';
import { READ_MODELS_HEADER } from '../src/http/read-your-writes/read-your-writes.interceptor.js';
import { benchConfig, resetChronosState, type ChronosBenchConnections } from './chronos.js';
import { signUp } from './bench-users.js';
import { HttpClient } from './http-client.js';
import { ratio } from './report.js';
import { latenessStats, type LatenessStats } from './stats.js';

export interface WriteLatencyArm extends LatenessStats {
  /** Answers whose X-Chronos-Read-Models said `lagging`. */
  lagging: number;
}

export interface WriteLatencyResult {
  /** READ_YOUR_WRITES_WAIT_MS of the waiting API instance (the default). */
  waitMs: number;
  concurrency: number;
  waiting: WriteLatencyArm;
  notWaiting: WriteLatencyArm;
  /** waiting − not waiting, in ms, and waiting / not waiting, at p50 and p99. */
  delta: { p50: number; p99: number };
  ratio: { p50: number; p99: number };
}

const ROUND_REQUESTS = 100;

// The benchmark's client is one user sending thousands of requests.
const config = (conn: ChronosBenchConnections, env: Record<string, string>) => benchConfig(conn, { RATE_LIMIT_PER_HOUR: '0', ...env });

/** `requests` creates per arm, `concurrency` in flight, alternating arms every ROUND_REQUESTS. */
export async function writeLatency(opts: { requests: number; concurrency: number } & ChronosBenchConnections): Promise<WriteLatencyResult> {
  const waitingConfig = config(opts, { CHRONOS_ROLES: 'api' });
  await resetChronosState(waitingConfig);
  const apps: ChronosApp[] = [];
  const start = async (c: ChronosConfig) => {
    const app = await startChronos({ ...c, logLevel: 'error' });
    apps.push(app);
    return app;
  };
  try {
    await start(config(opts, { CHRONOS_ROLES: 'projector,scheduler,worker' }));
    const waiting = await start(waitingConfig);
    const notWaiting = await start(config(opts, { CHRONOS_ROLES: 'api', READ_YOUR_WRITES_WAIT_MS: '0' }));
    const arms = [waiting, notWaiting].map((app) => ({ base: `http://127.0.0.1:${app.port}`, samples: [] as number[], lagging: 0 }));
    const signUpClient = new HttpClient(arms[0]!.base, 1);
    const { token } = await signUp(signUpClient, 'write').finally(() => signUpClient.close());

    let sent = 0;
    for (let round = 0; sent < opts.requests; round++) {
      const count = Math.min(ROUND_REQUESTS, opts.requests - sent);
      // Each round starts with the other arm: neither always follows the other's burst.
      for (const arm of round % 2 === 0 ? arms : [...arms].reverse()) {
        await inParallel(count, opts.concurrency, async (i) => {
          const startedAt = performance.now();
          const res = await fetch(`${arm.base}/api/v1/jobs`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ name: `write-${round}-${i}`, type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'cron', expression: '0 0 1 1 *' } }),
          });
          await res.arrayBuffer();
          if (res.status !== 201) throw new Error(`POST /api/v1/jobs answered ${res.status}`);
          arm.samples.push(performance.now() - startedAt);
          if (res.headers.get(READ_MODELS_HEADER) === 'lagging') arm.lagging++;
        });
      }
      sent += count;
    }
    const [withWait, withoutWait] = arms.map((arm) => ({ ...latenessStats(arm.samples), lagging: arm.lagging }));
    const delta = (k: 'p50' | 'p99') => Math.round((withWait![k] - withoutWait![k]) * 10) / 10;
    return {
      waitMs: waitingConfig.readYourWritesWaitMs,
      concurrency: opts.concurrency,
      waiting: withWait!,
      notWaiting: withoutWait!,
      delta: { p50: delta('p50'), p99: delta('p99') },
      ratio: { p50: ratio(withWait!.p50, withoutWait!.p50), p99: ratio(withWait!.p99, withoutWait!.p99) },
    };
  } finally {
    for (const app of apps.reverse()) await app.close();
  }
}

/** Runs `task(0 … count-1)` with at most `concurrency` at once; the first error aborts. */
async function inParallel(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}
