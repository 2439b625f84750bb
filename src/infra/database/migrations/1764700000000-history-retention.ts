import type { MigrationInterface, QueryRunner } from 'typeorm';
import { addDays, ensureDayPartition, HISTORY_TABLES, partitionByDay, startOfDay } from '../history-partitions.js';

/**
 * Retention (docs/architecture.md, Retention): the executions and their logs partitioned by day, so that history
 * older than HISTORY_RETENTION_DAYS leaves by dropping partitions; the horizon before which nothing is kept; each
 * job's historyLimit as the executions read model knows it; and each job's last history epoch, for the purge.
 */
export class HistoryRetention1764700000000 implements MigrationInterface {
  name = 'HistoryRetention1764700000000';

  async up(db: QueryRunner): Promise<void> {
    const [executions, logs] = HISTORY_TABLES;
    await partitionByDay(db.manager, executions, 'id, queued_at', [
      'executions_job_queued (job_id, queued_at, id)',
      'executions_job_status_queued (job_id, status, queued_at, id)',
    ]);
    await partitionByDay(db.manager, logs, 'id, timestamp', ['execution_logs_execution (execution_id, timestamp)', 'execution_logs_job (job_id, timestamp)']);
    // Today and a few days ahead; the retention task keeps creating them ahead and moves older rows out of the defaults.
    const today = startOfDay(new Date());
    for (const table of HISTORY_TABLES) {
      for (let day = -1; day <= 3; day++) await ensureDayPartition(db.manager, table, addDays(today, day));
    }
    await db.query(`CREATE TABLE history_horizons (name text PRIMARY KEY, horizon timestamptz NOT NULL)`);
    await db.query(`CREATE TABLE execution_history_limits (job_id uuid PRIMARY KEY, history_limit integer NOT NULL)`);
    await db.query(`
      CREATE TABLE history_epochs (
        job_id uuid PRIMARY KEY,
        sequence bigint NOT NULL,
        closed_at timestamptz NOT NULL,
        purged_at timestamptz
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE history_epochs, execution_history_limits, history_horizons`);
    for (const { table } of HISTORY_TABLES) {
      await db.query(`CREATE TABLE ${table}_plain (LIKE ${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      await db.query(`INSERT INTO ${table}_plain SELECT * FROM ${table}`);
      await db.query(`DROP TABLE ${table} CASCADE`);
      await db.query(`ALTER TABLE ${table}_plain RENAME TO ${table}`);
      await db.query(`ALTER TABLE ${table} ADD PRIMARY KEY (id)`);
    }
    await db.query(`CREATE INDEX executions_job_queued ON executions (job_id, queued_at, id)`);
    await db.query(`CREATE INDEX executions_job_status_queued ON executions (job_id, status, queued_at, id)`);
    await db.query(`CREATE INDEX execution_logs_execution ON execution_logs (execution_id, timestamp)`);
    await db.query(`CREATE INDEX execution_logs_job ON execution_logs (job_id, timestamp)`);
  }
}
