import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes that match each order and filter of the lists (ListJobsQuery, ListExecutionsQuery), so that a page is
 * read from an index in order instead of sorting all of an owner's jobs (or a job's executions) for it. The
 * id breaks ties in the direction of the order, so one index serves both directions; nextRunAt, which may be
 * null, needs one per direction (nulls last either way). Every index is one more write per changed row, for
 * the projections.
 */
export class ReadIndexes1764500000000 implements MigrationInterface {
  name = 'ReadIndexes1764500000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX jobs_owner_created`);
    await db.query(`CREATE INDEX jobs_owner_created ON jobs (owner_id, created_at, id)`);
    await db.query(`CREATE INDEX jobs_owner_updated ON jobs (owner_id, updated_at, id)`);
    await db.query(`CREATE INDEX jobs_owner_name ON jobs (owner_id, name, id)`);
    await db.query(`CREATE INDEX jobs_owner_next_run_asc ON jobs (owner_id, next_run_at ASC NULLS LAST, id ASC)`);
    await db.query(`CREATE INDEX jobs_owner_next_run_desc ON jobs (owner_id, next_run_at DESC NULLS LAST, id DESC)`);
    await db.query(`CREATE INDEX jobs_owner_status_created ON jobs (owner_id, status, created_at, id)`);
    await db.query(`DROP INDEX executions_job_queued`);
    await db.query(`CREATE INDEX executions_job_queued ON executions (job_id, queued_at, id)`);
    await db.query(`CREATE INDEX executions_job_status_queued ON executions (job_id, status, queued_at, id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const index of ['jobs_owner_updated', 'jobs_owner_name', 'jobs_owner_next_run_asc', 'jobs_owner_next_run_desc', 'jobs_owner_status_created', 'executions_job_status_queued']) {
      await db.query(`DROP INDEX ${index}`);
    }
    await db.query(`DROP INDEX jobs_owner_created`);
    await db.query(`CREATE INDEX jobs_owner_created ON jobs (owner_id, created_at DESC)`);
    await db.query(`DROP INDEX executions_job_queued`);
    await db.query(`CREATE INDEX executions_job_queued ON executions (job_id, queued_at DESC)`);
  }
}
