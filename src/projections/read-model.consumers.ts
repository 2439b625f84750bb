import { Controller, Inject, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { StoredEvent } from '../events/stored-event.js';
import { EventLogConsumer } from '../infra/transport/event-stream.transport.js';
import { METRICS, type ChronosMetrics } from '../observability/metrics.js';
import { READ_MODEL_NAMES, READ_MODELS } from './read-models.js';
import { applyIsolated, listStalls, type ProjectionStall } from './stalls.js';

/** A stalled read model is reported at once, then once a minute while it stays stalled. */
const REPORT_EVERY_MS = 60_000;

/**
 * Feeds the read models from one durable consumer of the event log: one delivery, one decode and one
 * PostgreSQL transaction per batch for all of them, each with its own checkpoint in that transaction. An
 * event a read model cannot apply stalls that read model for that event's job only (src/projections/stalls.ts).
 */
@Controller()
export class ReadModelConsumers implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('ReadModels');
  private readonly projections = READ_MODELS.map((model) => model.projection);
  /** When each read model's stall was last logged. */
  private readonly reportedAt = new Map<string, number>();
  private reminder: NodeJS.Timeout | undefined;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(METRICS) private readonly metrics: ChronosMetrics,
  ) {}

  // The checkpoints, not the consumer's acknowledgements, say what is applied: a lost ack or a restored database replays.
  @EventLogConsumer('read-models', { checkpoints: READ_MODEL_NAMES })
  project(events: StoredEvent[]) {
    return applyIsolated(this.dataSource, this.projections, events, (stall) => this.stalled(stall));
  }

  onApplicationBootstrap(): void {
    this.reminder = setInterval(() => void this.remind().catch(() => undefined), REPORT_EVERY_MS);
    this.reminder.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.reminder);
  }

  private stalled(stall: ProjectionStall): void {
    this.metrics.projectionStalls.inc({ projection: stall.projection, code: stall.code });
    if (Date.now() - (this.reportedAt.get(stall.projection) ?? -Infinity) < REPORT_EVERY_MS) return;
    this.report(stall, 1);
  }

  /** One line a minute per stalled read model, from the table: every projector instance sees the same. */
  private async remind(): Promise<void> {
    const stalls = await listStalls(this.dataSource);
    for (const projection of new Set(stalls.map((stall) => stall.projection))) {
      const own = stalls.filter((stall) => stall.projection === projection);
      if (Date.now() - (this.reportedAt.get(projection) ?? -Infinity) >= REPORT_EVERY_MS - 1000) this.report(own[0]!, own.length);
    }
  }

  private report(first: ProjectionStall, jobs: number): void {
    this.reportedAt.set(first.projection, Date.now());
    this.log.error({
      msg: `read model ${first.projection} is stalled: it holds back ${jobs} job(s) whose events it cannot apply; the other jobs and read models go on. See GET /api/v1/admin/projections; once the cause is fixed, POST /api/v1/admin/projections/${first.projection}/resume`,
      projection: first.projection,
      stalledJobs: jobs,
      jobId: first.aggregateId,
      sequence: first.sequence,
      eventType: first.eventType,
      code: first.code,
      error: first.error,
      since: first.since,
    });
  }
}
