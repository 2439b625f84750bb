/**
 * Small statistics helpers shared by the benchmark scenarios.
 */

export interface LatenessStats {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  count: number;
}

/** Round to 0.1 ms (avoids -0 in the output). */
function round1(x: number): number {
  const r = Math.round(x * 10) / 10;
  return r === 0 ? 0 : r;
}

/** Nearest-rank percentile of an ascending-sorted, non-empty array. */
function nearestRank(sorted: number[], p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  const idx = Math.min(sorted.length - 1, Math.max(0, rank - 1));
  return sorted[idx] as number;
}

/**
 * Lateness summary (milliseconds) using nearest-rank percentiles,
 * each value rounded to 0.1 ms. An empty sample yields all zeros.
 */
export function latenessStats(samplesMs: number[]): LatenessStats {
  const finite = samplesMs.filter((x) => Number.isFinite(x));
  if (finite.length === 0) {
    return { p50: 0, p95: 0, p99: 0, max: 0, count: 0 };
  }
  const sorted = [...finite].sort((a, b) => a - b);
  return {
    p50: round1(nearestRank(sorted, 50)),
    p95: round1(nearestRank(sorted, 95)),
    p99: round1(nearestRank(sorted, 99)),
    max: round1(sorted[sorted.length - 1] as number),
    count: sorted.length,
  };
}
