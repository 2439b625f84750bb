import { Controller, Get, Inject, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { EVENTS_STREAM, LIFECYCLE_STREAM, LOGS_STREAM, WORK_STREAM } from '../events/streams.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { REDIS } from '../infra/redis.js';
import { DashboardStatsQuery, type DashboardStats } from '../projections/dashboard/dashboard-stats.query.js';
import { listStalls } from '../projections/stalls.js';
import { CurrentCaller, type Caller } from './caller.js';
import { DashboardHealthDto, DashboardStatsDto } from './dto/dashboard.dto.js';

type ServiceStatus = { status: 'up' | 'down'; latencyMs: number | null };

const timed = async (probe: () => Promise<unknown>): Promise<ServiceStatus> => {
  const started = performance.now();
  try {
    await Promise.race([probe(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1000).unref())]);
    return { status: 'up', latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch {
    return { status: 'down', latencyMs: null };
  }
};

/** What an operator looks at first: the caller's jobs at a glance, and how the services and streams are. */
@ApiTags('dashboard')
@ApiBearerAuth()
@Controller('dashboard')
export class DashboardController {
  constructor(
    private readonly queries: QueryBus,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  @Get('stats')
  @ApiOperation({ summary: 'Your jobs at a glance (admins: all jobs)' })
  @ApiOkResponse({ type: DashboardStatsDto })
  stats(@CurrentCaller() caller: Caller): Promise<DashboardStats> {
    return this.queries.execute(new DashboardStatsQuery(caller.role === 'admin' ? undefined : caller.id, new Date()));
  }

  @Get('health')
  @ApiOperation({ summary: 'Services, streams and read models, with latencies and lag; degraded when a service is down (503) or a read model is stalled (200)' })
  @ApiOkResponse({ type: DashboardHealthDto })
  @ApiServiceUnavailableResponse({ type: DashboardHealthDto, description: 'a service is down' })
  async health(@Res({ passthrough: true }) res: Response): Promise<DashboardHealthDto> {
    const [postgres, redis, nats] = await Promise.all([
      timed(() => this.dataSource.query('SELECT 1')),
      timed(() => this.redis.ping()),
      timed(() => this.nats.connection.flush()),
    ]);
    const streams: Record<string, { messages: number; lastSequence: number } | null> = {};
    for (const name of [EVENTS_STREAM, WORK_STREAM, LIFECYCLE_STREAM, LOGS_STREAM]) {
      const info = await this.nats.jsm.streams.info(name).catch(() => null);
      streams[name] = info && { messages: info.state.messages, lastSequence: info.state.last_seq };
    }
    const last = streams[EVENTS_STREAM]?.lastSequence ?? 0;
    const checkpoints: { name: string; position: string }[] = postgres.status === 'up' ? await this.dataSource.query(`SELECT name, position FROM projection_checkpoints ORDER BY name`) : [];
    const stalls = postgres.status === 'up' ? await listStalls(this.dataSource) : [];
    const projections = checkpoints.map((row) => {
      const stalled = stalls.filter((stall) => stall.projection === row.name);
      return {
        name: row.name,
        position: Number(row.position),
        lagEvents: Math.max(0, last - Number(row.position)),
        status: stalled.length ? ('stalled' as const) : ('live' as const),
        stalledJobs: stalled.length,
        ...(stalled[0] ? { stalledAt: { sequence: stalled[0].sequence, code: stalled[0].code, since: stalled[0].since } } : {}),
      };
    });
    const servicesUp = [postgres, redis, nats].every((s) => s.status === 'up');
    // A stalled read model degrades the answer but is no outage: 503 only when a service is down.
    res.status(servicesUp ? 200 : 503);
    return { status: servicesUp && stalls.length === 0 ? 'ok' : 'degraded', services: { postgres, redis, nats }, streams, projections };
  }
}
