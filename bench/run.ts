/**
 * `npm run bench` entry point (compiled to .chronos/bench-build/bench/run.js by scripts/bench.sh):
 * Chronos vs BullMQ on throughput and scheduling lateness, printed as a table and written to
 * bench/results/latest.json.
 *
 * Env: NATS_URL, DATABASE_URL, REDIS_URL (required; the Chronos state on them is wiped),
 * BENCH_THROUGHPUT_JOBS (20000), BENCH_LATENESS_JOBS (5000), BENCH_LEAD_MS (10000; the same lead for
 * both systems), BENCH_SUBMIT_CONCURRENCY (256), BENCH_TRACE=1 (Chronos pipeline progress on stderr),
 * BENCH_WRITE_REQUESTS (2000 per arm) and BENCH_WRITE_CONCURRENCY (1) for the write latency with and
 * without read-your-writes, BENCH_ONLY=write-latency to run only that (written to
 * bench/results/write-latency.json, leaving latest.json as it is).
 */
import 'reflect-metadata';
import { cpus } from 'node:os';
import { bullmqLateness, bullmqThroughput } from './bullmq.js';
import { chronosLateness, chronosThroughput } from './chronos.js';
import { positiveInt } from './env.js';
import { printTable, ratio, writeResults, type BenchResults } from './report.js';
import { writeLatency } from './write-latency.js';

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run the benchmark with \`npm run bench\`)`);
  return value;
}

const log = (msg: string) => console.error(`[bench] ${msg}`);

async function main(): Promise<void> {
  const natsUrl = requiredEnv('NATS_URL');
  const databaseUrl = requiredEnv('DATABASE_URL');
  const redisUrl = requiredEnv('REDIS_URL');
  const throughputJobs = positiveInt('BENCH_THROUGHPUT_JOBS', 20_000);
  const latenessJobs = positiveInt('BENCH_LATENESS_JOBS', 5_000);
  const leadMs = positiveInt('BENCH_LEAD_MS', 10_000);
  const writeRequests = positiveInt('BENCH_WRITE_REQUESTS', 2_000);
  const writeConcurrency = positiveInt('BENCH_WRITE_CONCURRENCY', 1);
  const only = process.env.BENCH_ONLY || undefined;
  if (only !== undefined && only !== 'write-latency') throw new Error(`BENCH_ONLY must be write-latency, got "${only}"`);
  const conn = { natsUrl, databaseUrl, redisUrl };
  const machine = { cpus: cpus().length, node: process.version };

  const measureWrites = async () => {
    log(`Chronos write latency: ${writeRequests} POST /api/v1/jobs per arm, ${writeConcurrency} in flight, with and without the read-model wait`);
    const result = await writeLatency({ requests: writeRequests, concurrency: writeConcurrency, ...conn });
    log(`  ${JSON.stringify(result)}`);
    return result;
  };
  if (only === 'write-latency') {
    const results: BenchResults = {
      generatedAt: new Date().toISOString(),
      machine,
      parameters: { writeRequests, writeConcurrency },
      scenarios: { writeLatency: await measureWrites() },
    };
    console.log('');
    printTable(results);
    await writeResults(results, 'bench/results/write-latency.json');
    log('results written to bench/results/write-latency.json');
    return;
  }

  log(`Chronos throughput: ${throughputJobs} immediate jobs`);
  const chronosTp = await chronosThroughput({ jobs: throughputJobs, ...conn });
  log(`  ${chronosTp.jobsPerSecond} jobs/s (${chronosTp.elapsedMs} ms; all submitted after ${chronosTp.submitMs} ms)`);

  log(`BullMQ throughput: ${throughputJobs} jobs`);
  const bullTp = await bullmqThroughput({ redisUrl, jobs: throughputJobs });
  log(`  ${bullTp.jobsPerSecond} jobs/s (${bullTp.elapsedMs} ms)`);

  log(`Chronos lateness: ${latenessJobs} jobs due in ${leadMs} ms`);
  const chronosLate = await chronosLateness({ jobs: latenessJobs, leadMs, ...conn });
  log(`  ${JSON.stringify(chronosLate)}`);

  log(`BullMQ lateness: ${latenessJobs} jobs due in ${leadMs} ms`);
  const bullLate = await bullmqLateness({ redisUrl, jobs: latenessJobs, leadMs });
  log(`  ${JSON.stringify(bullLate)}`);

  const writes = await measureWrites();

  const results: BenchResults = {
    generatedAt: new Date().toISOString(),
    machine,
    parameters: { throughputJobs, latenessJobs, leadMs, writeRequests, writeConcurrency },
    scenarios: {
      throughput: { chronos: chronosTp.jobsPerSecond, bullmq: bullTp.jobsPerSecond, ratio: ratio(chronosTp.jobsPerSecond, bullTp.jobsPerSecond), unit: 'jobs/s' },
      lateness: { chronos: chronosLate, bullmq: bullLate, ratio: ratio(chronosLate.p99, bullLate.p99), unit: 'ms' },
      writeLatency: writes,
    },
  };
  console.log('');
  printTable(results);
  const file = 'bench/results/latest.json';
  await writeResults(results, file);
  log(`results written to ${file}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error('[bench] failed:', error);
    process.exit(1);
  },
);
