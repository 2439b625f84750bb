import type { EntityManager } from 'typeorm';
import { jobEventsOf, type StoredEvent } from '../../events/stored-event.js';
import type { Projection } from '../checkpointed-projection.js';
import { storableInstant, storableText } from '../storable.js';

/** The `dead_letters` read model: open dead letters; retried and discarded ones leave it. */
export class DeadLettersProjection implements Projection {
  readonly name = 'dead_letters';

  async apply(db: EntityManager, events: StoredEvent[]): Promise<void> {
    for (const event of jobEventsOf(events)) {
      switch (event.type) {
        case 'ExecutionDeadLettered': {
          const d = event.data;
          await db.query(
            `INSERT INTO dead_letters (id, job_id, execution_id, scheduled_at, attempts, last_error, reason, dead_lettered_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
            [d.deadLetterId, d.jobId, d.executionId, storableInstant(d.scheduledAt), d.attempts, storableText(d.lastError), d.reason, storableInstant(d.deadLetteredAt)],
          );
          break;
        }
        case 'DeadLetterRetried':
        case 'DeadLetterDiscarded':
          await db.query(`DELETE FROM dead_letters WHERE id = $1`, [event.data.deadLetterId]);
          break;
        case 'HistoryEpochClosed':
          // The open dead letters the closed history made: kept live, given back to a log purged up to the epoch.
          for (const d of Object.values(event.data.state.deadLetters)) {
            await db.query(
              `INSERT INTO dead_letters (id, job_id, execution_id, scheduled_at, attempts, last_error, reason, dead_lettered_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
              [d.deadLetterId, event.data.jobId, d.executionId, storableInstant(d.scheduledAt), d.attempts, storableText(d.lastError), d.reason ?? 'attempts_exhausted', storableInstant(d.deadLetteredAt ?? event.data.closedAt)],
            );
          }
          break;
        case 'JobDeleted':
          await db.query(`DELETE FROM dead_letters WHERE job_id = $1`, [event.data.jobId]);
          break;
        default:
          break;
      }
    }
  }
}
