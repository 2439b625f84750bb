import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
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
  @ApiProperty({ enum: ['ok', 'degraded', 'unavailable'], description: 'degraded: Redis is down (rate limits off, revocation checked in PostgreSQL)' })
  status!: 'ok' | 'degraded' | 'unavailable';
  @ApiProperty({ description: 'each dependency: up or down', example: { postgres: 'up', nats: 'up', redis: 'up' } })
  checks!: Record<string, 'up' | 'down'>;
}

const within = <T>(ms: number, work: Promise<T>) =>
  Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

/**
 * Public health, without internals. Liveness: the process answers. Readiness: it can do its work, which
 * needs PostgreSQL and NATS; Redis only serves rate limits and the logout blacklist (both degrade
 * gracefully), so a Redis outage is reported as `degraded`, not unready. (Not @nestjs/terminus: its 503
 * bodies carry error details, which a public route must not.)
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
  @ApiOperation({ summary: 'Readiness: PostgreSQL and NATS answer (send traffic only when this is 200)' })
  @ApiOkResponse({ type: HealthDto })
  @ApiServiceUnavailableResponse({ type: HealthDto })
  async ready(@Res({ passthrough: true }) res: Response): Promise<HealthDto> {
    const check = async (probe: () => Promise<unknown>) => within(1000, probe()).then(() => 'up' as const, () => 'down' as const);
    const [postgres, nats, redis] = await Promise.all([
      check(() => this.dataSource.query('SELECT 1')),
      check(() => this.nats.connection.flush()),
      check(() => this.redis.ping()),
    ]);
    const ready = postgres === 'up' && nats === 'up';
    res.status(ready ? 200 : 503);
    return { status: !ready ? 'unavailable' : redis === 'up' ? 'ok' : 'degraded', checks: { postgres, nats, redis } };
  }
}
