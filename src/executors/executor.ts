import type { JobType } from '../domain/job/job-spec.js';
import type { LogLevel } from '../events/messages.js';

/** An entry's level (the log entry's shape is in src/events/messages.ts). */
export type { LogLevel };

/**
 * Writes one entry to the execution's log (readable through the API). Bounded per execution: past the
 * cap entries are dropped and the log says so. Never pass secrets.
 */
export type ExecutionLog = (level: LogLevel, message: string, metadata?: Record<string, unknown>) => void;

/** What an executor gets for one attempt. `signal` aborts the run on timeout or shutdown. */
export interface ExecutionContext {
  jobId: string;
  executionId: string;
  scheduledAt: string;
  attempt: number;
  payload: Record<string, unknown>;
  signal: AbortSignal;
  log: ExecutionLog;
}

/**
 * A run that ended badly. The worker records `message` as the execution's error; `retryable: false` means
 * another attempt cannot help (the remaining attempts are skipped, and the record says so).
 */
export class ExecutionFailure extends Error {
  override name = 'ExecutionFailure';
  constructor(
    message: string,
    readonly output?: unknown,
    readonly retryable = true,
  ) {
    super(message);
  }
}

/** One job type's way of running. Returns the execution's `output`; throws ExecutionFailure on failure. */
export interface Executor {
  readonly type: JobType;
  run(context: ExecutionContext): Promise<unknown>;
}

export const EXECUTORS = Symbol('Executors');
