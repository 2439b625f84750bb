import { Controller, Get, Inject, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { EVENTS_STREAM, LIFECYCLE_STREAM, LOGS_STREAM, SCHEDULER_LEASE, WORK_STREAM } from '../events/streams.js';
import { leaseHolder } from '../infra/lease.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { ServiceProbes, type ServiceProbe } from '../infra/service-probes.js';
import { DashboardStatsQuery, type DashboardStats } from '../projections/dashboard/dashboard-stats.query.js';
import { readModelLags } from '../projections/read-model-lag.js';
import { CurrentCaller, type Caller } from './caller.js';
import { DashboardHealthDto, DashboardStatsDto, type StreamHealthDto } from './dto/dashboard.dto.js';

/** A probe as the dashboard shows it: why a service is down is for the logs. */
const shown = ({ status, latencyMs }: ServiceProbe) => ({ status, latencyMs });

/** What an operator looks at first: the caller's jobs at a glance, and how the services and streams are. */
@ApiTags('dashboard')
@ApiBearerAuth()
@Controller('dashboard')
export class DashboardController {
  constructor(
    private readonly queries: QueryBus,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    private readonly probes: ServiceProbes,
  ) {}

  @Get('stats')
  @ApiOperation({ summary: 'Your jobs at a glance (admins: all jobs)' })
  @ApiOkResponse({ type: DashboardStatsDto })
  stats(@CurrentCaller() caller: Caller): Promise<DashboardStats> {
    return this.queries.execute(new DashboardStatsQuery(caller.role === 'admin' ? undefined : caller.id, new Date()));
  }

  @Get('health')
  @ApiOperation({ summary: 'Services, streams (with their replicas and leader), read models with latencies and lag, and the active scheduler; degraded when a service is down (503) or a read model is stalled (200)' })
  @ApiOkResponse({ type: DashboardHealthDto })
  @ApiServiceUnavailableResponse({ type: DashboardHealthDto, description: 'a service is down' })
  async health(@Res({ passthrough: true }) res: Response): Promise<DashboardHealthDto> {
    const probes = await this.probes.all();
    const [postgres, redis, nats] = [shown(probes.postgres), shown(probes.redis), shown(probes.nats)];
    const streams: Record<string, StreamHealthDto | null> = {};
    for (const name of [EVENTS_STREAM, WORK_STREAM, LIFECYCLE_STREAM, LOGS_STREAM]) {
      const info = await this.nats.jsm.streams.info(name).catch(() => null);
      streams[name] = info && { messages: info.state.messages, lastSequence: info.state.last_seq, replicas: info.config.num_replicas, leader: info.cluster?.leader || null };
    }
    const activeScheduler = nats.status === 'up' ? await leaseHolder(this.nats, SCHEDULER_LEASE).catch(() => undefined) : undefined;
    const last = streams[EVENTS_STREAM]?.lastSequence ?? 0;
    const lags = postgres.status === 'up' ? await readModelLags(this.dataSource, last) : [];
    const projections = lags.map(({ name, position, lagEvents, stalls }) => ({
      name,
      position,
      lagEvents,
      status: stalls[0] ? ('stalled' as const) : ('live' as const),
      stalledJobs: stalls.length,
      ...(stalls[0] ? { stalledAt: { sequence: stalls[0].sequence, code: stalls[0].code, since: stalls[0].since } } : {}),
    }));
    const servicesUp = [postgres, redis, nats].every((s) => s.status === 'up');
    // A stalled read model degrades the answer but is no outage: 503 only when a service is down.
    res.status(servicesUp ? 200 : 503);
    const stalled = projections.some((projection) => projection.status === 'stalled');
    return { status: servicesUp && !stalled ? 'ok' : 'degraded', services: { postgres, redis, nats }, streams, projections, scheduler: { activeInstance: activeScheduler ?? null } };
  }
}
