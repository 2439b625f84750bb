import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-job data keys (src/secrets/job-keys.ts), each wrapped under the master key. A job's secrets are
 * sealed with its key in the event log and the read models; deleting the row (on job deletion) makes them
 * unreadable for good (crypto-shredding). Deliberately no foreign key: the key outlives nothing else.
 */
export class JobKeys1764100000000 implements MigrationInterface {
  name = 'JobKeys1764100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE job_keys (
        job_id uuid PRIMARY KEY,
        key bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE job_keys`);
  }
}
