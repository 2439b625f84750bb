import type { DataSource, EntityManager } from 'typeorm';
import type { StoredEvent } from '../events/stored-event.js';

/**
 * A read model fed from the event log. `apply` writes the rows for a batch of events; the runner commits
 * them with the projection's checkpoint (the last stream sequence applied) in one transaction, and skips
 * events at or below the checkpoint, so a redelivered message changes nothing (guarantee 5).
 */
export interface Projection {
  readonly name: string;
  apply(db: EntityManager, events: StoredEvent[]): Promise<void>;
}

export async function applyCheckpointed(dataSource: DataSource, projection: Projection, events: StoredEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  return dataSource.transaction(async (db) => {
    await db.query(`INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING`, [projection.name]);
    const [{ position }] = await db.query(`SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE`, [projection.name]);
    const fresh = events.filter((event) => event.sequence > Number(position));
    if (fresh.length === 0) return 0;
    await projection.apply(db, fresh);
    await db.query(`UPDATE projection_checkpoints SET position = $2, updated_at = now() WHERE name = $1`, [
      projection.name,
      fresh[fresh.length - 1]!.sequence,
    ]);
    return fresh.length;
  });
}

export async function checkpointOf(dataSource: DataSource, name: string): Promise<number> {
  const rows = await dataSource.query(`SELECT position FROM projection_checkpoints WHERE name = $1`, [name]);
  return rows.length ? Number(rows[0].position) : 0;
}
