import { Controller, Get, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService, type HealthCheckResult, type HealthIndicatorResult } from '@nestjs/terminus';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { ServiceProbes, within, type ServiceProbe } from '../infra/service-probes.js';
import { anyStalled } from '../projections/read-model-lag.js';
import { Public } from './auth/public.decorator.js';
import { SkipRateLimit } from './rate-limit/rate-limit.guard.js';

class LivenessDto {
  @ApiProperty({ enum: ['ok'] }) status!: 'ok';
}

class HealthDto {
  @ApiProperty({
    enum: ['ok', 'degraded', 'unavailable'],
    description: 'degraded: Redis is down (rate limits off, revocation checked in PostgreSQL), or a read model is stalled (GET /api/v1/admin/projections)',
  })
  status!: 'ok' | 'degraded' | 'unavailable';
  @ApiProperty({ description: 'each dependency: up or down', example: { postgres: 'up', nats: 'up', redis: 'up' } })
  checks!: Record<string, 'up' | 'down'>;
  @ApiProperty({ enum: ['live', 'stalled', 'unknown'], description: 'stalled: a read model holds back the events of some jobs it cannot apply; unknown: PostgreSQL is down' })
  readModels!: 'live' | 'stalled' | 'unknown';
}

/**
 * Public health, without internals. Liveness: the process answers. Readiness: it can do its work, which
 * needs PostgreSQL and NATS; Redis only serves rate limits and the logout blacklist (both degrade
 * gracefully), so a Redis outage is reported as `degraded`, not unready. The services are asked by
 * ServiceProbes (all at once, each with a 1 s limit), as the dashboard's health asks them; @nestjs/terminus
 * reports the probes, and its own answer, which carries the error of each failed check, is logged but never
 * sent: a public route says only up or down.
 */
@ApiTags('health')
@Public()
@SkipRateLimit()
@Controller('health')
export class HealthController {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly probes: ServiceProbes,
    private readonly healthChecks: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Readiness (the same as /health/ready)' })
  @ApiOkResponse({ type: HealthDto })
  @ApiServiceUnavailableResponse({ type: HealthDto })
  health(@Res({ passthrough: true }) res: Response): Promise<HealthDto> {
    return this.ready(res);
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers (restart it when this fails)' })
  @ApiOkResponse({ type: LivenessDto })
  live(): LivenessDto {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: PostgreSQL and NATS answer (send traffic only when this is 200); degraded when Redis is down or a read model is stalled' })
  @ApiOkResponse({ type: HealthDto })
  @ApiServiceUnavailableResponse({ type: HealthDto })
  async ready(@Res({ passthrough: true }) res: Response): Promise<HealthDto> {
    const probes = await this.probes.all();
    const details = await this.healthChecks
      .check([() => this.indicate('postgres', probes.postgres), () => this.indicate('nats', probes.nats), () => this.indicate('redis', probes.redis)])
      .then(
        (result) => result.details,
        (error: unknown) => {
          // Terminus answers a failed check with a 503 carrying every check's details.
          if (error instanceof ServiceUnavailableException) return (error.getResponse() as HealthCheckResult).details;
          throw error;
        },
      );
    const status = (key: 'postgres' | 'nats' | 'redis') => (details[key]?.status === 'up' ? ('up' as const) : ('down' as const));
    const checks = { postgres: status('postgres'), nats: status('nats'), redis: status('redis') };
    const ready = checks.postgres === 'up' && checks.nats === 'up';
    const readModels = checks.postgres === 'up' ? await this.readModels() : 'unknown';
    res.status(ready ? 200 : 503);
    return { status: !ready ? 'unavailable' : checks.redis === 'up' && readModels === 'live' ? 'ok' : 'degraded', checks, readModels };
  }

  /** A stalled read model still serves and still moves for every other job: degraded, not unready. */
  private async readModels(): Promise<'live' | 'stalled' | 'unknown'> {
    try {
      return (await within(1000, anyStalled(this.dataSource))) ? 'stalled' : 'live';
    } catch {
      return 'unknown';
    }
  }

  /** A probe as terminus reports it (and logs a failed one, with why). */
  private async indicate(key: string, probe: ServiceProbe): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    return probe.status === 'up' ? indicator.up() : indicator.down({ message: probe.error });
  }
}
