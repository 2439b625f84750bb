import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { problemText, type Problem } from '../api/client';

/** What a status looks like: a symbol and its word, so it is never told by colour alone. */
const STATUS_SYMBOLS: Record<string, string> = {
  active: '●',
  live: '●',
  succeeded: '✓',
  completed: '✓',
  ok: '✓',
  up: '✓',
  paused: '⏸',
  queued: '…',
  running: '▶',
  rebuilding: '↻',
  failed: '✗',
  timed_out: '⏱',
  down: '✗',
  stalled: '⚠',
  degraded: '⚠',
  skipped: '↷',
  cancelled: '⊘',
};

export function StatusBadge({ status }: { status: string | null | undefined }) {
  if (!status) return <span className="muted">—</span>;
  return (
    <span className={`badge badge-${status}`}>
      <span aria-hidden="true">{STATUS_SYMBOLS[status] ?? '•'}</span> {status.replace('_', ' ')}
    </span>
  );
}

/** A refusal from the API, announced to screen readers. */
export function ProblemMessage({ problem, fallback }: { problem: Problem | string | undefined; fallback?: string }) {
  if (!problem) return null;
  return (
    <p role="alert" className="problem">
      {typeof problem === 'string' ? problem : problemText(problem, fallback)}
    </p>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <p role="status" className="notice">
      {children}
    </p>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  problem: Problem | undefined;
  reload: () => void;
}

/** Loads with `load` now and on `reload()`; keeps the last data while a reload runs (no flicker on live updates). */
export function useLoad<T>(load: () => Promise<{ data?: T; error?: Problem }>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [problem, setProblem] = useState<Problem | undefined>(undefined);
  const [version, setVersion] = useState(0);
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    let current = true;
    void latest.current().then(({ data: loaded, error }) => {
      if (!current) return;
      setProblem(error);
      if (loaded !== undefined) setData(loaded);
    });
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the caller names what the load depends on
  }, [...deps, version]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { data, problem, reload };
}

export function Pagination({ page, totalPages, onPage, label }: { page: number; totalPages: number; onPage: (page: number) => void; label: string }) {
  if (totalPages <= 1) return null;
  return (
    <nav aria-label={`${label} pages`} className="pagination">
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous page
      </button>
      <span>
        Page {page} of {totalPages}
      </span>
      <button type="button" disabled={page >= totalPages} onClick={() => onPage(page + 1)}>
        Next page
      </button>
    </nav>
  );
}
