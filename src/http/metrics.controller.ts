import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { EVENTS_STREAM, WORK_STREAM } from '../events/streams.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { METRICS, type ChronosMetrics } from '../observability/metrics.js';
import { WORKERS_CONSUMER } from '../worker/worker.service.js';
import { Public } from './auth/public.decorator.js';
import { SkipRateLimit } from './rate-limit/rate-limit.guard.js';

/** Prometheus text format. Gauges of the read models and streams are refreshed on every scrape. */
@ApiExcludeController()
@Public()
@SkipRateLimit()
@Controller('metrics')
export class MetricsController {
  constructor(
    @Inject(METRICS) private readonly metrics: ChronosMetrics,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
  ) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    await Promise.all([this.readModels(), this.streams()]).catch(() => undefined);
    return this.metrics.registry.metrics();
  }

  private async readModels(): Promise<void> {
    const [jobs, executions, checkpoints]: [{ status: string; n: number }[], { status: string; type: string; n: number }[], { name: string; position: string; stalled: number }[]] = await Promise.all([
      this.dataSource.query(`SELECT status, count(*)::int AS n FROM jobs GROUP BY status`),
      this.dataSource.query(`SELECT e.status, j.type, count(*)::int AS n FROM executions e JOIN jobs j ON j.id = e.job_id GROUP BY e.status, j.type`),
      this.dataSource.query(
        `SELECT c.name, c.position, (SELECT count(*)::int FROM projection_stalls s WHERE s.projection = c.name) AS stalled FROM projection_checkpoints c`,
      ),
    ]);
    this.metrics.jobs.reset();
    for (const row of jobs) this.metrics.jobs.set({ status: row.status }, row.n);
    this.metrics.executions.reset();
    for (const row of executions) this.metrics.executions.set({ status: row.status, type: row.type }, row.n);
    const last = (await this.nats.jsm.streams.info(EVENTS_STREAM)).state.last_seq;
    for (const row of checkpoints) {
      this.metrics.projectionLag.set({ projection: row.name }, Math.max(0, last - Number(row.position)));
      this.metrics.projectionStalledJobs.set({ projection: row.name }, row.stalled);
    }
  }

  private async streams(): Promise<void> {
    const info = await this.nats.jsm.consumers.info(WORK_STREAM, WORKERS_CONSUMER).catch(() => null);
    this.metrics.workPending.set(info?.num_pending ?? 0);
    this.metrics.workInFlight.set(info?.num_ack_pending ?? 0);
  }
}
