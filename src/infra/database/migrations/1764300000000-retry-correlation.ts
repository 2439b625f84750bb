import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A retry timer remembers the correlation id of the run that failed, so the retry the scheduler fires
 * carries it on: one failing job's attempts share one correlation id in events and logs.
 */
export class RetryCorrelation1764300000000 implements MigrationInterface {
  name = 'RetryCorrelation1764300000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE retry_timers ADD COLUMN correlation_id text`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE retry_timers DROP COLUMN correlation_id`);
  }
}
