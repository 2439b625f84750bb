import type { DataSource } from 'typeorm';
import type { StoredEvent } from '../events/stored-event.js';
import { applyCheckpointed, type Projection } from './checkpointed-projection.js';
import { announceCheckpoints } from './read-model-positions.js';
import { storableText } from './storable.js';

/**
 * A read model that cannot apply an event must not stop the others, nor hold back the jobs the event does
 * not concern. When a batch fails because of what an event holds (not because PostgreSQL is away), the
 * failing messages are found by bisection, per projection, and that projection *stalls* for their jobs only:
 * the job is recorded in `projection_stalls`, and the projection skips its events from then on while it
 * applies everyone else's (its checkpoint moves on). Every row of every read model belongs to one job, so a
 * stalled job's rows stay exactly as they were before the event that failed.
 *
 * The way out keeps "read models = a replay of the log" true and loses no event: once the cause is fixed
 * (a new version of Chronos, a database constraint dropped), `resumeStalled` applies each stalled job's
 * events again from the one that failed, under the checkpoint's lock; or a blue/green rebuild replays the
 * whole log into fresh tables, which clears the model's stalls when it is swapped in.
 */

export interface ProjectionStall {
  projection: string;
  aggregateType: string;
  aggregateId: string;
  /** The stream sequence of the message the projection could not apply. */
  sequence: number;
  eventType: string;
  /** Stable, UPPER_SNAKE: what kind of failure (see stallCode). */
  code: string;
  error: string;
  since: string;
}

/** SQLSTATE classes that an event's content causes on every attempt: data exceptions, integrity, a RAISE. */
const EVENT_FAULT_SQLSTATE = /^(22|23|P0)/;

function sqlState(error: unknown): string | undefined {
  const candidate = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = candidate?.driverError?.code ?? candidate?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Whether a failure comes from the events applied (it will happen again, whatever the retry) rather than
 * from the infrastructure (a lost connection, a restart, a deadlock), which is retried as a whole batch.
 */
export function isEventFault(error: unknown): boolean {
  const state = sqlState(error);
  if (state !== undefined) return EVENT_FAULT_SQLSTATE.test(state);
  // Projection code that throws on what an event holds.
  return error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError;
}

/** The stall's `code`, for operators and alerts. */
export function stallCode(error: unknown): string {
  const state = sqlState(error);
  if (state === undefined) return 'PROJECTION_ERROR';
  if (state.startsWith('22')) return 'UNSTORABLE_VALUE';
  if (state.startsWith('23')) return 'CONSTRAINT_VIOLATION';
  return 'REFUSED_BY_DATABASE';
}

const MAX_ERROR_CHARS = 1000;

function errorText(error: unknown): string {
  const state = sqlState(error);
  const message = storableText(error instanceof Error ? error.message : String(error)) ?? '';
  const text = state ? `${message} (SQLSTATE ${state})` : message;
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text;
}

/**
 * Applies a batch as applyCheckpointed does; if an event makes a projection fail, stalls that projection
 * for that event's job and applies the rest. `onStall` hears of each new stall. Infrastructure failures are
 * thrown: the caller retries the batch.
 */
export async function applyIsolated(
  dataSource: DataSource,
  projections: Projection[],
  events: StoredEvent[],
  onStall: (stall: ProjectionStall) => void,
): Promise<void> {
  try {
    await applyCheckpointed(dataSource, projections, events);
    return;
  } catch (error) {
    if (!isEventFault(error)) throw error;
  }
  // One projection at a time: the ones the batch does not break apply it whole.
  const messages = byMessage(events);
  for (const projection of projections) await isolate(dataSource, projection, messages, onStall);
}

/** Events grouped by message, in order: one message is one command on one job, applied or stalled as a whole. */
function byMessage(events: StoredEvent[]): StoredEvent[][] {
  const messages: StoredEvent[][] = [];
  for (const event of events) {
    const last = messages[messages.length - 1];
    if (last && last[0]!.sequence === event.sequence) last.push(event);
    else messages.push([event]);
  }
  return messages;
}

async function isolate(dataSource: DataSource, projection: Projection, messages: StoredEvent[][], onStall: (stall: ProjectionStall) => void): Promise<void> {
  try {
    await applyCheckpointed(dataSource, [projection], messages.flat());
    return;
  } catch (error) {
    if (!isEventFault(error)) throw error;
    if (messages.length === 1) {
      const stall = await recordStall(dataSource, projection.name, messages[0]!, error);
      if (stall) onStall(stall);
      return;
    }
  }
  const middle = Math.ceil(messages.length / 2);
  await isolate(dataSource, projection, messages.slice(0, middle), onStall);
  await isolate(dataSource, projection, messages.slice(middle), onStall);
}

/** Records the stall and moves the checkpoint past the message, in one transaction. Null if the job was stalled already. */
async function recordStall(dataSource: DataSource, projection: string, message: StoredEvent[], error: unknown): Promise<ProjectionStall | null> {
  const first = message[0]!;
  return dataSource.transaction(async (db) => {
    await db.query(`INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING`, [projection]);
    await db.query(`SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE`, [projection]);
    const inserted: StallRow[] = await db.query(
      `INSERT INTO projection_stalls (projection, aggregate_type, aggregate_id, sequence, event_type, code, error)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING *`,
      [projection, first.aggregateType, first.aggregateId, first.sequence, failingType(message), stallCode(error), errorText(error)],
    );
    await db.query(`UPDATE projection_checkpoints SET position = GREATEST(position, $2), updated_at = now() WHERE name = $1`, [projection, first.sequence]);
    // A write waiting to read its own (src/projections/read-model-positions.ts) is not kept waiting by a stall.
    await announceCheckpoints(db, [projection]);
    return inserted.length ? toStall(inserted[0]!) : null;
  });
}

/** The event types of a message, for the record: `JobFired` or `ExecutionStarted+ExecutionFinished`. */
function failingType(message: StoredEvent[]): string {
  return message.map((event) => event.type).join('+');
}

interface StallRow {
  projection: string;
  aggregate_type: string;
  aggregate_id: string;
  sequence: string;
  event_type: string;
  code: string;
  error: string;
  since: Date;
}

function toStall(row: StallRow): ProjectionStall {
  return {
    projection: row.projection,
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    sequence: Number(row.sequence),
    eventType: row.event_type,
    code: row.code,
    error: row.error,
    since: row.since.toISOString(),
  };
}

/** Every stall, the oldest first (optionally of one read model). */
export async function listStalls(dataSource: DataSource, projection?: string): Promise<ProjectionStall[]> {
  const rows: StallRow[] = await dataSource.query(
    `SELECT * FROM projection_stalls WHERE $1::text IS NULL OR projection = $1 ORDER BY sequence, aggregate_id`,
    [projection ?? null],
  );
  return rows.map(toStall);
}

export interface ResumeOutcome {
  /** Jobs whose events were applied again: the read model holds them back no more. */
  resumed: string[];
  /** Jobs that still fail, with the error of this attempt. */
  stillStalled: ProjectionStall[];
}

/**
 * Applies each stalled job's events again, from the message that failed up to the checkpoint, with the
 * projection's code of today, each job in one transaction that holds the checkpoint (the live consumer waits
 * for it): on success the stall is gone and the live consumer applies the job's later events as any other's.
 * A job that fails again stays stalled, with the new error.
 */
export async function resumeStalled(
  dataSource: DataSource,
  projection: Projection,
  loadEvents: (aggregateType: string, aggregateId: string, afterSequence: number) => Promise<StoredEvent[]>,
): Promise<ResumeOutcome> {
  const outcome: ResumeOutcome = { resumed: [], stillStalled: [] };
  for (const stall of await listStalls(dataSource, projection.name)) {
    try {
      const resumed = await dataSource.transaction(async (db) => {
        const [checkpoint]: { position: string }[] = await db.query(`SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE`, [projection.name]);
        const [row]: { sequence: string }[] = await db.query(
          `SELECT sequence FROM projection_stalls WHERE projection = $1 AND aggregate_id = $2 FOR UPDATE`,
          [projection.name, stall.aggregateId],
        );
        if (!row) return false; // resolved meanwhile (a rebuild swapped in)
        const upTo = Number(checkpoint?.position ?? 0);
        const events = (await loadEvents(stall.aggregateType, stall.aggregateId, Number(row.sequence) - 1)).filter((event) => event.sequence <= upTo);
        if (events.length) await projection.apply(db, events);
        await db.query(`DELETE FROM projection_stalls WHERE projection = $1 AND aggregate_id = $2`, [projection.name, stall.aggregateId]);
        return true;
      });
      if (resumed) outcome.resumed.push(stall.aggregateId);
    } catch (error) {
      if (!isEventFault(error)) throw error;
      const [row]: StallRow[] = await dataSource.query(
        `UPDATE projection_stalls SET code = $3, error = $4 WHERE projection = $1 AND aggregate_id = $2 RETURNING *`,
        [projection.name, stall.aggregateId, stallCode(error), errorText(error)],
      ).then(([rows]: [StallRow[]]) => rows);
      outcome.stillStalled.push(row ? toStall(row) : stall);
    }
  }
  return outcome;
}

/** A swapped-in rebuild replayed every event: none of the model's jobs is held back any more. */
export async function clearStalls(db: { query(sql: string, parameters?: unknown[]): Promise<unknown> }, projection: string): Promise<void> {
  await db.query(`DELETE FROM projection_stalls WHERE projection = $1`, [projection]);
}
