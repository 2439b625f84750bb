import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { REDIS } from '../infra/redis.js';
import { Public } from './auth/public.decorator.js';
import { SkipRateLimit } from './rate-limit/rate-limit.guard.js';

class HealthDto {
  @ApiProperty({ enum: ['ok', 'unavailable'] }) status!: 'ok' | 'unavailable';
  @ApiProperty({ description: 'each dependency: up or down', example: { postgres: 'up', nats: 'up', redis: 'up' } })
  checks!: Record<string, 'up' | 'down'>;
}

const within = <T>(ms: number, work: Promise<T>) =>
  Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

/** Public liveness and readiness: 200 when every dependency answers, 503 otherwise. No internals. */
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
  @ApiOkResponse({ type: HealthDto })
  @ApiServiceUnavailableResponse({ type: HealthDto })
  async health(@Res({ passthrough: true }) res: Response): Promise<HealthDto> {
    const check = async (probe: () => Promise<unknown>) => within(1000, probe()).then(() => 'up' as const, () => 'down' as const);
    const [postgres, nats, redis] = await Promise.all([
      check(() => this.dataSource.query('SELECT 1')),
      check(() => this.nats.connection.flush()),
      check(() => this.redis.ping()),
    ]);
    const checks = { postgres, nats, redis };
    const ok = Object.values(checks).every((c) => c === 'up');
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'unavailable', checks };
  }
}
