/**
 * `npm run bench -- faults` (compiled to .chronos/bench-build/bench/faults.js by scripts/bench.sh): the long form
 * of test/faults.test.ts, the measurement of issue 15. Chronos runs as child processes (`node dist/main.js`) on the
 * benchmark's own services (PostgreSQL with its durable defaults); under load (recurring `http` jobs every 2 s,
 * one-off `at` jobs, an immediate job every 500 ms, all calling a local target), processes are killed with
 * SIGKILL on a fixed timetable and started again, and then what the target saw is compared with what the API
 * recorded. Once with every role in one process, once with one process per role.
 *
 * Env: FAULTS_RECURRING (100), FAULTS_AT (9,700: with the recurring and immediate ones, about 10,000 jobs),
 * FAULTS_AT_SPREAD_MS (90,000), FAULTS_TOPOLOGY (both | combined | split); WORK_ACK_WAIT_MS, when set, is
 * passed to Chronos (how long a dead worker's runs wait before another worker gets them). Writes
 * bench/results/faults.json.
 */
import 'reflect-metadata';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { positiveInt } from './env.js';
import { runFaultScenario, type FaultRunResult, type FaultStep, type Topology } from '../test/support/fault-run.js';
import { StackServices } from '../test/support/services.js';

const log = (message: string) => console.error(`[bench faults] ${message}`);

/** The issue's timetable (Chronos at 20 s, nats-server at 40 s, PostgreSQL at 60 s, Chronos again at 75 s), with Redis too. */
const TIMETABLE: Record<Topology, FaultStep[]> = {
  combined: [
    { target: 'chronos', atMs: 20_000, downMs: 0 },
    { target: 'nats', atMs: 40_000, downMs: 1000 },
    { target: 'redis', atMs: 50_000, downMs: 1000 },
    { target: 'postgres', atMs: 60_000, downMs: 1000 },
    { target: 'chronos', atMs: 75_000, downMs: 0 },
  ],
  split: [
    { target: 'worker', atMs: 15_000, downMs: 0 },
    { target: 'nats', atMs: 30_000, downMs: 1000 },
    { target: 'scheduler', atMs: 45_000, downMs: 0 },
    { target: 'postgres', atMs: 55_000, downMs: 1000 },
    { target: 'projector', atMs: 65_000, downMs: 0 },
    { target: 'redis', atMs: 75_000, downMs: 1000 },
    { target: 'api', atMs: 85_000, downMs: 0 },
  ],
};

async function main(): Promise<void> {
  const url = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set (run the benchmark with \`npm run bench -- faults\`)`);
    return new URL(value);
  };
  const services = new StackServices(process.env.CHRONOS_BENCH_STACK_DIR ?? resolve('.chronos/bench'), 'durable', {
    nats: Number(url('NATS_URL').port),
    postgres: Number(url('DATABASE_URL').port),
    redis: Number(url('REDIS_URL').port),
  });
  const load = {
    recurringJobs: positiveInt('FAULTS_RECURRING', 100),
    atJobs: positiveInt('FAULTS_AT', 9_700),
    atSpreadMs: positiveInt('FAULTS_AT_SPREAD_MS', 90_000),
    immediateEveryMs: 500,
  };
  const which = process.env.FAULTS_TOPOLOGY || 'both';
  if (!['both', 'combined', 'split'].includes(which)) throw new Error(`FAULTS_TOPOLOGY must be both, combined or split, got "${which}"`);
  const topologies: Topology[] = which === 'both' ? ['combined', 'split'] : [which as Topology];

  const runs: Record<string, FaultRunResult> = {};
  for (const topology of topologies) {
    log(`${topology}: ${load.recurringJobs} recurring, ${load.atJobs} at jobs, an immediate one every ${load.immediateEveryMs} ms; faults ${TIMETABLE[topology].map((f) => `${f.target}@${f.atMs! / 1000}s`).join(', ')}`);
    runs[topology] = await runFaultScenario({
      topology,
      load,
      faults: TIMETABLE[topology],
      services,
      // As `npm start` runs: the production defaults (leases, ack waits), only the load's own settings.
      env: { CHRONOS_LEASE_TTL_MS: '5000', ...(process.env.WORK_ACK_WAIT_MS ? { WORK_ACK_WAIT_MS: process.env.WORK_ACK_WAIT_MS } : {}) },
      requestTimeoutMs: 30_000,
      settleCapMs: 300_000,
      logDir: resolve(`.chronos/bench/faults-${topology}`),
      log: (message) => log(`${topology}: ${message}`),
    });
    print(topology, runs[topology]!);
  }
  const file = 'bench/results/faults.json';
  await mkdir('bench/results', { recursive: true });
  await writeFile(file, `${JSON.stringify({ generatedAt: new Date().toISOString(), machine: { cpus: cpus().length, node: process.version }, parameters: { ...load, workAckWaitMs: Number(process.env.WORK_ACK_WAIT_MS ?? 6000) }, runs }, null, 2)}\n`);
  log(`results written to ${file}`);
}

function print(topology: string, result: FaultRunResult): void {
  const { figures, violations } = result.checked;
  const rows: [string, string][] = [
    ['acked one-off jobs lost', `${figures.lostOneOffs} of ${figures.acknowledgedOneOffs}`],
    ['instants neither delivered nor recorded as skipped', `${figures.unaccountedInstants}`],
    ['duplicate fires (two executions of one instant)', `${figures.duplicateFires}`],
    ['the same execution delivered again to its target', `${figures.repeats} repeats for ${figures.distinctRuns} distinct runs (in flight at a fault: ${figures.repeatsInFlight}; per fault ${figures.inFlightAtFault.join(', ')})`],
    ['jobs whose recorded history disagrees with what the target saw', `${figures.jobsDisagreeing}; agreement ${result.agreementAfterMs === undefined ? 'not reached' : `${(result.agreementAfterMs / 1000).toFixed(1)} s`} after the load ended`],
    ['time from a fault to the first fire due after it', result.recoveries.map((r) => `${r.target} ${r.firstFireAfterMs === undefined ? 'never' : `${(r.firstFireAfterMs / 1000).toFixed(1)} s`}`).join(', ')],
    ['Chronos processes that exited by themselves (started again)', `${figures.crashes}`],
    ['create requests during the window', Object.entries(figures.requests).map(([outcome, n]) => `${outcome}: ${n}`).join(', ')],
  ];
  console.log(`\n${topology} (${result.jobs.recurring} recurring, ${result.jobs.at} at, ${result.jobs.immediate} immediate jobs; window ${(result.windowMs / 1000).toFixed(0)} s)`);
  for (const [what, measured] of rows) console.log(`  ${what.padEnd(66)} ${measured}`);
  for (const violation of violations) console.log(`  ✗ ${violation.invariant}: ${violation.count}, e.g. ${violation.examples[0]}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error('[bench faults] failed:', error);
    process.exit(1);
  },
);
