import { randomUUID } from 'node:crypto';
import type { LogEntry, LogLevel } from '../events/messages.js';
import type { ExecutionLog } from '../executors/executor.js';
import { MAX_LOG_BYTES, MAX_LOG_ENTRIES, recordableEntry } from '../executors/recordable.js';

/**
 * The bounded log of one execution, collected by the worker and shipped in batches on the side channel
 * CHRONOS_LOGS (not the event log: logs are many, large and not facts the job's rules depend on).
 */
export class ExecutionLogBuffer {
  private pending: LogEntry[] = [];
  private entries = 0;
  private bytes = 0;
  private truncated = false;

  /** `mask`: applied to every string of an entry before it is cut (the run's secrets). */
  constructor(
    private readonly jobId: string,
    private readonly executionId: string,
    private readonly mask?: (text: string) => string,
  ) {}

  readonly log: ExecutionLog = (level, message, metadata) => {
    if (this.truncated) return;
    const entry = recordableEntry(level, message, metadata, this.mask);
    const size = Buffer.byteLength(entry.message) + Buffer.byteLength(JSON.stringify(entry.metadata));
    if (this.entries >= MAX_LOG_ENTRIES - 1 || this.bytes + size > MAX_LOG_BYTES) {
      this.truncated = true;
      this.push('warn', `log truncated: an execution keeps at most ${MAX_LOG_ENTRIES} entries and ${MAX_LOG_BYTES} bytes`, {});
      return;
    }
    this.bytes += size;
    this.push(entry.level, entry.message, entry.metadata);
  };

  private push(level: LogLevel, message: string, metadata: Record<string, unknown>): void {
    this.entries++;
    this.pending.push({ id: randomUUID(), seq: this.entries, executionId: this.executionId, jobId: this.jobId, level, message, metadata, timestamp: new Date().toISOString() });
  }

  /** Takes what was logged since the last call. */
  drain(): LogEntry[] {
    const entries = this.pending;
    this.pending = [];
    return entries;
  }
}

/**
 * Ships log entries of every execution on this worker together: entries handed in within a few
 * milliseconds share one publish, and each caller learns when its entries are durable.
 */
export class LogShipper {
  /** The batch being filled: its entries, and the promise every contributor waits on. */
  private batch: { entries: LogEntry[]; done: Promise<void>; settle: (error?: unknown) => void; timer: NodeJS.Timeout } | undefined;

  constructor(
    private readonly publish: (entries: LogEntry[]) => Promise<void>,
    private readonly lingerMs = 20,
    private readonly maxBatch = 500,
  ) {}

  ship(entries: LogEntry[]): Promise<void> {
    const batch = (this.batch ??= this.open());
    batch.entries.push(...entries);
    if (batch.entries.length >= this.maxBatch) this.flush(batch);
    return batch.done;
  }

  private open(): NonNullable<LogShipper['batch']> {
    let settle!: (error?: unknown) => void;
    const done = new Promise<void>((resolve, reject) => (settle = (error) => (error === undefined ? resolve() : reject(error))));
    const batch = { entries: [] as LogEntry[], done, settle, timer: setTimeout(() => this.flush(batch), this.lingerMs) };
    return batch;
  }

  private flush(batch: NonNullable<LogShipper['batch']>): void {
    clearTimeout(batch.timer);
    if (this.batch === batch) this.batch = undefined;
    this.publish(batch.entries).then(() => batch.settle(), (error: unknown) => batch.settle(error ?? new Error('log publish failed')));
  }
}
