import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { NotificationListener } from '../infra/database/notification-listener.js';
import { READ_MODEL_NAMES } from './read-models.js';

/**
 * Where the read models stand, for read-your-writes (docs/guarantees.md#g8): a write waits here until every read
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

interface Waiter {
  position: number;
  resolve(caughtUp: boolean): void;
  timer: NodeJS.Timeout;
}

/**
 * This process's knowledge of the read models' checkpoints, kept current by a LISTEN connection of its own
 * that comes back after it drops (a PostgreSQL restart). While it is down, each wait reads the checkpoints
 * once instead, and is answered when the connection is back or its time is up: never by polling.
 */
@Injectable()
export class ReadModelPositions implements OnApplicationBootstrap, OnApplicationShutdown {
  /** The highest checkpoint known per read model (checkpoints only move forward). */
  private readonly checkpoints = new Map<string, number>();
  private readonly waiters = new Set<Waiter>();
  private readonly listener: NotificationListener;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(CHRONOS_CONFIG) config: ChronosConfig,
  ) {
    this.listener = new NotificationListener(config.databaseUrl, READ_MODELS_CHANNEL, READ_MODELS_LISTENER_NAME, {
      notification: (payload) => this.advance(parseAnnouncement(payload)),
      // Commits from now on are announced; what committed before is in the table.
      listening: async (client) => this.advance((await client.query(CHECKPOINTS_QUERY, [READ_MODEL_NAMES])).rows),
    });
  }

  onApplicationBootstrap(): Promise<void> {
    return this.listener.start();
  }

  async onApplicationShutdown(): Promise<void> {
    for (const waiter of this.waiters) this.settle(waiter, false);
    await this.listener.stop();
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
    if (!this.listener.isListening) {
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
function parseAnnouncement(payload: string): { name: string; position: string }[] {
  return payload.split(',').flatMap((pair) => {
    const [name, position] = pair.split('=');
    return name && position ? [{ name, position }] : [];
  });
}
