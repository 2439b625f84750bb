import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { JobRepository } from '../commands/job.repository.js';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { workItemMessageId } from '../commands/ids.js';
import { decodeWorkItem, type WorkItem } from '../events/messages.js';
import { backlogSubject, backlogSubjectOwner, DUPLICATE_WINDOW_MS, WORK_BACKLOG_STREAM, WORK_BACKLOG_SUBJECTS, WORK_STREAM, workSubject } from '../events/streams.js';
import { Lease } from '../infra/lease.js';
import { messagesBySubject, messagesOn, NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { readInOrder } from '../infra/ordered-read.js';
import { releasable } from './work-admission.js';

/** How often the backlog is looked at (each look is one stream-info request while it is empty). */
const SWEEP_MS = 200;
/** The most fires moved for one owner per look. */
const RELEASE_BATCH = 1000;
/**
 * A fire waiting longer than this may have a twin the work stream no longer remembers (see stillQueued):
 * the duplicate window, less a minute for the reactor's replay that could have made it.
 */
const TWIN_CHECK_AFTER_MS = DUPLICATE_WINDOW_MS - 60_000;

interface Waiting {
  seq: number;
  item: WorkItem;
  deferredAt: number;
}

/**
 * Moves fires deferred by the dispatch reaction from CHRONOS_WORK_BACKLOG to the work stream as their owner's
 * items there drop below OWNER_MAX_QUEUED, oldest first per owner, every owner at once (docs/architecture.md,
 * Fair shares). One active instance, by lease. Nothing here is in memory only: the backlog and the work
 * stream's counts are the state, so a crash loses nothing. Fires are published to the work stream
 * (Nats-Msg-Id work:<executionId>) before they are purged from the backlog: after a crash between the two they
 * are published again, and the work stream drops the repeats as duplicates.
 */
@Injectable()
export class WorkBacklogReleaser implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(WorkBacklogReleaser.name);
  private lease: Lease | undefined;
  private timer: NodeJS.Timeout | undefined;
  private active = false;
  private sweeping: Promise<void> | undefined;

  constructor(
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
    private readonly jobs: JobRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.lease = await Lease.start(this.nats, 'work-backlog', this.config.instanceId, this.config.leaseTtlMs, (held) => (this.active = held));
    this.timer = setInterval(() => this.sweep(), SWEEP_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.active = false;
    await this.sweeping;
    await this.lease?.release();
  }

  private sweep(): void {
    if (!this.active || this.sweeping) return;
    this.sweeping = this.releaseAll()
      .catch((error: unknown) => this.log.error(`backlog not released, trying again: ${(error as Error).message}`))
      .finally(() => (this.sweeping = undefined));
  }

  private async releaseAll(): Promise<void> {
    const waiting = await messagesBySubject(this.nats.jsm, WORK_BACKLOG_STREAM, WORK_BACKLOG_SUBJECTS);
    await Promise.all(Object.entries(waiting).map(([subject, count]) => this.release(backlogSubjectOwner(subject), count)));
  }

  /** Moves as many of the owner's oldest waiting fires as its share of the work stream has room for. */
  private async release(ownerId: string, waiting: number): Promise<void> {
    const room = Math.min(releasable(await messagesOn(this.nats.jsm, WORK_STREAM, workSubject(ownerId)), waiting, this.config.ownerMaxQueued), RELEASE_BATCH);
    if (room === 0) return;
    const taken = await this.oldest(ownerId, room);
    if (taken.length === 0) return;
    const twins = await this.notQueued(taken.filter(({ deferredAt }) => Date.now() - deferredAt > TWIN_CHECK_AFTER_MS).map(({ item }) => item));
    await Promise.all(
      taken
        .filter(({ item }) => !twins.has(item.executionId))
        .map(({ item }) => this.nats.publisher.publish(workSubject(ownerId), JSON.stringify(item), { msgID: workItemMessageId(item.executionId) })),
    );
    // The fires taken are the owner's oldest, in order: everything on its subject up to the last of them.
    await this.nats.jsm.streams.purge(WORK_BACKLOG_STREAM, { filter: backlogSubject(ownerId), seq: taken.at(-1)!.seq + 1 });
    if (twins.size > 0) this.log.warn({ msg: 'backlog fires dropped: their executions are no longer queued', ownerId, dropped: twins.size });
  }

  /** The owner's `count` oldest waiting fires, read with an ordered (ephemeral) consumer on its subject. */
  private async oldest(ownerId: string, count: number): Promise<Waiting[]> {
    const taken: Waiting[] = [];
    await readInOrder(this.nats.js, WORK_BACKLOG_STREAM, { filter: backlogSubject(ownerId), from: { sequence: 1 }, batch: count }, (message) => {
      taken.push({ seq: message.seq, item: decodeWorkItem(message.json()), deferredAt: message.info.timestampNanos / 1_000_000 });
      return taken.length < count;
    });
    return taken;
  }

  /**
   * The executions among `items` that are no longer queued. A reactor that died mid-batch may, on the batch's
   * replay, have sent a fire both ways (its owner's count had changed); the work stream drops the second copy
   * when it is moved within its duplicate window, so only fires older than that are read from the log: one
   * already running (or finished, cancelled, its job deleted) is not moved again.
   */
  private async notQueued(items: WorkItem[]): Promise<Set<string>> {
    if (items.length === 0) return new Set();
    const jobIds = [...new Set(items.map((item) => item.jobId))];
    const states = new Map(await Promise.all(jobIds.map(async (jobId) => [jobId, await this.jobs.load(jobId)] as const)));
    return new Set(
      items
        .filter((item) => {
          const job = states.get(item.jobId)!;
          return !job.exists || job.deleted || job.openExecutions[item.executionId]?.status !== 'queued';
        })
        .map((item) => item.executionId),
    );
  }
}
