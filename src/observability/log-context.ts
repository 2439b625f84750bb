import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What a log line is about, carried across awaits by AsyncLocalStorage and merged into every line: set at
 * the edges (an HTTP request, an event a saga reacts to, a work item a worker runs), never passed by hand.
 */
export interface LogContext {
  requestId?: string;
  /** The chain of work one HTTP request or one scheduled fire started: the `correlationId` of its events. */
  correlationId?: string;
  /** The event or message being reacted to. */
  causationId?: string;
  jobId?: string;
  executionId?: string;
  attempt?: number;
}

const storage = new AsyncLocalStorage<LogContext>();

/** The context of the code running now (empty outside any). */
export const logContext = (): LogContext => storage.getStore() ?? {};

/** Runs `fn` with `context` added to the current one. */
export function withLogContext<T>(context: LogContext, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...context }, fn);
}
