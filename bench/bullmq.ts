/**
 * BullMQ baseline for the Chronos benchmark.
 *
 * Each scenario uses a fresh, uniquely named queue, starts its Worker before
 * any job is added, and always cleans up after itself: the worker and queue
 * are closed (which closes their Redis connections) and the queue's keys are
 * obliterated.
 *
 * BullMQ v5+/v6 has no QueueScheduler: delayed jobs are promoted by the
 * Worker itself, so a running Worker is all the lateness scenario needs.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import type { ConnectionOptions, Job } from 'bullmq';
import { latenessStats } from './stats.js';
import type { LatenessStats } from './stats.js';
import { cpuPerJob, cpuSnapshot } from './cpu.js';
import { rates, waitFor, type SubmitResult } from './http-submit.js';

const CONCURRENCY = 50;
const CHUNK = 1000;
/** Give up if no job completes for this long (guards against hangs). */
const STALL_TIMEOUT_MS = 60_000;

export interface BullmqThroughputResult {
  jobsPerSecond: number;
  jobs: number;
  elapsedMs: number;
}

function connectionFor(redisUrl: string): ConnectionOptions {
  return { url: redisUrl };
}

function uniqueQueueName(kind: string): string {
  return `chronos-bench-${kind}-${Date.now()}-${randomUUID().slice(0, 8)}`;
}

/**
 * Resolves once `target` jobs have completed on `worker`; rejects if a job
 * fails or nothing completes for STALL_TIMEOUT_MS.
 */
function whenCompleted(worker: Worker, target: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (target <= 0) {
      resolve();
      return;
    }
    let done = 0;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(`BullMQ benchmark stalled: ${done}/${target} jobs completed, none in the last ${STALL_TIMEOUT_MS} ms`),
        );
      }, STALL_TIMEOUT_MS);
    };
    const onCompleted = (): void => {
      done += 1;
      if (done >= target) {
        cleanup();
        resolve();
      } else if (done % 500 === 0) {
        arm();
      }
    };
    const onFailed = (job: Job | undefined, err: Error): void => {
      cleanup();
      reject(new Error(`BullMQ benchmark job ${job?.id ?? '?'} failed: ${err.message}`));
    };
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      worker.off('completed', onCompleted);
      worker.off('failed', onFailed);
    };
    worker.on('completed', onCompleted);
    worker.on('failed', onFailed);
    arm();
  });
}

async function teardown(worker: Worker | undefined, queue: Queue | undefined): Promise<void> {
  const errors: unknown[] = [];
  if (worker) {
    try {
      await worker.close();
    } catch (err) {
      errors.push(err);
    }
  }
  if (queue) {
    try {
      await queue.obliterate({ force: true });
    } catch (err) {
      errors.push(err);
    }
    try {
      await queue.close();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) {
    // Cleanup problems should not mask a measurement, but must be visible.
    console.warn('[bench/bullmq] cleanup error(s):', ...errors);
  }
}

/** Swallow connection 'error' events so they cannot crash the process; they are logged. */
function logErrors(emitter: Queue | Worker, label: string): void {
  const log = (err: Error): void => {
    console.warn(`[bench/bullmq] ${label} error: ${err.message}`);
  };
  if (emitter instanceof Worker) emitter.on('error', log);
  else emitter.on('error', log);
}

/**
 * Throughput: `jobs` immediate no-op jobs submitted (addBulk, chunks of 1000,
 * removeOnComplete) to a Worker with concurrency 50; timed from the first add
 * until the worker has reported every job completed.
 */
export async function bullmqThroughput(opts: { redisUrl: string; jobs: number }): Promise<BullmqThroughputResult> {
  const name = uniqueQueueName('throughput');
  const connection = connectionFor(opts.redisUrl);
  let queue: Queue | undefined;
  let worker: Worker | undefined;
  try {
    queue = new Queue(name, { connection });
    logErrors(queue, 'queue');
    worker = new Worker(name, async () => undefined, { connection, concurrency: CONCURRENCY });
    logErrors(worker, 'worker');
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);

    const allDone = whenCompleted(worker, opts.jobs);
    const start = performance.now();
    for (let i = 0; i < opts.jobs; i += CHUNK) {
      const n = Math.min(CHUNK, opts.jobs - i);
      const batch = Array.from({ length: n }, (_, k) => ({
        name: 'noop',
        data: { i: i + k },
        opts: { removeOnComplete: true },
      }));
      await queue.addBulk(batch);
    }
    await allDone;
    const elapsedMs = performance.now() - start;
    return {
      jobsPerSecond: Math.round((opts.jobs / elapsedMs) * 1000 * 10) / 10,
      jobs: opts.jobs,
      elapsedMs: Math.round(elapsedMs * 10) / 10,
    };
  } finally {
    await teardown(worker, queue);
  }
}

/**
 * Lateness: `jobs` jobs all due at T = now + leadMs, added as delayed jobs
 * (addBulk, chunks of 1000, delay = T - now computed per chunk). The worker
 * (concurrency 50, started before anything is added) records
 * `Date.now() - T` when the processor starts.
 */
export async function bullmqLateness(opts: { redisUrl: string; jobs: number; leadMs: number }): Promise<LatenessStats> {
  const name = uniqueQueueName('lateness');
  const connection = connectionFor(opts.redisUrl);
  const samples: number[] = [];
  let queue: Queue | undefined;
  let worker: Worker | undefined;
  try {
    queue = new Queue(name, { connection });
    logErrors(queue, 'queue');
    // T is only known after the worker is up; the processor reads it then.
    let T = Number.POSITIVE_INFINITY;
    worker = new Worker(
      name,
      async () => {
        samples.push(Date.now() - T);
      },
      { connection, concurrency: CONCURRENCY },
    );
    logErrors(worker, 'worker');
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);

    const allDone = whenCompleted(worker, opts.jobs);
    T = Date.now() + opts.leadMs;
    for (let i = 0; i < opts.jobs; i += CHUNK) {
      const n = Math.min(CHUNK, opts.jobs - i);
      const now = Date.now();
      // Pin the job's creation timestamp to `now` so BullMQ's due time
      // (timestamp + delay) is exactly T.
      const delay = Math.max(0, T - now);
      const batch = Array.from({ length: n }, (_, k) => ({
        name: 'at-T',
        data: { i: i + k },
        opts: { delay, timestamp: now, removeOnComplete: true },
      }));
      await queue.addBulk(batch);
    }
    if (Date.now() > T) {
      console.warn(`[bench/bullmq] adding ${opts.jobs} jobs took longer than leadMs=${opts.leadMs}; lateness is inflated`);
    }
    await allDone;
    return latenessStats(samples);
  } finally {
    await teardown(worker, queue);
  }
}

/**
 * The baseline of the HTTP path: `jobs` no-op jobs added one `queue.add` at a time (or `addBulk` of
 * `batchSize`, the bulk scenario's baseline), `inFlight` at once,
 * to a worker in a child process (concurrency CONCURRENCY), after `warmup` ones (added and completed
 * first, not counted). Accepted: every add resolved; completed: the worker has finished every job.
 */
export async function bullmqAddOneByOne(opts: { redisUrl: string; jobs: number; warmup: number; inFlight: number; batchSize?: number }): Promise<SubmitResult> {
  const batchSize = opts.batchSize ?? 1;
  const name = uniqueQueueName('add');
  const queue = new Queue(name, { connection: connectionFor(opts.redisUrl) });
  logErrors(queue, 'queue');
  const worker = fork(join(dirname(fileURLToPath(import.meta.url)), 'bullmq-worker.js'), [opts.redisUrl, name, String(CONCURRENCY)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let completed = 0;
  const ready = new Promise<void>((resolve) => worker.once('message', () => resolve()));
  worker.on('message', (message: { completed?: number }) => void (completed = message.completed ?? completed));
  try {
    await Promise.all([queue.waitUntilReady(), ready]);
    const addAll = async (count: number) => {
      const samples: number[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(opts.inFlight, Math.ceil(count / batchSize)) }, async () => {
          while (next < count) {
            const i = next;
            next += batchSize;
            const sent = performance.now();
            if (batchSize === 1) await queue.add('noop', { i }, { removeOnComplete: true });
            else await queue.addBulk(Array.from({ length: Math.min(batchSize, count - i) }, (_, j) => ({ name: 'noop', data: { i: i + j }, opts: { removeOnComplete: true } })));
            samples.push(performance.now() - sent);
          }
        }),
      );
      return samples;
    };
    await addAll(opts.warmup);
    await waitFor(async () => completed, opts.warmup);
    const cpuBefore = cpuSnapshot({ worker: [worker.pid!] });
    const started = performance.now();
    const samples = await addAll(opts.jobs);
    const acceptMs = performance.now() - started;
    await waitFor(async () => completed, opts.warmup + opts.jobs);
    const completeMs = performance.now() - started;
    return rates(opts.jobs, opts.inFlight, acceptMs, completeMs, latenessStats(samples), cpuPerJob(cpuBefore, cpuSnapshot({ worker: [worker.pid!] }), opts.jobs));
  } finally {
    await new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.send('stop');
    });
    await teardown(undefined, queue);
  }
}
