import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { NATS_CLIENTS, type NatsClients } from './nats.js';
import { REDIS } from './redis.js';

/** A service is down when it does not answer within this: a hung connection must not hang a health check. */
const PROBE_LIMIT_MS = 1000;

export interface ServiceProbe {
  status: 'up' | 'down';
  /** How long the answer took, to a tenth of a millisecond; null when down. */
  latencyMs: number | null;
  /** Why it is down, for the logs only: public answers say up or down. */
  error?: string;
}

/** `work`, or a timeout error after `ms`. */
export const within = <T>(ms: number, work: Promise<T>): Promise<T> =>
  Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

/** The one way to ask whether PostgreSQL, NATS and Redis answer: GET /health and the dashboard's health both ask here. */
@Injectable()
export class ServiceProbes {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  /** Every service, asked at once. */
  async all(): Promise<Record<'postgres' | 'nats' | 'redis', ServiceProbe>> {
    const [postgres, nats, redis] = await Promise.all([
      probe(() => this.dataSource.query('SELECT 1')),
      probe(() => this.nats.connection.flush()),
      probe(() => this.redis.ping()),
    ]);
    return { postgres, nats, redis };
  }
}

async function probe(check: () => Promise<unknown>): Promise<ServiceProbe> {
  const started = performance.now();
  try {
    await within(PROBE_LIMIT_MS, check());
    return { status: 'up', latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (error) {
    return { status: 'down', latencyMs: null, error: (error as Error).message };
  }
}
