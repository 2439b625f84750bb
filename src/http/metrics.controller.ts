import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Header, Headers, Inject, Logger } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { AuthenticationError, ForbiddenError } from '../auth/auth.errors.js';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { WORK_STREAM, WORKERS_CONSUMER } from '../events/streams.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { METRICS, type ChronosMetrics } from '../observability/metrics.js';
import { endOfEventLog, readModelLags, type ReadModelLag } from '../projections/read-model-lag.js';
import { Public } from './auth/public.decorator.js';
import { SkipRateLimit } from './rate-limit/rate-limit.guard.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Prometheus text format, for a scraper holding METRICS_TOKEN (`Authorization: Bearer <token>`); without
 * it, no one. The figures say how the whole installation is doing (every tenant's jobs and runs together,
 * routes, the process), which is for operators only: aggregate figures alone would still tell anyone how
 * busy and how healthy it is. A scrape only reads gauges in memory; the counts over the read models and the
 * streams are refreshed behind it, at most once per METRICS_CACHE_MS whatever the scrape rate, one refresh
 * at a time.
 */
@ApiExcludeController()
@Public()
@SkipRateLimit()
@Controller('metrics')
export class MetricsController {
  private readonly log = new Logger(MetricsController.name);
  private readonly token: Buffer | undefined;
  private refreshedAt = -Infinity;
  private refreshing: Promise<void> | undefined;

  constructor(
    @Inject(METRICS) private readonly metrics: ChronosMetrics,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
  ) {
    this.token = config.metrics.token === undefined ? undefined : digest(config.metrics.token);
  }

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(@Headers('authorization') authorization: string | undefined): Promise<string> {
    this.authorize(authorization);
    if (this.refreshedAt === -Infinity) await this.refresh();
    else if (Date.now() - this.refreshedAt >= this.config.metrics.cacheMs) void this.refresh();
    return this.metrics.registry.metrics();
  }

  private authorize(authorization: string | undefined): void {
    if (!this.token) throw new ForbiddenError('METRICS_DISABLED', 'metrics are off: set METRICS_TOKEN and scrape with it as a bearer token');
    const presented = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
    // Digests of equal length, compared in constant time: the comparison says nothing about the token.
    if (!presented || !timingSafeEqual(digest(presented), this.token)) {
      throw new AuthenticationError('UNAUTHENTICATED', 'GET /metrics needs the bearer token of METRICS_TOKEN');
    }
  }

  /** One refresh at a time; a failed one leaves the last figures and is tried again at the next scrape. */
  private refresh(): Promise<void> {
    this.refreshing ??= Promise.all([this.readModels(), this.streams()])
      .then(() => void (this.refreshedAt = Date.now()))
      .catch((error: Error) => this.log.warn(`metrics not refreshed: ${error.message}`))
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async readModels(): Promise<void> {
    const [jobs, executions, lags]: [{ status: string; n: number }[], { status: string; type: string; n: number }[], ReadModelLag[]] = await Promise.all([
      this.dataSource.query(`SELECT status, count(*)::int AS n FROM jobs GROUP BY status`),
      this.dataSource.query(`SELECT e.status, j.type, count(*)::int AS n FROM executions e JOIN jobs j ON j.id = e.job_id GROUP BY e.status, j.type`),
      endOfEventLog(this.nats.jsm).then((last) => readModelLags(this.dataSource, last)),
    ]);
    this.metrics.jobs.reset();
    for (const row of jobs) this.metrics.jobs.set({ status: row.status }, row.n);
    this.metrics.executions.reset();
    for (const row of executions) this.metrics.executions.set({ status: row.status, type: row.type }, row.n);
    for (const lag of lags) {
      this.metrics.projectionLag.set({ projection: lag.name }, lag.lagEvents);
      this.metrics.projectionStalledJobs.set({ projection: lag.name }, lag.stalls.length);
    }
  }

  private async streams(): Promise<void> {
    const info = await this.nats.jsm.consumers.info(WORK_STREAM, WORKERS_CONSUMER).catch(() => null);
    this.metrics.workPending.set(info?.num_pending ?? 0);
    this.metrics.workInFlight.set(info?.num_ack_pending ?? 0);
  }
}
