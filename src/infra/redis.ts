import { Redis } from 'ioredis';

/** Redis holds only what is ephemeral (rate limits, the logout blacklist): losing it loses no job data. */
export function createRedis(url: string): Redis {
  return new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
}

export const REDIS = Symbol('Redis');
