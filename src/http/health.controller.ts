import { Controller, Get, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService, type HealthCheckResult, type HealthIndicatorResult } from '@nestjs/terminus';
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { REDIS } from '../infra/redis.js';
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

const within = <T>(ms: number, work: Promise<T>) =>
  Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

/**
 * Public health, without internals. Liveness: the process answers. Readiness: it can do its work, which
 * needs PostgreSQL and NATS; Redis only serves rate limits and the logout blacklist (both degrade
 * gracefully), so a Redis outage is reported as `degraded`, not unready. The checks run through
 * @nestjs/terminus (its indicators, run together, each with a 1 s limit); its own answer, which carries the
 * error of each failed check, is logged but never sent: a public route says only up or down.
 */
@ApiTags('health')
@Public()
@SkipRateLimit()
@Controller('health')
export class HealthController {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    @Inject(REDIS) private readonly redis: Redis,
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
    const details = await this.healthChecks
      .check([
        () => this.probe('postgres', () => this.dataSource.query('SELECT 1')),
        () => this.probe('nats', () => this.nats.connection.flush()),
        () => this.probe('redis', () => this.redis.ping()),
      ])
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
      const rows: unknown[] = await within(1000, this.dataSource.query(`SELECT 1 FROM projection_stalls LIMIT 1`));
      return rows.length ? 'stalled' : 'live';
    } catch {
      return 'unknown';
    }
  }

  private async probe(key: string, check: () => Promise<unknown>): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    try {
      await within(1000, check());
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}
