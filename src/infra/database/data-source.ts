import { DataSource } from 'typeorm';
import { InitialReadModels1763800000000 } from './migrations/1763800000000-initial-read-models.js';
import { UsersAndSessions1763900000000 } from './migrations/1763900000000-users-and-sessions.js';
import { RetriesAndDeadLetters1764000000000 } from './migrations/1764000000000-retries-and-dead-letters.js';
import { ExecutionLogs1764050000000 } from './migrations/1764050000000-execution-logs.js';
import { JobKeys1764100000000 } from './migrations/1764100000000-job-keys.js';
import { ProjectionRebuilds1764200000000 } from './migrations/1764200000000-projection-rebuilds.js';
import { RetryCorrelation1764300000000 } from './migrations/1764300000000-retry-correlation.js';
import { ProjectionStalls1764400000000 } from './migrations/1764400000000-projection-stalls.js';
import { ReadIndexes1764500000000 } from './migrations/1764500000000-read-indexes.js';
import { TimerPositions1764650000000 } from './migrations/1764650000000-timer-positions.js';
import { HistoryRetention1764700000000 } from './migrations/1764700000000-history-retention.js';

/** The PostgreSQL read-model database. Schema changes go through migrations, never `synchronize`. */
export function createDataSource(url: string): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    migrations: [InitialReadModels1763800000000, UsersAndSessions1763900000000, RetriesAndDeadLetters1764000000000, ExecutionLogs1764050000000, JobKeys1764100000000, ProjectionRebuilds1764200000000, RetryCorrelation1764300000000, ProjectionStalls1764400000000, ReadIndexes1764500000000, TimerPositions1764650000000, HistoryRetention1764700000000],
    migrationsTableName: 'chronos_migrations',
    synchronize: false,
    // Failed queries surface as errors where they are handled; TypeORM's own log would print every
    // parameter (job specs, outputs) of each one.
    logging: false,
    // A connection not had within 5 s (PostgreSQL unreachable, or every connection busy) fails the query, so a
    // request answers 503 with Retry-After (problem-details.filter.ts) instead of waiting in the pool for ever.
    extra: { max: 20, connectionTimeoutMillis: 5000 },
  });
}

export async function runMigrations(url: string): Promise<void> {
  const dataSource = await createDataSource(url).initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
}
