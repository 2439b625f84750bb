import { Logger } from '@nestjs/common';
import pg from 'pg';

const RECONNECT_FIRST_MS = 100;
const RECONNECT_MAX_MS = 5_000;

export interface ListenerHandlers {
  /** A notification on the channel (delivered when the notifying transaction commits). */
  notification(payload: string): void;
  /**
   * LISTEN is in place, first or again: anything committed while it was not has to be read now (on `client`,
   * the listening connection). Until this resolves the listener does not count as listening.
   */
  listening(client: pg.Client): Promise<void>;
}

/**
 * A PostgreSQL LISTEN on a connection of its own, outside the pool, that comes back when the connection
 * drops (a PostgreSQL restart, a terminated backend): tried again after 100 ms, doubling to 5 s. A pool
 * client held for LISTEN instead would take the process down with it, having no one to tell its error to.
 */
export class NotificationListener {
  private readonly log: Logger;
  private client: pg.Client | undefined;
  private live = false;
  private reconnectDelayMs = RECONNECT_FIRST_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly databaseUrl: string,
    /** An SQL identifier: one of Chronos's channel names, never user input. */
    private readonly channel: string,
    /** How the connection shows in pg_stat_activity (`application_name`), and the log context. */
    readonly name: string,
    private readonly handlers: ListenerHandlers,
  ) {
    this.log = new Logger(`NotificationListener ${name}`);
  }

  /** Connected, listening, and caught up by `listening`: every later commit will be heard of. */
  get isListening(): boolean {
    return this.live;
  }

  /** Resolves after the first attempt, listening or not (later attempts follow on their own). */
  start(): Promise<void> {
    return this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: this.name, keepAlive: true });
    this.client = client;
    client.on('notification', (message) => {
      if (message.channel === this.channel) this.handlers.notification(message.payload ?? '');
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
      await this.handlers.listening(client);
      if (this.client !== client) return;
      if (this.reconnectDelayMs > RECONNECT_FIRST_MS) this.log.log({ msg: 'listening again', channel: this.channel });
      this.live = true;
      this.reconnectDelayMs = RECONNECT_FIRST_MS;
    } catch (error) {
      this.lost(client, error as Error);
    }
  }

  private lost(client: pg.Client, error?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.live = false;
    void client.end().catch(() => undefined);
    if (this.stopped) return;
    this.log.warn({ msg: 'notifications lost, reconnecting', channel: this.channel, error: error?.message ?? 'connection ended', retryInMs: this.reconnectDelayMs });
    this.reconnectTimer = setTimeout(() => void this.connect(), this.reconnectDelayMs);
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, RECONNECT_MAX_MS);
  }
}
