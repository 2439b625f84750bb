import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Retry timers (one per failed attempt waiting for its next one) and the dead letters read model. */
export class RetriesAndDeadLetters1764000000000 implements MigrationInterface {
  name = 'RetriesAndDeadLetters1764000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE retry_timers (
        execution_id uuid PRIMARY KEY,
        job_id uuid NOT NULL,
        retry_at timestamptz NOT NULL
      )`);
    await db.query(`CREATE INDEX retry_timers_due ON retry_timers (retry_at)`);
    await db.query(`CREATE INDEX retry_timers_job ON retry_timers (job_id)`);
    await db.query(`
      CREATE TABLE dead_letters (
        id uuid PRIMARY KEY,
        job_id uuid NOT NULL,
        execution_id uuid NOT NULL,
        scheduled_at timestamptz NOT NULL,
        attempts integer NOT NULL,
        last_error text NOT NULL,
        reason text NOT NULL,
        dead_lettered_at timestamptz NOT NULL
      )`);
    await db.query(`CREATE INDEX dead_letters_job ON dead_letters (job_id, dead_lettered_at DESC)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE dead_letters, retry_timers`);
  }
}
