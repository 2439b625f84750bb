import type { DataSource, EntityManager } from 'typeorm';
import type { StoredEvent } from '../events/stored-event.js';
import { announceCheckpoints } from './read-model-positions.js';

/**
 * A read model fed from the event log. `apply` writes the rows for a batch of events; the runner commits
 * them with the projection's checkpoint (the last stream sequence applied) in one transaction, and skips
 * events at or below the checkpoint, so a redelivered message changes nothing (docs/guarantees.md#g5).
 */
export interface Projection {
  readonly name: string;
  apply(db: EntityManager, events: StoredEvent[]): Promise<void>;
}

/**
 * Applies a batch to several projections in one transaction, each against its own checkpoint. Returns how
 * many events each projection applied (0 for events it had already applied). A projection skips the events
 * of the jobs it holds back (src/projections/stalls.ts); its checkpoint moves past them all the same.
 */
export async function applyCheckpointed(dataSource: DataSource, projections: Projection[], events: StoredEvent[]): Promise<number[]> {
  if (events.length === 0) return projections.map(() => 0);
  const names = projections.map((projection) => projection.name);
  return dataSource.transaction(async (db) => {
    // A fixed number of statements whatever the number of projections: round trips are what a busy process
    // waits on. The stalled jobs are read after the checkpoint lock, which a resumption holds while it runs.
    await db.query(`INSERT INTO projection_checkpoints (name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, [names]);
    const rows: { name: string; position: string }[] = await db.query(
      `SELECT name, position FROM projection_checkpoints WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE`,
      [names],
    );
    const stalled: { projection: string; aggregate_id: string }[] = await db.query(
      `SELECT projection, aggregate_id FROM projection_stalls WHERE projection = ANY($1::text[])`,
      [names],
    );
    const positions = new Map(rows.map((row) => [row.name, Number(row.position)]));
    const applied: number[] = [];
    for (const projection of projections) {
      const heldBack = new Set(stalled.filter((row) => row.projection === projection.name).map((row) => row.aggregate_id));
      const fresh = events.filter((event) => event.sequence > positions.get(projection.name)! && !heldBack.has(event.aggregateId));
      applied.push(fresh.length);
      if (fresh.length > 0) await projection.apply(db, fresh);
    }
    const last = events[events.length - 1]!.sequence;
    await db.query(
      `UPDATE projection_checkpoints SET position = GREATEST(position, $2), updated_at = now() WHERE name = ANY($1::text[])`,
      [names, last],
    );
    await announceCheckpoints(db, names);
    return applied;
  });
}

/** The lowest checkpoint of `names` (0 for one never written): every event after it is to be applied by one of them at least. */
export async function lowestCheckpoint(dataSource: DataSource, names: readonly string[]): Promise<number> {
  const [row]: { position: string }[] = await dataSource.query(
    `SELECT min(coalesce(c.position, 0)) AS position FROM unnest($1::text[]) AS n(name) LEFT JOIN projection_checkpoints c ON c.name = n.name`,
    [names],
  );
  return Number(row?.position ?? 0);
}

export async function checkpointOf(dataSource: DataSource, name: string): Promise<number> {
  const rows = await dataSource.query(`SELECT position FROM projection_checkpoints WHERE name = $1`, [name]);
  return rows.length ? Number(rows[0].position) : 0;
}
