import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The first read models: jobs, executions, timers, and the checkpoint of each projection. */
export class InitialReadModels1763800000000 implements MigrationInterface {
  name = 'InitialReadModels1763800000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE projection_checkpoints (
        name text PRIMARY KEY,
        position bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE jobs (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL,
        name text NOT NULL,
        description text,
        type text NOT NULL,
        schedule_kind text NOT NULL,
        status text NOT NULL,
        next_run_at timestamptz,
        last_run_at timestamptz,
        labels jsonb NOT NULL DEFAULT '{}',
        version integer NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        state jsonb NOT NULL,
        stats jsonb NOT NULL
      )`);
    await db.query(`CREATE INDEX jobs_owner_created ON jobs (owner_id, created_at DESC)`);
    await db.query(`CREATE INDEX jobs_next_run ON jobs (next_run_at) WHERE next_run_at IS NOT NULL`);
    await db.query(`CREATE INDEX jobs_labels ON jobs USING gin (labels jsonb_path_ops)`);
    await db.query(`
      CREATE TABLE executions (
        id uuid PRIMARY KEY,
        job_id uuid NOT NULL,
        scheduled_at timestamptz NOT NULL,
        attempt integer NOT NULL,
        trigger text NOT NULL,
        status text NOT NULL,
        queued_at timestamptz NOT NULL,
        started_at timestamptz,
        finished_at timestamptz,
        duration_ms integer,
        output jsonb,
        error text,
        worker_id text
      )`);
    await db.query(`CREATE INDEX executions_job_queued ON executions (job_id, queued_at DESC)`);
    await db.query(`
      CREATE TABLE timers (
        job_id uuid PRIMARY KEY,
        scheduled_at timestamptz NOT NULL
      )`);
    await db.query(`CREATE INDEX timers_due ON timers (scheduled_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE timers, executions, jobs, projection_checkpoints`);
  }
}
