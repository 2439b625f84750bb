/**
 * `npm run bench` entry point (compiled to .chronos/bench-build/bench/run.js by scripts/bench.sh): Chronos
 * beside BullMQ on the same servers in one run, printed as tables (each figure with the machine's load) and
 * written to bench/results/latest.json. docs/benchmarks.md says what each scenario measures.
 *
 * Scenarios (BENCH_ONLY=<name>[,<name>…] runs only those; a run of some leaves latest.json alone and writes
 * bench/results/<names>.json):
 *   submit         HTTP, one POST per job vs BullMQ `add` one by one (BENCH_HTTP_JOBS 5000, BENCH_HTTP_IN_FLIGHT 32,
 *                  BENCH_WARMUP_JOBS 500)
 *   reads          reads with BENCH_READ_JOBS (100000) jobs of one user, beside a floor server (BENCH_READ_REQUESTS 4000
 *                  per read, BENCH_READ_IN_FLIGHT 16, BENCH_READ_EXECUTIONS 10000)
 *   write-latency  what read-your-writes adds to a write (BENCH_WRITE_REQUESTS 2000 per arm, BENCH_WRITE_CONCURRENCY 1)
 *   in-process     the command bus without HTTP vs addBulk, and lateness (BENCH_THROUGHPUT_JOBS 20000,
 *                  BENCH_LATENESS_JOBS 5000, BENCH_LEAD_MS 10000, BENCH_SUBMIT_CONCURRENCY 256, BENCH_TRACE=1)
 * BENCH_BASELINE=<commit> (scripts/bench.sh builds it into BENCH_BASELINE_BUILD): submit and bulk measure Chronos of
 * that commit too, just before this code, on the same servers in the same run.
 * BENCH_LAYOUT (one | api=N) chooses how the HTTP scenarios run Chronos (bench/chronos-processes.ts);
 * BENCH_PROFILE=<dir> writes a CPU profile of each Chronos process there.
 * Env: NATS_URL, DATABASE_URL, REDIS_URL (required; the Chronos state on them is wiped).
 */
import 'reflect-metadata';
import { cpus } from 'node:os';
import { Logger } from '@nestjs/common';
import { bullmqAddOneByOne, bullmqLateness, bullmqThroughput } from './bullmq.js';
import { chronosLateness, chronosThroughput } from './chronos.js';
import { chronosHttpSubmit } from './http-submit.js';
import { chronosReads } from './http-reads.js';
import { positiveInt } from './env.js';
import { underLoad } from './machine.js';
import { printTables, ratio, writeResults, type BenchResults } from './report.js';
import { writeLatency } from './write-latency.js';

const SCENARIOS = ['submit', 'bulk', 'reads', 'write-latency', 'in-process'] as const;
type Scenario = (typeof SCENARIOS)[number];

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run the benchmark with \`npm run bench\`)`);
  return value;
}

function chosenScenarios(): Scenario[] {
  const raw = process.env.BENCH_ONLY;
  if (!raw) return [...SCENARIOS];
  const names = raw.split(',').map((name) => name.trim());
  for (const name of names) if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`BENCH_ONLY takes ${SCENARIOS.join(', ')}; got "${name}"`);
  return names as Scenario[];
}

const log = (msg: string) => console.error(`[bench] ${msg}`);

async function main(): Promise<void> {
  // What the benchmark process runs of Chronos itself (the reads' fill appends through JobRepository) logs
  // warnings and errors only: a debug line per append would be measured too.
  Logger.overrideLogger(['warn', 'error', 'fatal']);
  const conn = { natsUrl: requiredEnv('NATS_URL'), databaseUrl: requiredEnv('DATABASE_URL'), redisUrl: requiredEnv('REDIS_URL') };
  const scenarios = chosenScenarios();
  const p = {
    httpJobs: positiveInt('BENCH_HTTP_JOBS', 5_000),
    httpInFlight: positiveInt('BENCH_HTTP_IN_FLIGHT', 32),
    bulkJobs: positiveInt('BENCH_BULK_JOBS', 10_000),
    bulkSize: positiveInt('BENCH_BULK_SIZE', 1_000),
    bulkInFlight: positiveInt('BENCH_BULK_IN_FLIGHT', 2),
    warmupJobs: positiveInt('BENCH_WARMUP_JOBS', 500),
    readJobs: positiveInt('BENCH_READ_JOBS', 100_000),
    readExecutions: positiveInt('BENCH_READ_EXECUTIONS', 10_000),
    readRequests: positiveInt('BENCH_READ_REQUESTS', 4_000),
    readInFlight: positiveInt('BENCH_READ_IN_FLIGHT', 16),
    writeRequests: positiveInt('BENCH_WRITE_REQUESTS', 2_000),
    writeConcurrency: positiveInt('BENCH_WRITE_CONCURRENCY', 1),
    throughputJobs: positiveInt('BENCH_THROUGHPUT_JOBS', 20_000),
    latenessJobs: positiveInt('BENCH_LATENESS_JOBS', 5_000),
    leadMs: positiveInt('BENCH_LEAD_MS', 10_000),
  };
  const results: BenchResults = {
    generatedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version },
    parameters: p,
    scenarios: {},
  };
  const s = results.scenarios;

  if (scenarios.includes('submit')) {
    log(`HTTP submission: ${p.httpJobs} POST /api/v1/jobs, ${p.httpInFlight} in flight, 4 users (after ${p.warmupJobs} to warm up)`);
    const submit = (build?: string) => underLoad(() => chronosHttpSubmit({ jobs: p.httpJobs, warmup: p.warmupJobs, inFlight: p.httpInFlight, users: 4, build, ...conn }));
    const baseline = await measureBaseline(submit);
    const chronos = await submit();
    log(`  Chronos ${JSON.stringify(chronos)}`);
    log(`BullMQ: ${p.httpJobs} queue.add one by one, ${p.httpInFlight} in flight, worker in a child process`);
    const bullmq = await underLoad(() => bullmqAddOneByOne({ redisUrl: conn.redisUrl, jobs: p.httpJobs, warmup: p.warmupJobs, inFlight: p.httpInFlight }));
    log(`  BullMQ ${JSON.stringify(bullmq)}`);
    s.submit = { chronos, bullmq, ...baseline, ratio: { accepted: ratio(chronos.acceptedPerSecond, bullmq.acceptedPerSecond), completed: ratio(chronos.completedPerSecond, bullmq.completedPerSecond) } };
  }

  if (scenarios.includes('bulk')) {
    log(`Bulk over HTTP: ${p.bulkJobs} jobs in POST /api/v1/jobs/batch of ${p.bulkSize}, ${p.bulkInFlight} in flight, 4 users`);
    const bulk = (build?: string) => underLoad(() => chronosHttpSubmit({ jobs: p.bulkJobs, warmup: p.bulkSize, inFlight: p.bulkInFlight, users: 4, batchSize: p.bulkSize, build, ...conn }));
    const baseline = await measureBaseline(bulk);
    const chronos = await bulk();
    log(`  Chronos ${JSON.stringify(chronos)}`);
    log(`BullMQ: ${p.bulkJobs} jobs in addBulk of ${p.bulkSize}, ${p.bulkInFlight} in flight, worker in a child process`);
    const bullmq = await underLoad(() => bullmqAddOneByOne({ redisUrl: conn.redisUrl, jobs: p.bulkJobs, warmup: p.bulkSize, inFlight: p.bulkInFlight, batchSize: p.bulkSize }));
    log(`  BullMQ ${JSON.stringify(bullmq)}`);
    s.bulk = { chronos, bullmq, ...baseline, ratio: { accepted: ratio(chronos.acceptedPerSecond, bullmq.acceptedPerSecond), completed: ratio(chronos.completedPerSecond, bullmq.completedPerSecond) } };
  }

  if (scenarios.includes('reads')) {
    log(`Reads: ${p.readJobs} jobs of one user, a job with ${p.readExecutions} executions, ${p.readRequests} requests per read, ${p.readInFlight} in flight`);
    s.reads = await chronosReads({ jobs: p.readJobs, executions: p.readExecutions, requests: p.readRequests, inFlight: p.readInFlight, ...conn });
    log(`  ${JSON.stringify(s.reads)}`);
  }

  if (scenarios.includes('write-latency')) {
    log(`Write latency: ${p.writeRequests} POST /api/v1/jobs per arm, ${p.writeConcurrency} in flight, with and without the read-model wait`);
    s.writeLatency = await underLoad(() => writeLatency({ requests: p.writeRequests, concurrency: p.writeConcurrency, ...conn }));
    log(`  ${JSON.stringify(s.writeLatency)}`);
  }

  if (scenarios.includes('in-process')) {
    log(`In-process throughput: ${p.throughputJobs} immediate jobs through the command bus`);
    const chronosTp = await underLoad(() => chronosThroughput({ jobs: p.throughputJobs, ...conn }));
    log(`  ${chronosTp.jobsPerSecond} jobs/s (${chronosTp.elapsedMs} ms; all submitted after ${chronosTp.submitMs} ms)`);
    log(`BullMQ throughput: ${p.throughputJobs} jobs in addBulk`);
    const bullTp = await underLoad(() => bullmqThroughput({ redisUrl: conn.redisUrl, jobs: p.throughputJobs }));
    log(`  ${bullTp.jobsPerSecond} jobs/s (${bullTp.elapsedMs} ms)`);
    log(`Chronos lateness: ${p.latenessJobs} jobs due in ${p.leadMs} ms`);
    const chronosLate = await underLoad(() => chronosLateness({ jobs: p.latenessJobs, leadMs: p.leadMs, ...conn }));
    log(`  ${JSON.stringify(chronosLate)}`);
    log(`BullMQ lateness: ${p.latenessJobs} jobs due in ${p.leadMs} ms`);
    const bullLate = await underLoad(() => bullmqLateness({ redisUrl: conn.redisUrl, jobs: p.latenessJobs, leadMs: p.leadMs }));
    log(`  ${JSON.stringify(bullLate)}`);
    s.throughput = { chronos: chronosTp, bullmq: bullTp, ratio: ratio(chronosTp.jobsPerSecond, bullTp.jobsPerSecond) };
    s.lateness = { chronos: chronosLate, bullmq: bullLate, ratio: ratio(chronosLate.p99, bullLate.p99) };
  }

  console.log('');
  printTables(results);
  const file = scenarios.length === SCENARIOS.length ? 'bench/results/latest.json' : `bench/results/${scenarios.join('+')}.json`;
  await writeResults(results, file);
  log(`results written to ${file}`);
}

/** With BENCH_BASELINE_BUILD set, `measure` run on that build (the code of BENCH_BASELINE_COMMIT), for `{ baseline }`. */
async function measureBaseline<T>(measure: (build?: string) => Promise<T>): Promise<{ baseline?: T & { commit: string } }> {
  const build = process.env.BENCH_BASELINE_BUILD;
  if (!build) return {};
  const commit = process.env.BENCH_BASELINE_COMMIT ?? build;
  log(`  baseline: Chronos of ${commit}`);
  const baseline = { ...(await measure(build)), commit };
  log(`  baseline ${JSON.stringify(baseline)}`);
  return { baseline };
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error('[bench] failed:', error);
    process.exit(1);
  },
);
