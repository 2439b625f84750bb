/**
 * Benchmark result shape, console table and JSON writer.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LatenessStats } from './stats.js';

export interface ScenarioResult {
  chronos: number | LatenessStats;
  bullmq: number | LatenessStats;
  ratio: number;
}

export interface BenchResults {
  generatedAt: string;
  machine: { cpus: number; node: string };
  parameters: Record<string, number>;
  scenarios: {
    throughput: { chronos: number; bullmq: number; ratio: number; unit: 'jobs/s' };
    lateness: { chronos: LatenessStats; bullmq: LatenessStats; ratio: number; unit: 'ms' };
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

/** Prints an aligned table: scenario, Chronos, BullMQ, ratio and which direction is better. */
export function printTable(r: BenchResults): void {
  const { throughput, lateness } = r.scenarios;
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

  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  // First column left-aligned, numbers right-aligned, last column left-aligned.
  const fmtRow = (row: string[]): string =>
    row
      .map((cell, i) => (i === 0 || i === row.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');

  const paramText = Object.entries(r.parameters)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const lines = [
    `Chronos vs BullMQ  (${r.generatedAt}; ${r.machine.cpus} CPUs, Node ${r.machine.node})`,
    ...(paramText ? [`Parameters: ${paramText}`] : []),
    '',
    fmtRow(header),
    rule,
    ...rows.map(fmtRow),
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
