import type { ExecutionContext, LogLevel } from '../../src/executors/executor.js';

export interface Logged {
  level: LogLevel;
  message: string;
  metadata?: Record<string, unknown>;
}

/** What a worker hands an executor, for executor specs: a fixed job and execution, and the lines it logs. */
export function executionContext(
  payload: Record<string, unknown>,
  { signal = new AbortController().signal, attempt = 1 }: { signal?: AbortSignal; attempt?: number } = {},
): ExecutionContext & { logged: Logged[] } {
  const logged: Logged[] = [];
  return {
    jobId: 'job-1',
    executionId: 'exec-1',
    scheduledAt: '2026-01-01T00:00:00.000Z',
    attempt,
    payload,
    signal,
    log: (level, message, metadata) => logged.push({ level, message, metadata }),
    logged,
  };
}
