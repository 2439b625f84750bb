import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The jobs a read model holds back: one row per (read model, job) whose event the projection could not
 * apply. The read model skips that job's events until the row is resolved (src/projections/stalls.ts).
 */
export class ProjectionStalls1764400000000 implements MigrationInterface {
  name = 'ProjectionStalls1764400000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE projection_stalls (
        projection text NOT NULL,
        aggregate_type text NOT NULL,
        aggregate_id text NOT NULL,
        sequence bigint NOT NULL,
        event_type text NOT NULL,
        code text NOT NULL,
        error text NOT NULL,
        since timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (projection, aggregate_id)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE projection_stalls`);
  }
}
