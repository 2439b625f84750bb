/**
 * Benchmark result shape, console table and JSON writer.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LatenessStats } from './stats.js';
import type { WriteLatencyResult } from './write-latency.js';

export interface ScenarioResult {
  chronos: number | LatenessStats;
  bullmq: number | LatenessStats;
  ratio: number;
}

export interface BenchResults {
  generatedAt: string;
  machine: { cpus: number; node: string };
  parameters: Record<string, number>;
  /** Chronos vs BullMQ (both absent with BENCH_ONLY=write-latency), and what read-your-writes costs a write. */
  scenarios: {
    throughput?: { chronos: number; bullmq: number; ratio: number; unit: 'jobs/s' };
    lateness?: { chronos: LatenessStats; bullmq: LatenessStats; ratio: number; unit: 'ms' };
    writeLatency: WriteLatencyResult;
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

function fmtNum(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

function fmtRatio(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)}x` : 'n/a';
}

/** Prints the tables of the scenarios that ran. */
export function printTable(r: BenchResults): void {
  const { throughput, lateness, writeLatency } = r.scenarios;
  const paramText = Object.entries(r.parameters)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  console.log(`Chronos benchmark  (${r.generatedAt}; ${r.machine.cpus} CPUs, Node ${r.machine.node})${paramText ? `\nParameters: ${paramText}` : ''}`);
  if (throughput && lateness) printComparison(throughput, lateness);
  printWriteLatency(writeLatency);
}

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

function printWriteLatency(w: WriteLatencyResult): void {
  const keys: Array<keyof Omit<LatenessStats, 'count'>> = ['p50', 'p95', 'p99', 'max'];
  const rows = keys.map((k) => [
    `POST /jobs ${k} (ms)`,
    fmtNum(w.waiting[k]),
    fmtNum(w.notWaiting[k]),
    fmtNum(w.waiting[k] - w.notWaiting[k]),
    fmtRatio(ratio(w.waiting[k], w.notWaiting[k])),
  ]);
  rows.push(['answers saying `lagging`', `${w.waiting.lagging}/${w.waiting.count}`, `${w.notWaiting.lagging}/${w.notWaiting.count}`, '', '']);
  console.log(
    [
      '',
      `Read-your-writes: write latency over HTTP, ${w.concurrency} in flight (same run, alternating rounds)`,
      '',
      ...formatTable(['Write', `wait ${w.waitMs} ms`, 'no wait (0)', 'delta', 'ratio'], rows),
    ].join('\n'),
  );
}

/** Chronos vs BullMQ: scenario, Chronos, BullMQ, ratio and which direction is better. */
function printComparison(throughput: NonNullable<BenchResults['scenarios']['throughput']>, lateness: NonNullable<BenchResults['scenarios']['lateness']>): void {
  const header = ['Scenario', 'Chronos', 'BullMQ', 'Chronos/BullMQ', 'Better'];
  const rows: string[][] = [
    [
      `Throughput (${throughput.unit})`,
      fmtNum(throughput.chronos),
      fmtNum(throughput.bullmq),
      fmtRatio(throughput.ratio),
      'higher',
    ],
  ];
  const keys: Array<keyof Omit<LatenessStats, 'count'>> = ['p50', 'p95', 'p99', 'max'];
  for (const k of keys) {
    rows.push([
      `Lateness ${k} (${lateness.unit})`,
      fmtNum(lateness.chronos[k]),
      fmtNum(lateness.bullmq[k]),
      // The headline lateness ratio is defined on p99.
      k === 'p99' ? fmtRatio(lateness.ratio) : fmtRatio(ratio(lateness.chronos[k], lateness.bullmq[k])),
      'lower',
    ]);
  }
  rows.push([
    'Lateness samples (count)',
    String(lateness.chronos.count),
    String(lateness.bullmq.count),
    '',
    '',
  ]);

  const lines = [
    '',
    'Chronos vs BullMQ',
    '',
    ...formatTable(header, rows),
    '',
    'Throughput ratio = Chronos/BullMQ jobs per second: above 1.00x means Chronos is faster (higher is better).',
    'Lateness ratio = Chronos p99 / BullMQ p99 (headline; other rows use the same percentile): below 1.00x means Chronos fires closer to the due time (lower is better).',
  ];
  console.log(lines.join('\n'));
}

/** Writes the results as pretty-printed JSON, creating parent directories as needed. */
export async function writeResults(r: BenchResults, file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(r, null, 2)}\n`, 'utf8');
}
