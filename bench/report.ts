/**
 * Benchmark result shape, console tables and JSON writer. Every table row carries the machine's load while
 * it was measured (bench/machine.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BullmqThroughputResult } from './bullmq.js';
import type { ChronosThroughputResult } from './chronos.js';
import type { ReadsResult } from './http-reads.js';
import type { SubmitResult } from './http-submit.js';
import { formatLoad, type MachineLoad } from './machine.js';
import type { LatenessStats } from './stats.js';
import type { WriteLatencyResult } from './write-latency.js';

type Loaded<T> = T & { load: MachineLoad };

export interface Comparison<C, B> {
  chronos: Loaded<C>;
  bullmq: Loaded<B>;
  /** The same measurement of Chronos built from BENCH_BASELINE (an earlier commit), in the same run, just before. */
  baseline?: Loaded<C> & { commit: string };
  ratio: { accepted: number; completed: number };
}

export interface BenchResults {
  generatedAt: string;
  machine: { cpus: number; node: string };
  parameters: Record<string, number>;
  /** The scenarios that ran (run.ts). */
  scenarios: {
    submit?: Comparison<SubmitResult & { layout: string }, SubmitResult>;
    bulk?: Comparison<SubmitResult & { layout: string }, SubmitResult>;
    reads?: ReadsResult;
    writeLatency?: Loaded<WriteLatencyResult>;
    throughput?: { chronos: Loaded<ChronosThroughputResult>; bullmq: Loaded<BullmqThroughputResult>; ratio: number };
    lateness?: { chronos: Loaded<LatenessStats>; bullmq: Loaded<LatenessStats>; ratio: number };
  };
}

/**
 * chronos / bullmq rounded to 3 decimals. Throughput: pass jobs/s (higher is
 * better). Lateness: pass the p99 values (lower is better). Returns NaN when
 * the denominator is 0 or either input is not finite.
 */
export function ratio(chronos: number, bullmq: number): number {
  if (!Number.isFinite(chronos) || !Number.isFinite(bullmq) || bullmq === 0) return Number.NaN;
  return Math.round((chronos / bullmq) * 1000) / 1000;
}

const fmtNum = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const fmtInt = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const fmtRatio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : 'n/a');

/** Right-aligned numbers, first and last columns left-aligned, with a rule under the header. */
function formatTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const fmtRow = (row: string[]): string =>
    row
      .map((cell, i) => (i === 0 || i === row.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [fmtRow(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmtRow)];
}

function section(title: string, header: string[], rows: string[][], notes: string[] = []): void {
  console.log(['', title, '', ...formatTable(header, rows), ...notes].join('\n'));
}

/** Prints the tables of the scenarios that ran. */
export function printTables(r: BenchResults): void {
  const { submit, bulk, reads, writeLatency, throughput, lateness } = r.scenarios;
  console.log(`Chronos benchmark  (${r.generatedAt}; ${r.machine.cpus} CPUs, Node ${r.machine.node})`);
  if (submit) printSubmission('HTTP submission: one POST /api/v1/jobs per job vs BullMQ queue.add one by one', submit);
  if (bulk) printSubmission('Bulk over HTTP: POST /api/v1/jobs/batch vs BullMQ addBulk, same batch size', bulk);
  if (reads) printReads(reads);
  if (writeLatency) printWriteLatency(writeLatency);
  if (throughput && lateness) printInProcess(throughput, lateness);
}

function printSubmission(title: string, c: Comparison<SubmitResult & { layout: string }, SubmitResult>): void {
  const { chronos, bullmq } = c;
  section(
    `${title} (${chronos.jobs} jobs, ${chronos.inFlight} in flight; Chronos layout ${chronos.layout})`,
    ['Figure', 'Chronos', 'BullMQ', 'Chronos/BullMQ', 'Machine'],
    [
      ['accepted (jobs/s)', fmtInt(chronos.acceptedPerSecond), fmtInt(bullmq.acceptedPerSecond), fmtRatio(c.ratio.accepted), `${formatLoad(chronos.load)} / ${formatLoad(bullmq.load)}`],
      ['completed end to end (jobs/s)', fmtInt(chronos.completedPerSecond), fmtInt(bullmq.completedPerSecond), fmtRatio(c.ratio.completed), ''],
      ['submission p50 (ms)', fmtNum(chronos.latency.p50), fmtNum(bullmq.latency.p50), fmtRatio(ratio(chronos.latency.p50, bullmq.latency.p50)), ''],
      ['submission p99 (ms)', fmtNum(chronos.latency.p99), fmtNum(bullmq.latency.p99), fmtRatio(ratio(chronos.latency.p99, bullmq.latency.p99)), ''],
      ...cpuRows(chronos.cpuMsPerJob, bullmq.cpuMsPerJob),
    ],
    [
      'Higher is better for jobs/s (target: both ratios ≥ 0.50x).',
      ...(c.baseline
        ? [
            `Baseline ${c.baseline.commit} (same run, just before, ${formatLoad(c.baseline.load)}): accepted ${fmtInt(c.baseline.acceptedPerSecond)}, completed ${fmtInt(c.baseline.completedPerSecond)} jobs/s, ` +
              `Chronos CPU per job ${fmtNum(c.baseline.cpuMsPerJob.chronos ?? NaN, 3)} ms; this code / baseline: accepted ${fmtRatio(ratio(chronos.acceptedPerSecond, c.baseline.acceptedPerSecond))}, ` +
              `CPU per job ${fmtRatio(ratio(chronos.cpuMsPerJob.chronos ?? NaN, c.baseline.cpuMsPerJob.chronos ?? NaN))}.`,
          ]
        : []),
    ],
  );
}

/** CPU ms per job of each process group, both systems side by side. */
function cpuRows(chronos: Record<string, number>, bullmq: Record<string, number>): string[][] {
  const groups = [...new Set([...Object.keys(chronos), ...Object.keys(bullmq)])];
  const sum = (cpu: Record<string, number>) => Object.values(cpu).reduce((a, b) => a + b, 0);
  return [
    ...groups.map((group) => [`CPU per job: ${group} (ms)`, group in chronos ? fmtNum(chronos[group]!, 3) : '', group in bullmq ? fmtNum(bullmq[group]!, 3) : '', '', '']),
    ['CPU per job: all (ms)', fmtNum(sum(chronos), 3), fmtNum(sum(bullmq), 3), fmtRatio(ratio(sum(chronos), sum(bullmq))), ''],
  ];
}

function printReads(reads: ReadsResult): void {
  section(
    `Reads: ${fmtInt(reads.jobs)} jobs of one user, ${reads.inFlight} in flight (${reads.requests} requests each; Chronos layout ${reads.layout}; filled ${reads.fill})`,
    ['Read', 'Chronos req/s', 'p50 ms', 'p99 ms', 'floor req/s', 'floor p50', 'floor p99', 'Chronos/floor', 'Machine'],
    reads.reads.map((read) => [
      read.name,
      fmtInt(read.chronos.requestsPerSecond),
      fmtNum(read.chronos.latency.p50),
      fmtNum(read.chronos.latency.p99),
      fmtInt(read.floor.requestsPerSecond),
      fmtNum(read.floor.latency.p50),
      fmtNum(read.floor.latency.p99),
      fmtRatio(ratio(read.chronos.requestsPerSecond, read.floor.requestsPerSecond)),
      formatLoad(read.load),
    ]),
    ['Floor: the same answer bytes from memory, from a minimal node:http server in a process of its own. Target: ≥ 1,000 req/s and p99 ≤ 25 ms on a quiet machine.'],
  );
}

function printWriteLatency(w: Loaded<WriteLatencyResult>): void {
  const keys: Array<keyof Omit<LatenessStats, 'count'>> = ['p50', 'p95', 'p99', 'max'];
  const rows = keys.map((k) => [
    `POST /jobs ${k} (ms)`,
    fmtNum(w.waiting[k]),
    fmtNum(w.notWaiting[k]),
    fmtNum(w.waiting[k] - w.notWaiting[k]),
    fmtRatio(ratio(w.waiting[k], w.notWaiting[k])),
  ]);
  rows.push(['answers saying `lagging`', `${w.waiting.lagging}/${w.waiting.count}`, `${w.notWaiting.lagging}/${w.notWaiting.count}`, '', '']);
  section(`Read-your-writes: write latency over HTTP, ${w.concurrency} in flight (same run, alternating rounds; ${formatLoad(w.load)})`, ['Write', `wait ${w.waitMs} ms`, 'no wait (0)', 'delta', 'ratio'], rows);
}

function printInProcess(throughput: NonNullable<BenchResults['scenarios']['throughput']>, lateness: NonNullable<BenchResults['scenarios']['lateness']>): void {
  const rows: string[][] = [
    ['Throughput, command bus (jobs/s)', fmtNum(throughput.chronos.jobsPerSecond), fmtNum(throughput.bullmq.jobsPerSecond), fmtRatio(throughput.ratio), 'higher', `${formatLoad(throughput.chronos.load)} / ${formatLoad(throughput.bullmq.load)}`],
  ];
  const keys: Array<keyof Omit<LatenessStats, 'count'>> = ['p50', 'p95', 'p99', 'max'];
  for (const k of keys) {
    rows.push([
      `Lateness ${k} (ms)`,
      fmtNum(lateness.chronos[k]),
      fmtNum(lateness.bullmq[k]),
      // The headline lateness ratio is defined on p99.
      k === 'p99' ? fmtRatio(lateness.ratio) : fmtRatio(ratio(lateness.chronos[k], lateness.bullmq[k])),
      'lower',
      k === 'p50' ? `${formatLoad(lateness.chronos.load)} / ${formatLoad(lateness.bullmq.load)}` : '',
    ]);
  }
  section('In process (no HTTP: the command bus, all roles in the benchmark process) vs BullMQ addBulk; lateness of jobs due at one instant', ['Scenario', 'Chronos', 'BullMQ', 'Chronos/BullMQ', 'Better', 'Machine'], rows, [
    'Lateness ratio = Chronos p99 / BullMQ p99 (target ≤ 0.25x).',
  ]);
}

/** Writes the results as pretty-printed JSON, creating parent directories as needed. */
export async function writeResults(r: BenchResults, file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(r, null, 2)}\n`, 'utf8');
}
