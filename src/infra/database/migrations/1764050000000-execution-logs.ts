import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Execution logs, stored from the CHRONOS_LOGS side channel. */
export class ExecutionLogs1764050000000 implements MigrationInterface {
  name = 'ExecutionLogs1764050000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE execution_logs (
        id uuid PRIMARY KEY,
        execution_id uuid NOT NULL,
        job_id uuid NOT NULL,
        seq integer NOT NULL,
        level text NOT NULL,
        severity smallint NOT NULL,
        message text NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}',
        timestamp timestamptz NOT NULL
      )`);
    await db.query(`CREATE INDEX execution_logs_execution ON execution_logs (execution_id, timestamp)`);
    await db.query(`CREATE INDEX execution_logs_job ON execution_logs (job_id, timestamp)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE execution_logs`);
  }
}
