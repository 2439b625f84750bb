import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ConsumerMessages } from '@nats-io/jetstream';
import { DataSource } from 'typeorm';
import { decodeLogEntries, type LogEntry } from '../../events/messages.js';
import { EXECUTION_LOGS_CONSUMER as CONSUMER, LOGS_STREAM } from '../../events/streams.js';
import { recordableEntry } from '../../executors/recordable.js';
import { ensureDurableConsumer } from '../../infra/durable-consumer.js';
import { NATS_CLIENTS, type NatsClients } from '../../infra/nats.js';

/**
 * An entry as the table holds it. Workers ship recordable entries; this makes those shipped before they did
 * (a NUL from a script's stderr) storable too, so one batch cannot hold back every other execution's logs.
 */
const storedEntry = (entry: LogEntry) => {
  const recorded = recordableEntry(entry.level, entry.message, entry.metadata);
  return { ...entry, ...recorded, severity: LOG_SEVERITY[recorded.level] };
};
export const LOG_SEVERITY = { debug: 10, info: 20, warn: 30, error: 40 } as const;

/**
 * Stores execution logs from the CHRONOS_LOGS side channel in `execution_logs`. Entries carry their own
 * ids and inserts skip known ones, so a redelivered batch changes nothing and order does not matter:
 * several projector instances may share the consumer.
 */
@Injectable()
export class ExecutionLogsProjection implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(ExecutionLogsProjection.name);
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    @Inject(DataSource) private readonly dataSource: DataSource,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await ensureDurableConsumer(this.nats.jsm, LOGS_STREAM, { durable_name: CONSUMER, ack_wait: 30_000_000_000, max_ack_pending: 1000 });
    this.messages = await (await this.nats.js.consumers.get(LOGS_STREAM, CONSUMER)).consume({ max_messages: 100 });
    this.loop = (async () => {
      for await (const message of this.messages!) {
        try {
          await this.store(decodeLogEntries(message.json()));
          message.ack();
        } catch (error) {
          this.log.error(`log batch ${message.seq} not stored, will be redelivered: ${(error as Error).message}`);
          message.nak(1000);
        }
      }
    })();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.messages?.close();
    await this.loop;
  }

  async store(entries: LogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.dataSource.query(
      `INSERT INTO execution_logs (id, execution_id, job_id, seq, level, severity, message, metadata, timestamp)
       SELECT id, "executionId", "jobId", seq, level, severity, message, metadata, timestamp
       FROM jsonb_to_recordset($1::jsonb) AS e(id uuid, "executionId" uuid, "jobId" uuid, seq integer, level text, severity smallint, message text, metadata jsonb, timestamp timestamptz)
       ON CONFLICT (id) DO NOTHING`,
      [JSON.stringify(entries.map(storedEntry))],
    );
  }
}
