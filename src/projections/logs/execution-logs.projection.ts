import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { decodeLogEntries, type LogEntry } from '../../events/messages.js';
import { EXECUTION_LOGS_CONSUMER as CONSUMER, LOGS_STREAM } from '../../events/streams.js';
import { recordableEntry } from '../../executors/recordable.js';
import { ensureDurableConsumer, runEach, type RunningConsumer } from '../../infra/durable-consumer.js';
import { NATS_CLIENTS, type NatsClients } from '../../infra/nats.js';
import { FINISHED_STATUSES } from '../executions/executions.projection.js';

/**
 * An entry as the table holds it. Workers ship recordable entries; this makes those shipped before they did
 * (a NUL from a script's stderr) storable too, so one batch cannot hold back every other execution's logs.
 */
const storedEntry = (entry: LogEntry) => {
  const recorded = recordableEntry(entry.level, entry.message, entry.metadata);
  return { ...entry, ...recorded, severity: LOG_SEVERITY[recorded.level] };
};
export const LOG_SEVERITY = { debug: 10, info: 20, warn: 30, error: 40 } as const;
const ACK_WAIT_MS = 30_000;

/**
 * Stores execution logs from the CHRONOS_LOGS side channel in `execution_logs`. Entries carry their own
 * ids and inserts skip known ones, so a redelivered batch changes nothing and order does not matter:
 * several projector instances may share the consumer.
 */
@Injectable()
export class ExecutionLogsProjection implements OnApplicationBootstrap, OnApplicationShutdown {
  private consumer: RunningConsumer | undefined;

  constructor(
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    @Inject(DataSource) private readonly dataSource: DataSource,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = await runEach(this.nats, {
      durable: CONSUMER,
      stream: LOGS_STREAM,
      ensure: (jsm) => ensureDurableConsumer(jsm, LOGS_STREAM, { durable_name: CONSUMER, ack_wait: ACK_WAIT_MS * 1_000_000, max_ack_pending: 1000 }),
      ackWaitMs: ACK_WAIT_MS,
      decode: (message) => decodeLogEntries(message.json()),
      // One message (a batch of entries: one statement) at a time; order does not matter.
      concurrency: 1,
      prefetch: 100,
      handle: (entries) => this.store(entries),
      onFailure: { retry: { firstMs: 1000, maxMs: 30_000 } },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }

  async store(entries: LogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.dataSource.query(
      `INSERT INTO execution_logs (id, execution_id, job_id, seq, level, severity, message, metadata, timestamp)
       SELECT id, "executionId", "jobId", seq, level, severity, message, metadata, timestamp
       FROM jsonb_to_recordset($1::jsonb) AS e(id uuid, "executionId" uuid, "jobId" uuid, seq integer, level text, severity smallint, message text, metadata jsonb, timestamp timestamptz)
       -- Entries older than the retention horizon (their day dropped) are not kept (docs/architecture.md, Retention).
       WHERE timestamp >= COALESCE((SELECT horizon FROM history_horizons WHERE name = 'execution_logs'), '-infinity')
       ON CONFLICT (id, timestamp) DO NOTHING`,
      [JSON.stringify(entries.map(storedEntry))],
    );
    await this.dropBeyondHistoryLimit([...new Set(entries.map((entry) => entry.jobId))]);
  }

  /**
   * Entries that arrive after their execution left the history (beyond its job's historyLimit: the executions
   * projection removed the row and the logs it had) leave too: those older than the job's oldest kept execution
   * whose execution has no row. Logs of runs still in the history, or not projected yet (newer), stay.
   */
  private async dropBeyondHistoryLimit(jobIds: string[]): Promise<void> {
    await this.dataSource.query(
      `WITH cut AS (
         SELECT l.job_id,
                (SELECT e.queued_at FROM executions e WHERE e.job_id = l.job_id AND e.status = ANY($2::text[])
                 ORDER BY e.queued_at DESC, e.id DESC OFFSET l.history_limit - 1 LIMIT 1) AS oldest
         FROM execution_history_limits l WHERE l.job_id = ANY($1::uuid[])
       )
       DELETE FROM execution_logs x USING cut
       WHERE x.job_id = cut.job_id AND x.timestamp < cut.oldest
         AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.id = x.execution_id AND e.job_id = x.job_id)`,
      [jobIds, FINISHED_STATUSES],
    );
  }
}
