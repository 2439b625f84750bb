import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { READ_MODEL_NAMES } from './read-models.js';

/**
 * Where the read models stand, for read-your-writes (guarantee 8): a write waits here until every read
 * model has passed its log position. Each read-model transaction announces the checkpoints it writes with
 * NOTIFY (`announceCheckpoints`), which PostgreSQL delivers exactly when the transaction commits, to every
 * process listening, whichever process projected.
 */

/** The channel of the announcements; the payload is `name=position` pairs joined by commas. */
export const READ_MODELS_CHANNEL = 'chronos_read_models';
/** How the listening connection shows in pg_stat_activity. */
export const READ_MODELS_LISTENER_NAME = 'chronos-read-models';

/** Called in the transaction that moves the checkpoints of `names`: announces them as they stand after it. */
export async function announceCheckpoints(db: EntityManager, names: string[]): Promise<void> {
  await db.query(`SELECT pg_notify($1, string_agg(name || '=' || position, ',')) FROM projection_checkpoints WHERE name = ANY($2::text[])`, [
    READ_MODELS_CHANNEL,
    names,
  ]);
}

const CHECKPOINTS_QUERY = `SELECT name, position FROM projection_checkpoints WHERE name = ANY($1::text[])`;
const RECONNECT_FIRST_MS = 100;
const RECONNECT_MAX_MS = 5_000;

interface Waiter {
  position: number;
  resolve(caughtUp: boolean): void;
  timer: NodeJS.Timeout;
}

/**
 * This process's knowledge of the read models' checkpoints, kept current by one LISTEN connection of its
 * own (outside the pool). The connection is re-established after it drops (a PostgreSQL restart); while it
 * is down, each wait reads the checkpoints once instead, and is answered when the connection is back or its
 * time is up.
 */
@Injectable()
export class ReadModelPositions implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(ReadModelPositions.name);
  /** The highest checkpoint known per read model (checkpoints only move forward). */
  private readonly checkpoints = new Map<string, number>();
  private readonly waiters = new Set<Waiter>();
  private listener: pg.Client | undefined;
  /** LISTEN is in place and the checkpoints were read after it: every later commit will be heard of. */
  private listening = false;
  private reconnectDelayMs = RECONNECT_FIRST_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
  ) {}

  onApplicationBootstrap(): Promise<void> {
    return this.listen();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    for (const waiter of this.waiters) this.settle(waiter, false);
    await this.listener?.end().catch(() => undefined);
  }

  /** The log position every read model has passed. */
  get passed(): number {
    return Math.min(...READ_MODEL_NAMES.map((name) => this.checkpoints.get(name) ?? 0));
  }

  /**
   * True once every read model has passed `position`; false when they have not after `timeoutMs` (0: at
   * once, from what this process already knows).
   */
  async waitFor(position: number, timeoutMs: number): Promise<boolean> {
    if (this.passed >= position || timeoutMs === 0) return this.passed >= position;
    if (!this.listening) {
      try {
        this.advance(await this.dataSource.query(CHECKPOINTS_QUERY, [READ_MODEL_NAMES]));
      } catch {
        // PostgreSQL cannot answer: the read models cannot be shown to be current, the wait runs its course.
      }
      if (this.passed >= position) return true;
    }
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = { position, resolve, timer: setTimeout(() => this.settle(waiter, false), timeoutMs) };
      this.waiters.add(waiter);
    });
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.config.databaseUrl, application_name: READ_MODELS_LISTENER_NAME, keepAlive: true });
    this.listener = client;
    client.on('notification', (message) => this.advance(parseAnnouncement(message.payload)));
    // Without an 'error' listener a dropped connection would crash the process.
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${READ_MODELS_CHANNEL}`);
      // Commits from now on are announced; what committed before is in the table.
      this.advance((await client.query(CHECKPOINTS_QUERY, [READ_MODEL_NAMES])).rows);
      if (this.listener !== client) return;
      if (this.reconnectDelayMs > RECONNECT_FIRST_MS) this.log.log('listening to the read models again');
      this.listening = true;
      this.reconnectDelayMs = RECONNECT_FIRST_MS;
    } catch (error) {
      this.lost(client, error as Error);
    }
  }

  /** The connection dropped (or never came up): waits fall back to reading the checkpoints, and it is tried again. */
  private lost(client: pg.Client, error?: Error): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    this.listening = false;
    void client.end().catch(() => undefined);
    if (this.stopped) return;
    this.log.warn({ msg: 'read-model notifications lost, reconnecting', error: error?.message ?? 'connection ended', retryInMs: this.reconnectDelayMs });
    this.reconnectTimer = setTimeout(() => void this.listen(), this.reconnectDelayMs);
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, RECONNECT_MAX_MS);
  }

  private advance(rows: { name: string; position: string | number }[]): void {
    for (const { name, position } of rows) {
      const value = Number(position);
      if (Number.isSafeInteger(value) && value > (this.checkpoints.get(name) ?? 0)) this.checkpoints.set(name, value);
    }
    const passed = this.passed;
    for (const waiter of this.waiters) if (waiter.position <= passed) this.settle(waiter, true);
  }

  private settle(waiter: Waiter, caughtUp: boolean): void {
    clearTimeout(waiter.timer);
    this.waiters.delete(waiter);
    waiter.resolve(caughtUp);
  }
}

/** `jobs=12,executions=12` → rows; anything malformed is left out. */
function parseAnnouncement(payload: string | undefined): { name: string; position: string }[] {
  return (payload ?? '').split(',').flatMap((pair) => {
    const [name, position] = pair.split('=');
    return name && position ? [{ name, position }] : [];
  });
}
