import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each timer row records the log position (stream sequence) of the event that set it, so the scheduler reads
 * only the timers changed since its last read instead of its whole horizon on every notification.
 */
export class TimerPositions1764650000000 implements MigrationInterface {
  name = 'TimerPositions1764650000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE timers ADD COLUMN position bigint NOT NULL DEFAULT 0`);
    await db.query(`CREATE INDEX timers_position ON timers (position)`);
    await db.query(`ALTER TABLE retry_timers ADD COLUMN position bigint NOT NULL DEFAULT 0`);
    await db.query(`CREATE INDEX retry_timers_position ON retry_timers (position)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE timers DROP COLUMN position`);
    await db.query(`ALTER TABLE retry_timers DROP COLUMN position`);
  }
}
