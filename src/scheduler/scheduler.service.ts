import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { fromScheduler } from '../commands/envelopes.js';
import { fireCommandId, retryCommandId } from '../commands/ids.js';
import { JobCommands } from '../commands/job-commands.js';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import type { JobCommand } from '../domain/job/job.commands.js';
import { FireRefusedError } from '../domain/job/job.decide.js';
import { NotFoundError } from '../domain/errors.js';
import { SCHEDULER_LEASE } from '../events/streams.js';
import { NotificationListener } from '../infra/database/notification-listener.js';
import { Lease } from '../infra/lease.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { METRICS, type ChronosMetrics } from '../observability/metrics.js';
import { dueTimers } from '../projections/timers/due-timers.query.js';
import { TIMERS_CHANNEL } from '../projections/timers/timers.projection.js';

/** How far ahead timers are loaded into memory, and how often the table is read again. */
const HORIZON_MS = 10_000;
const POLL_MS = 1_000;
/**
 * How often the whole horizon is read again, besides on taking the lease: the reads between only take what
 * changed or entered the horizon, and this catches what they cannot see (a stalled job resumed, a failed fire).
 */
const WHOLE_READ_MS = 30_000;
const MAX_CONCURRENT_FIRES = 500;

/**
 * The active scheduler (one per deployment, by lease) loads the timers due within the horizon and fires
 * each on time with a FireJob command. Exactly one fire per (job, instant) does not depend on this
 * process being alone: the decider refuses an instant at or before the last fired one, the append is
 * OCC-guarded, and the command id dedups in JetStream (docs/guarantees.md#g2).
 */
@Injectable()
export class SchedulerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(SchedulerService.name);
  private lease: Lease | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private listener: NotificationListener | undefined;
  /** Timers armed in memory, by fire key. */
  private readonly armed = new Map<string, NodeJS.Timeout>();
  private firing = 0;
  private readonly queue: { key: string; fire: () => Promise<void> }[] = [];
  private polling: Promise<void> | undefined;
  private pollAgain = false;
  private active = false;
  /** Where the last read stopped (its horizon and the highest timer position then); none: read the whole horizon next. */
  private lastRead: { horizon: Date; position: number; wholeAt: number } | undefined;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
    @Inject(METRICS) private readonly metrics: ChronosMetrics,
    private readonly commands: JobCommands,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.metrics.schedulerActive.set({ instance: this.config.instanceId }, 0);
    this.lease = await Lease.start(this.nats, SCHEDULER_LEASE, this.config.instanceId, this.config.leaseTtlMs, (held) => {
      this.log.log(held ? 'became the active scheduler' : 'standing by');
      this.active = held;
      this.lastRead = undefined;
      this.metrics.schedulerActive.set({ instance: this.config.instanceId }, held ? 1 : 0);
      if (held) void this.poll();
      else this.disarmAll();
    });
    this.pollTimer = setInterval(() => void this.poll(), POLL_MS);
    await this.listenForNewTimers();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.pollTimer);
    this.active = false;
    this.disarmAll();
    await this.polling;
    await this.listener?.stop();
    await this.lease?.release();
  }

  get isActive(): boolean {
    return this.active;
  }

  /** The timers projection notifies on commit, so a job due in under a poll interval is not late. */
  private async listenForNewTimers(): Promise<void> {
    this.listener = new NotificationListener(this.config.databaseUrl, TIMERS_CHANNEL, 'chronos-timers', {
      notification: () => void this.poll(),
      // Back after a lost connection: what was announced meanwhile is in the table.
      listening: async () => {
        this.lastRead = undefined;
        void this.poll();
      },
    });
    await this.listener.start();
  }

  private poll(): Promise<void> {
    if (!this.active) return Promise.resolve();
    // One read at a time; a notification during a read asks for one more after it (reads cost what changed).
    if (this.polling) {
      this.pollAgain = true;
      return this.polling;
    }
    this.polling = this.loadDueTimers().finally(() => {
      this.polling = undefined;
      if (this.pollAgain) {
        this.pollAgain = false;
        void this.poll();
      }
    });
    return this.polling;
  }

  /**
   * Arms what is due within the horizon: on taking the lease (and every WHOLE_READ_MS) every timer due by then,
   * in between only the timers that changed since the last read or entered the horizon since (docs/architecture.md, Scheduler).
   */
  private async loadDueTimers(): Promise<void> {
    try {
      const now = Date.now();
      const horizon = new Date(now + HORIZON_MS);
      const previous = this.lastRead;
      const whole = !previous || now - previous.wholeAt >= WHOLE_READ_MS;
      const { instants, retries, position, truncated } = await dueTimers(this.dataSource, whole ? { horizon } : { horizon, after: previous });
      // A truncated read leaves timers unread that no change will bring, and one forgotten meanwhile (the lease
      // changed hands, the LISTEN connection came back) asked for a whole read: either way the next read is a whole one.
      const forgotten = !whole && this.lastRead === undefined;
      this.lastRead = truncated || forgotten ? undefined : { horizon, position, wholeAt: whole ? now : previous!.wholeAt };
      for (const { jobId, scheduledAt } of instants) {
        const at = scheduledAt.toISOString();
        this.arm(fireCommandId(jobId, at), at, () => this.fire(jobId, at), this.config.fireAheadMs);
      }
      for (const { executionId, jobId, retryAt, correlationId } of retries) {
        this.arm(retryCommandId(executionId), retryAt.toISOString(), () => this.retry(jobId, executionId, correlationId ?? undefined));
      }
    } catch (error) {
      this.lastRead = undefined;
      this.log.error(`reading timers failed: ${(error as Error).message}`);
    }
  }

  /** Arms an in-memory timer that queues `fire` `aheadMs` before `dueAt`, once per key. */
  private arm(key: string, dueAt: string, fire: () => Promise<void>, aheadMs = 0): void {
    if (this.armed.has(key) || !this.active) return;
    const fireAt = Date.parse(dueAt) - aheadMs;
    const due = () => {
      // Timers may wake a millisecond early by the wall clock, and the decider refuses an instant not yet due.
      const early = fireAt - Date.now();
      if (early > 0) {
        this.armed.set(key, setTimeout(due, early));
        return;
      }
      this.queue.push({ key, fire });
      this.drain();
      // Forget the key once the timers table has surely moved on (the projection has applied the fire).
      setTimeout(() => this.armed.delete(key), HORIZON_MS).unref();
    };
    this.armed.set(key, setTimeout(due, Math.max(0, fireAt - Date.now())));
  }

  private disarmAll(): void {
    for (const timer of this.armed.values()) clearTimeout(timer);
    this.armed.clear();
    this.queue.length = 0;
  }

  /** Runs queued fires, at most MAX_CONCURRENT_FIRES in flight: a burst is pipelined, not serialised. */
  private drain(): void {
    while (this.firing < MAX_CONCURRENT_FIRES && this.queue.length > 0) {
      const { key, fire } = this.queue.shift()!;
      this.firing++;
      void fire()
        .catch((error: unknown) => {
          this.log.error(`${key} failed: ${(error as Error).message}`);
          // Let the next read arm it again: a whole one, since nothing changed the timer.
          clearTimeout(this.armed.get(key));
          this.armed.delete(key);
          this.lastRead = undefined;
        })
        .finally(() => {
          this.firing--;
          this.drain();
        });
    }
  }

  /**
   * Fires one scheduled instant of a job (and whatever else is due with it: see the decider), up to
   * `fireAheadMs` before it. A fire refused as early (the job still has a run open, whose overlap with this
   * instant is decided at the instant) is armed again for the instant itself.
   */
  async fire(jobId: string, scheduledAt: string, fireAheadMs = this.config.fireAheadMs): Promise<void> {
    const key = fireCommandId(jobId, scheduledAt);
    const outcome = await this.send(jobId, key, {
      type: 'FireJob',
      now: new Date(),
      data: { scheduledAt, misfireThresholdMs: this.config.misfireThresholdMs, fireAllCap: this.config.fireAllCap, fireAheadMs },
    });
    if (outcome === 'applied') this.metrics.fireLateness.observe(Math.max(0, Date.now() - Date.parse(scheduledAt)) / 1000);
    if (outcome === 'not_due' && fireAheadMs > 0 && this.active) {
      clearTimeout(this.armed.get(key));
      this.armed.delete(key);
      this.arm(key, scheduledAt, () => this.fire(jobId, scheduledAt, 0));
    }
  }

  /** Fires the retry timer of a failed attempt, in the failed run's correlation (a new one for timers from before it was kept). */
  async retry(jobId: string, executionId: string, correlationId?: string): Promise<void> {
    await this.send(jobId, retryCommandId(executionId), { type: 'RetryExecution', now: new Date(), data: { executionId } }, correlationId);
  }

  /** Whether the command was applied, or why the guards refused it. A fire starts a correlation of its own. */
  private async send(jobId: string, commandId: string, command: JobCommand, correlationId?: string): Promise<'applied' | FireRefusedError['reason'] | 'not_found'> {
    try {
      await this.commands.send(jobId, command, fromScheduler(this.config.instanceId, commandId, correlationId));
      return 'applied';
    } catch (error) {
      // Refused fires are the guards doing their job (already fired, stale timer, paused, deleted): nothing to do.
      if (error instanceof FireRefusedError) return error.reason;
      if (error instanceof NotFoundError) return 'not_found';
      throw error;
    }
  }
}
