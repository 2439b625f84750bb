import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { StoredMsg } from '@nats-io/jetstream';
import { JobRepository } from '../commands/job.repository.js';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { backlogSubject, LOGS_SUBJECT, messagesBySubject, messagesOn, WORK_BACKLOG_STREAM, WORK_BACKLOG_SUBJECT, WORK_STREAM, workSubject } from '../events/streams.js';
import { Lease } from '../infra/lease.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { executionLogEntry, type LogEntry } from '../worker/execution-log.js';
import { workItemId, type WorkItem } from './dispatch-work.saga.js';
import { releasable } from './work-admission.js';

/** How often the backlog is looked at (each look is one stream-info request while it is empty). */
const SWEEP_MS = 200;
/** The most fires moved for one owner per look. */
const RELEASE_BATCH = 1000;

/**
 * Moves fires deferred by the dispatch reaction from CHRONOS_WORK_BACKLOG to the work stream as their owner's
 * items there drop below OWNER_MAX_QUEUED, oldest first per owner, every owner at once (docs/architecture.md,
 * Fair shares). One active instance, by lease. Nothing here is in memory only: the backlog and the work
 * stream's counts are the state, so a crash loses nothing. A fire is published to the work stream
 * (Nats-Msg-Id work:<executionId>) before it is deleted from the backlog: after a crash between the two it is
 * published again, and the work stream drops the repeat as a duplicate.
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
    this.lease = await Lease.start(this.nats.kvm, 'work-backlog', this.config.instanceId, this.config.leaseTtlMs, (held) => (this.active = held));
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
    const waiting = await messagesBySubject(this.nats.jsm, WORK_BACKLOG_STREAM, `${WORK_BACKLOG_SUBJECT}.>`);
    await Promise.all(Object.entries(waiting).map(([subject, count]) => this.release(subject.slice(WORK_BACKLOG_SUBJECT.length + 1), count)));
  }

  /** Moves as many of the owner's oldest waiting fires as its share of the work stream has room for. */
  private async release(ownerId: string, waiting: number): Promise<void> {
    const room = Math.min(releasable(await messagesOn(this.nats.jsm, WORK_STREAM, workSubject(ownerId)), waiting, this.config.ownerMaxQueued), RELEASE_BATCH);
    const taken: StoredMsg[] = [];
    for (let seq = 0; taken.length < room; ) {
      const message = await this.nats.jsm.direct.getMessage(WORK_BACKLOG_STREAM, { next_by_subj: backlogSubject(ownerId), seq: seq + 1 });
      if (!message) break;
      taken.push(message);
      seq = message.seq;
    }
    if (taken.length === 0) return;
    const items = taken.map((message) => ({ item: message.json<WorkItem>(), deferredAt: message.time.getTime() }));
    const toRun = await this.stillQueued(items.map(({ item }) => item));
    const released: LogEntry[] = [];
    await Promise.all(
      items.map(async ({ item, deferredAt }) => {
        if (!toRun.has(item.executionId)) return;
        await this.nats.publisher.publish(workSubject(ownerId), JSON.stringify(item), { msgID: workItemId(item.executionId) });
        const waitedMs = Math.max(0, Date.now() - deferredAt);
        released.push(
          executionLogEntry(item, `left its owner's backlog after ${waitedMs} ms: the owner has fewer than ${this.config.ownerMaxQueued} runs queued or running`, { waiting: 'released', waitedMs }, `released:${item.executionId}`),
        );
      }),
    );
    if (released.length > 0) await this.nats.publisher.publish(`${LOGS_SUBJECT}.entries`, JSON.stringify(released));
    await Promise.all(taken.map((message) => this.nats.jsm.streams.deleteMessage(WORK_BACKLOG_STREAM, message.seq, false)));
    if (taken.length > toRun.size) this.log.debug({ msg: 'backlog items dropped: their executions are no longer queued', ownerId, dropped: taken.length - toRun.size });
  }

  /**
   * The executions among `items` that are still queued. One cancelled meanwhile (its job paused, cancelled or
   * deleted) needs no run; one already running was dispatched already (a reactor that died mid-batch may have
   * sent a fire both ways on its replay).
   */
  private async stillQueued(items: WorkItem[]): Promise<Set<string>> {
    const states = new Map(await Promise.all([...new Set(items.map((item) => item.jobId))].map(async (jobId) => [jobId, await this.jobs.load(jobId)] as const)));
    return new Set(
      items
        .filter((item) => {
          const job = states.get(item.jobId)!;
          return job.exists && !job.deleted && job.openExecutions[item.executionId]?.status === 'queued';
        })
        .map((item) => item.executionId),
    );
  }
}
