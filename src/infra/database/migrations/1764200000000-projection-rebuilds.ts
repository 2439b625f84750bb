import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Blue/green rebuilds of read models (src/projections/rebuild): one row per rebuild, its progress while it
 * runs and its outcome after. At most one runs per read model; `heartbeat_at` tells a running one from one
 * whose process died.
 */
export class ProjectionRebuilds1764200000000 implements MigrationInterface {
  name = 'ProjectionRebuilds1764200000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE projection_rebuilds (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
        position bigint NOT NULL DEFAULT 0,
        target bigint NOT NULL DEFAULT 0,
        started_at timestamptz NOT NULL,
        heartbeat_at timestamptz NOT NULL,
        finished_at timestamptz,
        error text
      )`);
    await db.query(`CREATE UNIQUE INDEX projection_rebuilds_one_running ON projection_rebuilds (name) WHERE status = 'running'`);
    await db.query(`CREATE INDEX projection_rebuilds_latest ON projection_rebuilds (name, started_at DESC)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE projection_rebuilds`);
  }
}
