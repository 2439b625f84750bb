import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { ConflictError } from '../../auth/auth.errors.js';
import { CHRONOS_CONFIG, type ChronosConfig } from '../../config.js';
import { NotFoundError } from '../../domain/errors.js';
import { HISTORY_PARTITIONS_LOCK } from '../../infra/database/history-partitions.js';
import { readEventLog } from '../../infra/jetstream-event-store.js';
import type { StoredEvent } from '../../events/stored-event.js';
import { NATS_CLIENTS, type NatsClients } from '../../infra/nats.js';
import { READ_MODELS, type ReadModel } from '../read-models.js';
import { announceCheckpoints } from '../read-model-positions.js';
import { endOfEventLog, readModelLags, type ReadModelLag } from '../read-model-lag.js';
import { clearStalls } from '../stalls.js';

export interface RebuildProgress {
  rebuildId: string;
  /** The last event-log sequence applied to the new tables. */
  position: number;
  /** The end of the event log when last looked at: it moves up while events keep coming. */
  target: number;
  percent: number;
  eventsPerSecond: number;
  etaSeconds: number | null;
  startedAt: string;
}

export interface RebuildOutcome {
  rebuildId: string;
  status: 'succeeded' | 'failed';
  startedAt: string;
  finishedAt: string;
  error?: string;
}

/** Where a stalled read model first failed: the oldest of the jobs it holds back. */
export interface StalledAt {
  sequence: number;
  code: string;
  since: string;
  jobId: string;
  eventType: string;
  error: string;
}

export interface ReadModelStatus {
  name: string;
  position: number;
  lagEvents: number;
  /** `stalled`: it holds back the events of some jobs (`stalledJobs`) and applies everyone else's. */
  status: 'live' | 'rebuilding' | 'stalled';
  stalledJobs: number;
  stalledAt?: StalledAt;
  progress?: RebuildProgress;
  lastRebuild?: RebuildOutcome;
}

interface RebuildRow {
  id: string;
  name: string;
  status: 'running' | 'succeeded' | 'failed';
  position: string;
  target: string;
  started_at: Date;
  finished_at: Date | null;
  error: string | null;
}

/** A running rebuild that has not reported for this long lost its process. */
const ABANDONED_AFTER = '30 seconds';
/** The swap waits this long for readers to let go of the tables, then lets them go on and tries again. */
const SWAP_LOCK_TIMEOUT = '2s';

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

/**
 * Blue/green rebuilds of the read models (docs/architecture.md). A rebuild creates the model's tables
 * afresh in a schema of its own and fills them from the first event with the projection's own code (the
 * schema first on the `search_path`), while the live tables keep serving and the live consumer keeps
 * applying. Once caught up, one transaction holds the live checkpoint (so the live consumer pauses), applies
 * the last events, moves the new tables in and the old ones out, and sets the checkpoint; readers wait for
 * that transaction only, for milliseconds. It runs in the process that accepted it; progress and outcome
 * are rows of `projection_rebuilds`, visible to every instance.
 */
@Injectable()
export class ProjectionRebuilds implements OnApplicationShutdown {
  private readonly log = new Logger(ProjectionRebuilds.name);
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  /** Events per transaction into the new tables. */
  private readonly batchEvents: number;
  /** The most the new tables may miss for the swap to be tried: that much is applied while the live consumer waits. */
  private readonly swapRemainder: number;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    @Inject(CHRONOS_CONFIG) config: ChronosConfig,
  ) {
    this.batchEvents = config.rebuildBatchEvents;
    this.swapRemainder = Math.max(1, Math.floor(config.rebuildBatchEvents / 10));
  }

  /** Starts rebuilding a read model; answers at once with its first progress. */
  async start(name: string): Promise<ReadModelStatus> {
    const model = READ_MODELS.find((candidate) => candidate.projection.name === name);
    if (!model) {
      throw new NotFoundError('PROJECTION_NOT_FOUND', `no read model "${name}"; these can be rebuilt: ${READ_MODELS.map((m) => m.projection.name).join(', ')}`);
    }
    await this.expireAbandoned();
    const rebuildId = randomUUID();
    const target = await this.endOfLog();
    const inserted: unknown[] = await this.dataSource.query(
      `INSERT INTO projection_rebuilds (id, name, status, target, started_at, heartbeat_at) VALUES ($1, $2, 'running', $3, now(), now())
       ON CONFLICT (name) WHERE status = 'running' DO NOTHING RETURNING id`,
      [rebuildId, name, target],
    );
    if (inserted.length === 0) throw new ConflictError('REBUILD_IN_PROGRESS', `the read model "${name}" is being rebuilt already`);
    const abort = new AbortController();
    const done = this.run(model, rebuildId, abort.signal)
      .catch(async (error: unknown) => {
        const message = abort.signal.aborted ? 'interrupted: this Chronos instance shut down' : (error as Error).message;
        this.log.error(`rebuild ${rebuildId} of ${name} failed: ${message}`);
        await this.finish(rebuildId, 'failed', message).catch(() => undefined);
        await this.dropSchema(shadowSchema(name)).catch(() => undefined);
      })
      .finally(() => this.running.delete(rebuildId));
    this.running.set(rebuildId, { abort, done });
    return (await this.statuses()).find((status) => status.name === name)!;
  }

  /** Every read model: its live position and lag, and its rebuild in progress or the last one. */
  async statuses(): Promise<ReadModelStatus[]> {
    await this.expireAbandoned();
    const names = READ_MODELS.map((model) => model.projection.name);
    const last = await this.endOfLog();
    const [lags, rebuilds]: [ReadModelLag[], RebuildRow[]] = await Promise.all([
      readModelLags(this.dataSource, last, names),
      this.dataSource.query(
        `SELECT DISTINCT ON (name, status = 'running') * FROM projection_rebuilds WHERE name = ANY($1::text[])
         ORDER BY name, status = 'running', started_at DESC`,
        [names],
      ),
    ]);
    return lags.map(({ name, position, lagEvents, stalls }) => {
      const running = rebuilds.find((row) => row.name === name && row.status === 'running');
      const finished = rebuilds.find((row) => row.name === name && row.status !== 'running');
      const first = stalls[0];
      return {
        name,
        position,
        lagEvents,
        status: running ? 'rebuilding' : first ? 'stalled' : 'live',
        stalledJobs: stalls.length,
        ...(first
          ? { stalledAt: { sequence: first.sequence, code: first.code, since: first.since, jobId: first.aggregateId, eventType: first.eventType, error: first.error } }
          : {}),
        ...(running ? { progress: progressOf(running, last) } : {}),
        ...(finished ? { lastRebuild: outcomeOf(finished) } : {}),
      };
    });
  }

  async onApplicationShutdown(): Promise<void> {
    const runs = [...this.running.values()];
    for (const run of runs) run.abort.abort();
    await Promise.all(runs.map((run) => run.done));
  }

  private async run(model: ReadModel, rebuildId: string, signal: AbortSignal): Promise<void> {
    const name = model.projection.name;
    const started = Date.now();
    const shadow = shadowSchema(name);
    const live = await this.liveSchema();
    await this.createShadowTables(model, live, shadow);
    let position = 0;
    for (;;) {
      signal.throwIfAborted();
      if ((await this.livePosition(name)) - position <= this.swapRemainder && (await this.swap(model, rebuildId, position, live, shadow))) break;
      const end = await this.endOfLog();
      const events = position < end ? await this.readRange(position, Math.min(end, position + this.batchEvents * 4), this.batchEvents) : [];
      await this.dataSource.transaction(async (db) => {
        if (events.length > 0) {
          await this.applyToShadow(db, model, events, live, shadow);
          position = events[events.length - 1]!.sequence;
        }
        const [, reported] = await db.query(
          `UPDATE projection_rebuilds SET position = $2, target = $3, heartbeat_at = now() WHERE id = $1 AND status = 'running'`,
          [rebuildId, position, end],
        );
        if (reported === 0) throw new Error('the rebuild was given up as abandoned');
      });
      // At the end of the log and the swap could not be done yet (the live model is behind, or readers held the tables).
      if (events.length === 0) await sleep(200, undefined, { signal });
    }
    this.log.log(`rebuilt ${name} in ${Date.now() - started} ms`);
  }

  /**
   * Holds the live checkpoint, applies what the new tables still miss, and swaps them in. Returns false,
   * changing nothing, when too much is still missing to do under the lock, or readers held the tables.
   */
  private async swap(model: ReadModel, rebuildId: string, position: number, live: string, shadow: string): Promise<boolean> {
    const name = model.projection.name;
    try {
      return await this.dataSource.transaction(async (db) => {
        await db.query(`SET LOCAL lock_timeout = '${SWAP_LOCK_TIMEOUT}'`);
        await db.query(`INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING`, [name]);
        const [row]: { position: string }[] = await db.query(`SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE`, [name]);
        const livePosition = Number(row!.position);
        if (livePosition - position > this.swapRemainder) return false;
        if (livePosition > position) {
          await this.applyToShadow(db, model, await this.readRange(position, livePosition, Infinity), live, shadow);
        }
        // The live consumer goes on from here; if the rebuild read past it, it skips what is applied already.
        const swappedAt = Math.max(livePosition, position);
        await db.query(`UPDATE projection_checkpoints SET position = $2, updated_at = now() WHERE name = $1`, [name, swappedAt]);
        await announceCheckpoints(db, [name]);
        const retired = quote(`retired_${name}`);
        await db.query(`DROP SCHEMA IF EXISTS ${retired} CASCADE`);
        await db.query(`CREATE SCHEMA ${retired}`);
        for (const table of model.tables) {
          // A partitioned table's partitions are tables of their own: they move with it.
          for (const partition of await partitionsOf(db, live, table)) await db.query(`ALTER TABLE ${quote(live)}.${quote(partition)} SET SCHEMA ${retired}`);
          await db.query(`ALTER TABLE ${quote(live)}.${quote(table)} SET SCHEMA ${retired}`);
          for (const partition of await partitionsOf(db, shadow, table)) await db.query(`ALTER TABLE ${quote(shadow)}.${quote(partition)} SET SCHEMA ${quote(live)}`);
          await db.query(`ALTER TABLE ${quote(shadow)}.${quote(table)} SET SCHEMA ${quote(live)}`);
        }
        await db.query(`DROP SCHEMA ${retired} CASCADE`);
        await db.query(`DROP SCHEMA ${quote(shadow)} CASCADE`);
        // The new tables hold every event, the stalled jobs' too.
        await clearStalls(db, name);
        await db.query(`UPDATE projection_rebuilds SET position = $2, target = GREATEST(target, $2) WHERE id = $1`, [rebuildId, swappedAt]);
        await this.finish(rebuildId, 'succeeded', null, db);
        return true;
      });
    } catch (error) {
      // lock_not_available: a reader held a table past the timeout; the rebuild goes on and tries again.
      if ((error as { code?: string }).code === '55P03') return false;
      throw error;
    }
  }

  private async applyToShadow(db: EntityManager, model: ReadModel, events: StoredEvent[], live: string, shadow: string): Promise<void> {
    if (events.length === 0) return;
    // The projection's unqualified table names now resolve to the new tables (for this transaction only).
    await db.query(`SET LOCAL search_path TO ${quote(shadow)}, ${quote(live)}`);
    await model.projection.apply(db, events);
    await db.query(`SET LOCAL search_path TO ${quote(live)}`);
  }

  /** Empty copies of the model's tables, with the same columns, constraints and indexes, under the same names. */
  private async createShadowTables(model: ReadModel, live: string, shadow: string): Promise<void> {
    await this.dropSchema(shadow);
    await this.dataSource.transaction(async (db) => {
      await db.query(`CREATE SCHEMA ${quote(shadow)}`);
      for (const table of model.tables) {
        const from = `${quote(live)}.${quote(table)}`;
        const to = `${quote(shadow)}.${quote(table)}`;
        // A partitioned table (the executions, by day: src/infra/database/history-partitions.ts) gets the same
        // partitions; the retention task leaves the table alone while its rebuild runs (HISTORY_PARTITIONS_LOCK).
        const [{ partitionKey }]: { partitionKey: string | null }[] = await db.query(
          `SELECT CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS "partitionKey" FROM pg_class c WHERE c.oid = $1::regclass`,
          [from],
        );
        if (partitionKey) await db.query(`SELECT pg_advisory_xact_lock($1)`, [HISTORY_PARTITIONS_LOCK]);
        await db.query(
          `CREATE TABLE ${to} (LIKE ${from} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS)${partitionKey ? ` PARTITION BY ${partitionKey}` : ''}`,
        );
        const constraints: { name: string; definition: string }[] = await db.query(
          `SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conrelid = $1::regclass AND contype IN ('p', 'u', 'x')`,
          [from],
        );
        for (const constraint of constraints) await db.query(`ALTER TABLE ${to} ADD CONSTRAINT ${quote(constraint.name)} ${constraint.definition}`);
        const indexes: { definition: string }[] = await db.query(
          `SELECT pg_get_indexdef(i.indexrelid) AS definition FROM pg_index i
           WHERE i.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`,
          [from],
        );
        for (const { definition } of indexes) {
          // "CREATE INDEX name ON live.table USING ...": the same index, on the new table (an index lives in its table's schema).
          // A partitioned table's index reads "ON ONLY live.table"; on the new one it spans its partitions, made after it.
          const onLive = [` ON ${live}.${table} USING `, ` ON ONLY ${live}.${table} USING `].find((on) => definition.includes(on));
          if (!onLive) throw new Error(`cannot copy the index "${definition}"`);
          await db.query(definition.replace(onLive, ` ON ${to} USING `));
        }
        if (partitionKey) {
          const partitions: { name: string; bound: string }[] = await db.query(
            `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass`,
            [from],
          );
          for (const { name, bound } of partitions) await db.query(`CREATE TABLE ${quote(shadow)}.${quote(name)} PARTITION OF ${to} ${bound}`);
        }
      }
    });
  }

  /** The events with sequences in (after, upTo], at most about `limit` of them (whole messages). */
  private async readRange(after: number, upTo: number, limit: number): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    let from = after + 1;
    while (from <= upTo && events.length < limit) {
      const page = await readEventLog(this.nats.js, { fromSequence: from, limit: Math.min(limit - events.length, this.batchEvents) });
      const inRange = page.events.filter((event) => event.sequence <= upTo);
      events.push(...inRange);
      if (page.nextSequence === null || inRange.length < page.events.length) break;
      from = page.nextSequence;
    }
    return events;
  }

  private async finish(rebuildId: string, status: 'succeeded' | 'failed', error: string | null, db: EntityManager = this.dataSource.manager): Promise<void> {
    await db.query(`UPDATE projection_rebuilds SET status = $2, error = $3, finished_at = now() WHERE id = $1 AND status = 'running'`, [rebuildId, status, error]);
  }

  private async expireAbandoned(): Promise<void> {
    const rows: { id: string; name: string }[] = await this.dataSource.query(
      `UPDATE projection_rebuilds SET status = 'failed', error = 'abandoned: the process running it stopped', finished_at = now()
       WHERE status = 'running' AND heartbeat_at < now() - interval '${ABANDONED_AFTER}' RETURNING id, name`,
    ).then(([updated]: [{ id: string; name: string }[], number]) => updated);
    for (const row of rows) {
      if (!this.running.has(row.id)) await this.dropSchema(shadowSchema(row.name)).catch(() => undefined);
    }
  }

  private async livePosition(name: string): Promise<number> {
    const rows: { position: string }[] = await this.dataSource.query(`SELECT position FROM projection_checkpoints WHERE name = $1`, [name]);
    return rows.length ? Number(rows[0]!.position) : 0;
  }

  private async liveSchema(): Promise<string> {
    const [row]: { schema: string }[] = await this.dataSource.query(`SELECT current_schema() AS schema`);
    return row!.schema;
  }

  private endOfLog(): Promise<number> {
    return endOfEventLog(this.nats.jsm);
  }

  private async dropSchema(schema: string): Promise<void> {
    await this.dataSource.query(`DROP SCHEMA IF EXISTS ${quote(schema)} CASCADE`);
  }
}

const shadowSchema = (name: string) => `rebuild_${name}`;

/** The partitions of `schema.table` (none for a table that is not partitioned). */
async function partitionsOf(db: EntityManager, schema: string, table: string): Promise<string[]> {
  const rows: { name: string }[] = await db.query(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1)`,
    [`${quote(schema)}.${quote(table)}`],
  );
  return rows.map((row) => row.name);
}

function progressOf(row: RebuildRow, endOfLog: number): RebuildProgress {
  const position = Number(row.position);
  const target = Math.max(Number(row.target), endOfLog, position);
  const seconds = Math.max(0.001, (Date.now() - row.started_at.getTime()) / 1000);
  const eventsPerSecond = Math.round(position / seconds);
  return {
    rebuildId: row.id,
    position,
    target,
    percent: target === 0 ? 100 : Math.floor((position / target) * 1000) / 10,
    eventsPerSecond,
    etaSeconds: eventsPerSecond > 0 ? Math.ceil((target - position) / eventsPerSecond) : null,
    startedAt: row.started_at.toISOString(),
  };
}

function outcomeOf(row: RebuildRow): RebuildOutcome {
  return {
    rebuildId: row.id,
    status: row.status as RebuildOutcome['status'],
    startedAt: row.started_at.toISOString(),
    finishedAt: (row.finished_at ?? row.started_at).toISOString(),
    ...(row.error ? { error: row.error } : {}),
  };
}
