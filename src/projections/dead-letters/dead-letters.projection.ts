import type { EntityManager } from 'typeorm';
import { jobEventsOf, type StoredEvent, type StoredJobEvent } from '../../events/stored-event.js';
import type { Projection } from '../checkpointed-projection.js';
import { storableInstant, storableText } from '../storable.js';
import type { DeadLetterRow } from './dead-letter.queries.js';

/** What one event does to the `dead_letters` rows, in log order. */
export type DeadLetterChange = { open: DeadLetterRow } | { close: string } | { closeJob: string };

/**
 * The changes `events` make to the open dead letters: a dead-lettered execution opens one, a retry or a discard
 * closes it, a deleted job closes all of its own, and a history epoch opens again the ones the closed history
 * left open (a log purged up to the epoch has no event that opened them). Pure.
 */
export function deadLetterChanges(events: StoredJobEvent[]): DeadLetterChange[] {
  const changes: DeadLetterChange[] = [];
  for (const event of events) {
    switch (event.type) {
      case 'ExecutionDeadLettered': {
        const d = event.data;
        changes.push({ open: { id: d.deadLetterId, jobId: d.jobId, executionId: d.executionId, scheduledAt: d.scheduledAt, attempts: d.attempts, lastError: d.lastError, reason: d.reason, deadLetteredAt: d.deadLetteredAt } });
        break;
      }
      case 'DeadLetterRetried':
      case 'DeadLetterDiscarded':
        changes.push({ close: event.data.deadLetterId });
        break;
      case 'HistoryEpochClosed':
        for (const d of Object.values(event.data.state.deadLetters)) {
          changes.push({
            open: { id: d.deadLetterId, jobId: event.data.jobId, executionId: d.executionId, scheduledAt: d.scheduledAt, attempts: d.attempts, lastError: d.lastError, reason: d.reason ?? 'attempts_exhausted', deadLetteredAt: d.deadLetteredAt ?? event.data.closedAt },
          });
        }
        break;
      case 'JobDeleted':
        changes.push({ closeJob: event.data.jobId });
        break;
      default:
        break;
    }
  }
  return changes;
}

/** The `dead_letters` read model (deadLetterChanges): open dead letters; retried and discarded ones leave it. */
export class DeadLettersProjection implements Projection {
  readonly name = 'dead_letters';

  async apply(db: EntityManager, events: StoredEvent[]): Promise<void> {
    for (const change of deadLetterChanges(jobEventsOf(events))) {
      if ('open' in change) {
        const d = change.open;
        await db.query(
          `INSERT INTO dead_letters (id, job_id, execution_id, scheduled_at, attempts, last_error, reason, dead_lettered_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
          [d.id, d.jobId, d.executionId, storableInstant(d.scheduledAt), d.attempts, storableText(d.lastError), d.reason, storableInstant(d.deadLetteredAt)],
        );
      } else if ('close' in change) await db.query(`DELETE FROM dead_letters WHERE id = $1`, [change.close]);
      else await db.query(`DELETE FROM dead_letters WHERE job_id = $1`, [change.closeJob]);
    }
  }
}
