import type { JetStreamManager } from '@nats-io/jetstream';
import type { DataSource } from 'typeorm';
import { EVENTS_STREAM } from '../events/streams.js';
import { listStalls, type ProjectionStall } from './stalls.js';

/** A read model's position in the event log, how far it is behind the end, and the jobs it holds back. */
export interface ReadModelLag {
  name: string;
  position: number;
  lagEvents: number;
  /** Oldest first: a read model with any is stalled. */
  stalls: ProjectionStall[];
}

/** The sequence of the last event in the log: where a caught-up read model stands. */
export async function endOfEventLog(jsm: JetStreamManager): Promise<number> {
  return (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;
}

/**
 * The one reading of lag, used by every reader (the dashboard's health, the admin projections, the metrics):
 * each checkpoint (or each of `names`, 0 where none is kept yet), measured against `endOfLog`.
 */
export async function readModelLags(dataSource: DataSource, endOfLog: number, names?: string[]): Promise<ReadModelLag[]> {
  const [checkpoints, stalls]: [{ name: string; position: string }[], ProjectionStall[]] = await Promise.all([
    dataSource.query(`SELECT name, position FROM projection_checkpoints WHERE $1::text[] IS NULL OR name = ANY($1::text[]) ORDER BY name`, [names ?? null]),
    listStalls(dataSource),
  ]);
  const positions = names
    ? names.map((name) => ({ name, position: Number(checkpoints.find((row) => row.name === name)?.position ?? 0) }))
    : checkpoints.map((row) => ({ name: row.name, position: Number(row.position) }));
  return positions.map(({ name, position }) => ({
    name,
    position,
    lagEvents: Math.max(0, endOfLog - position),
    stalls: stalls.filter((stall) => stall.projection === name),
  }));
}

/** Whether any read model holds a job back: the cheap question GET /health asks. */
export async function anyStalled(dataSource: DataSource): Promise<boolean> {
  const rows: unknown[] = await dataSource.query(`SELECT 1 FROM projection_stalls LIMIT 1`);
  return rows.length > 0;
}
