import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Subscription } from '@nats-io/transport-node';
import { DataSource } from 'typeorm';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { decodeAuthChange, type AuthChange } from '../events/messages.js';
import { AUTH_CHANGES_SUBJECT } from '../events/streams.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import type { Role } from './users.repository.js';

/** What an access token's session says now: whose it is and that user's current role. */
export interface LiveSession {
  userId: string;
  role: Role;
}

/** A session that ended (logout, refresh-token reuse), or everything about one user (a role change). */
export type SessionChange = { sessionId: string } | { userId: string };

interface Entry {
  /** null: the session is over (revoked, expired, unknown, or its user is gone). */
  session: LiveSession | null;
  expiresAt: number;
}

const MAX_ENTRIES = 100_000;
const FLUSH_WAIT_MS = 1000;

/**
 * Whether an access token's session is live, and its user's current role, for every authenticated request:
 * read from PostgreSQL once, then kept in memory for AUTH_SESSION_CACHE_MS. A change (logout, revocation,
 * role change) is applied here at once and announced on core NATS before the change answers; every API
 * process drops what it kept and tells its listeners (open event streams close). A process that misses an
 * announcement (a connection that died unnoticed) trusts what it kept for AUTH_SESSION_CACHE_MS at most;
 * while disconnected from NATS it keeps nothing.
 */
@Injectable()
export class SessionCache implements OnModuleInit, OnModuleDestroy {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, { generation: number; session: Promise<LiveSession | null> }>();
  private readonly listeners = new Set<(change: SessionChange) => void>();
  /** Bumped by every change: a read begun before it may have seen the old row and is not kept. */
  private generation = 0;
  private connected = true;
  private subscription: Subscription | undefined;

  constructor(
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
  ) {}

  onModuleInit(): void {
    this.subscription = this.nats.connection.subscribe(AUTH_CHANGES_SUBJECT, {
      callback: (error, message) => {
        if (error) return;
        const announced = parseAnnouncement(message.data);
        // Its own announcements were applied when made.
        if (announced && announced.origin !== this.config.instanceId) this.apply('sessionId' in announced ? { sessionId: announced.sessionId } : { userId: announced.userId });
      },
    });
    void this.followConnection();
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }

  /** The session if it is live, else null. */
  async lookup(sessionId: string): Promise<LiveSession | null> {
    const cached = this.entries.get(sessionId);
    if (cached && cached.expiresAt > Date.now()) return cached.session;
    const generation = this.generation;
    const pending = this.loading.get(sessionId);
    if (pending?.generation === generation) return pending.session;
    const session = this.read(sessionId).finally(() => {
      if (this.loading.get(sessionId)?.session === session) this.loading.delete(sessionId);
    });
    this.loading.set(sessionId, { generation, session });
    const found = await session;
    if (generation === this.generation && this.connected) this.remember(sessionId, found);
    return found;
  }

  /**
   * Applies a change here and announces it to every other process: flushed to the server before this resolves,
   * or, while NATS is away, sent when it is back (waiting at most FLUSH_WAIT_MS: a logout does not hang on it).
   * Meanwhile the others keep nothing (disconnected too) or what they kept for AUTH_SESSION_CACHE_MS at most.
   */
  async changed(change: SessionChange): Promise<void> {
    this.apply(change);
    try {
      const announcement: AuthChange = { ...change, origin: this.config.instanceId };
      this.nats.connection.publish(AUTH_CHANGES_SUBJECT, JSON.stringify(announcement));
    } catch {
      return; // the connection is closed: this process is shutting down
    }
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((done) => (timer = setTimeout(done, FLUSH_WAIT_MS)));
    await Promise.race([this.nats.connection.flush().catch(() => undefined), waited]);
    clearTimeout(timer);
  }

  /** Calls `listener` with every change, from this process or another; returns the way to stop. */
  onChange(listener: (change: SessionChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private apply(change: SessionChange): void {
    this.generation++;
    if ('sessionId' in change) this.entries.delete(change.sessionId);
    else for (const [sessionId, entry] of this.entries) if (entry.session?.userId === change.userId) this.entries.delete(sessionId);
    for (const listener of this.listeners) listener(change);
  }

  private async read(sessionId: string): Promise<LiveSession | null> {
    const rows = (await this.dataSource.query(
      `SELECT s.user_id AS "userId", u.role FROM auth_sessions s JOIN users u ON u.id = s.user_id
       WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > now()`,
      [sessionId],
    )) as LiveSession[];
    return rows[0] ? { userId: rows[0].userId, role: rows[0].role } : null;
  }

  private remember(sessionId: string, session: LiveSession | null): void {
    if (this.config.auth.sessionCacheMs === 0) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(sessionId, { session, expiresAt: Date.now() + this.config.auth.sessionCacheMs });
  }

  /** Announcements sent while the connection was down are lost: keep nothing until it is back, then start afresh. */
  private async followConnection(): Promise<void> {
    for await (const status of this.nats.connection.status()) {
      if (status.type !== 'disconnect' && status.type !== 'reconnect') continue;
      this.connected = status.type === 'reconnect';
      this.generation++;
      this.entries.clear();
    }
  }
}

function parseAnnouncement(data: Uint8Array): AuthChange | null {
  try {
    return decodeAuthChange(JSON.parse(new TextDecoder().decode(data)));
  } catch {
    return null; // not one of ours
  }
}
