import { formatDuration } from './time.js';

// The API's own types (erased at build: the CLI imports nothing of the server at run time).
export type { ReadModelStatus as ProjectionStatus, RebuildOutcome, RebuildProgress } from '../projections/rebuild/projection-rebuilds.js';
import type { ReadModelStatus as ProjectionStatus, RebuildOutcome, RebuildProgress } from '../projections/rebuild/projection-rebuilds.js';

export type RebuildState =
  | { state: 'running'; progress?: RebuildProgress }
  | { state: 'succeeded'; outcome: RebuildOutcome }
  | { state: 'failed'; error: string }
  /** Not running, and its outcome is not (or not yet) the one reported. */
  | { state: 'unknown' };

/** Where rebuild `rebuildId` of a projection stands, read from the projection's entry (undefined: not listed). */
export function rebuildStateOf(projection: ProjectionStatus | undefined, rebuildId: string): RebuildState {
  if (projection?.status === 'rebuilding') return { state: 'running', progress: projection.progress };
  const outcome = projection?.lastRebuild;
  if (outcome?.rebuildId !== rebuildId) return { state: 'unknown' };
  return outcome.status === 'succeeded' ? { state: 'succeeded', outcome } : { state: 'failed', error: outcome.error ?? 'no reason given' };
}

export function percentOf(progress: RebuildProgress): number {
  const percent = Number.isFinite(progress.percent) ? progress.percent : progress.target > 0 ? (100 * progress.position) / progress.target : 0;
  return Math.min(100, Math.max(0, percent));
}

/** Seconds left: the server's estimate, else what is left at the current rate; null when nothing tells. */
export function etaSecondsOf(progress: RebuildProgress): number | null {
  if (typeof progress.etaSeconds === 'number') return progress.etaSeconds;
  const remaining = Math.max(0, progress.target - progress.position);
  if (remaining === 0) return 0;
  return progress.eventsPerSecond > 0 ? remaining / progress.eventsPerSecond : null;
}

export function progressBar(percent: number, width: number): string {
  const filled = Math.round((width * Math.min(100, Math.max(0, percent))) / 100);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}

const count = (value: number) => Math.round(value).toLocaleString('en-US');

/**
 * One progress line. `tty`: a bar, redrawn in place; `plain`: words only, for logs and pipes:
 *   jobs [██████░░░░░░░░░░░░░░]  30.0%  3,000/10,000 events  1,500 events/s  ETA 5s
 *   jobs: 30.0% (3,000/10,000 events, 1,500 events/s, ETA 5s)
 */
export function renderProgressLine(name: string, progress: RebuildProgress, style: 'tty' | 'plain', barWidth = 20): string {
  const percent = `${percentOf(progress).toFixed(1)}%`;
  const events = `${count(progress.position)}/${count(progress.target)} events`;
  const rate = `${count(progress.eventsPerSecond)} events/s`;
  const eta = etaSecondsOf(progress);
  const etaText = `ETA ${eta === null ? 'unknown' : formatDuration(eta)}`;
  return style === 'tty'
    ? `${name} ${progressBar(percentOf(progress), barWidth)} ${percent.padStart(6)}  ${events}  ${rate}  ${etaText}`
    : `${name}: ${percent} (${events}, ${rate}, ${etaText})`;
}
