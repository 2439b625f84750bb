import { Inject, Injectable } from '@nestjs/common';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import type { ExecutionCancelled, JobFired } from '../domain/job/job.events.js';
import type { StoredEvent } from '../events/stored-event.js';
import { backlogSubject, cancelSubject, LOGS_SUBJECT, messagesOn, WORK_BACKLOG_STREAM, WORK_STREAM, workSubject } from '../events/streams.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import type { LogContext } from '../observability/log-context.js';
import { executionLogEntry, type LogEntry } from '../worker/execution-log.js';
import { JobOwners } from './job-owners.js';
import type { Publication, Reaction } from './reaction.js';
import { admit, needsCount, type Admission, type OwnerQueue } from './work-admission.js';

/** What a worker receives: which execution of which job to run. The worker reads the job's spec itself. */
export interface WorkItem {
  jobId: string;
  /** The job's owner, whose share of the workers the run takes (absent in items queued before it was carried). */
  ownerId?: string;
  /** Stream sequence of the fire: the worker reads the job at least as recent as this. */
  firedSequence: number;
  executionId: string;
  scheduledAt: string;
  attempt: number;
  /** The fire's correlation id, and its JobFired event: what the worker's result commands carry on. */
  correlationId: string;
  causationId: string;
}

/** The log context of running a work item (items queued before they carried ids fall back to the execution id). */
export const workLogContext = (item: WorkItem): LogContext & { correlationId: string } => ({
  correlationId: item.correlationId ?? item.executionId,
  causationId: item.causationId,
  jobId: item.jobId,
  executionId: item.executionId,
  attempt: item.attempt,
});

/** Whose share of the workers an item takes: an item queued before items carried their owner counts as its job's own. */
export const workOwner = (item: WorkItem): string => item.ownerId ?? item.jobId;

/**
 * The owner a fire is dispatched under: a subject token. Owners are user ids (UUIDs); anything else (none
 * found) would make a subject no stream accepts and stop the reactor, so such a fire counts as its job's own.
 */
const dispatchOwner = (ownerId: string, jobId: string): string => (/^[A-Za-z0-9_-]+$/.test(ownerId) ? ownerId : jobId);

/** The Nats-Msg-Id of the work item of an execution. */
export const workItemId = (executionId: string) => `work:${executionId}`;

/** The entry in the execution's log that says why its fire waits in the backlog. */
function deferredEntry(item: WorkItem, { queued, ahead }: Extract<Admission, { to: 'backlog' }>, limit: number): LogEntry {
  const before = ahead > 0 ? ` and ${ahead} earlier fires of the owner are waiting before it` : '';
  return executionLogEntry(
    item,
    `waiting in its owner's backlog: the owner has ${queued} runs queued or running (OWNER_MAX_QUEUED is ${limit})${before}; it goes to the workers when fewer are queued`,
    { waiting: 'owner_max_queued', queued, limit, ahead },
    `deferred:${item.executionId}`,
  );
}

/**
 * Starts and stops runs. Every fire becomes one work item, Nats-Msg-Id = work:<executionId>, on the work
 * stream under its owner's subject, or, when its owner already has OWNER_MAX_QUEUED items there (or earlier
 * fires waiting), in the owner's backlog, from which WorkBacklogReleaser moves it on when there is room
 * (docs/architecture.md, Fair shares); the execution's log says why it waits. The reactor acknowledges a
 * batch only after every publish is confirmed, so a crash repeats publishes that the streams then drop as
 * duplicates, and loses none (guarantee 6). A cancelled execution (replaced by a newer fire) is announced on
 * chronos.control.cancel.<executionId>, and the worker running it aborts it; a worker that misses the
 * announcement finishes the run, and its result is ignored because the execution is no longer open.
 */
@Injectable()
export class DispatchWork implements Reaction {
  readonly name = 'dispatch-work';
  /** What is known of each owner's queue; counts are read from the streams only when these bounds cannot decide. */
  private readonly queues = new Map<string, OwnerQueue>();
  /** The last stream sequence seen: a gap means another process dispatched meanwhile, so the bounds are stale. */
  private lastSequence = 0;

  constructor(
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
    private readonly owners: JobOwners,
  ) {}

  async react(events: StoredEvent[]): Promise<Publication[]> {
    const first = events[0]?.sequence;
    if (first !== undefined && first > this.lastSequence + 1) this.queues.clear();
    this.lastSequence = Math.max(this.lastSequence, events.at(-1)?.sequence ?? 0);
    this.owners.learn(events);
    const fires: { event: StoredEvent<JobFired['data']>; ownerId: string }[] = [];
    for (const event of events) {
      if (event.type !== 'JobFired') continue;
      const fired = event as StoredEvent<JobFired['data']>;
      const ownerId = this.owners.known(fired.data.jobId) ?? (await this.owners.ownerOf(fired.data.jobId));
      fires.push({ event: fired, ownerId: dispatchOwner(ownerId, fired.data.jobId) });
    }
    await this.countWhereNeeded(fires.map((fire) => fire.ownerId));

    const limit = this.config.ownerMaxQueued;
    const publications: Publication[] = [];
    const waiting: LogEntry[] = [];
    let fire = 0;
    for (const event of events) {
      if (event.type === 'JobFired') {
        const { event: fired, ownerId } = fires[fire++]!;
        const { data, sequence, correlationId, id } = fired;
        const item: WorkItem = { jobId: data.jobId, ownerId, firedSequence: sequence, executionId: data.executionId, scheduledAt: data.scheduledAt, attempt: data.attempt, correlationId, causationId: id };
        const admission = admit(this.queues.get(ownerId)!, limit);
        const subject = admission.to === 'work' ? workSubject(ownerId) : backlogSubject(ownerId);
        publications.push({ subject, payload: JSON.stringify(item), msgID: workItemId(data.executionId) });
        if (admission.to === 'backlog') waiting.push(deferredEntry(item, admission, limit));
      } else if (event.type === 'ExecutionCancelled') {
        const { executionId } = (event as StoredEvent<ExecutionCancelled['data']>).data;
        publications.push({ subject: cancelSubject(executionId), payload: '', core: true });
      }
    }
    if (waiting.length > 0) publications.push({ subject: `${LOGS_SUBJECT}.entries`, payload: JSON.stringify(waiting), msgID: `deferred:${waiting[0]!.executionId}:${waiting.length}` });
    return publications;
  }

  /**
   * Reads the counts of the owners whose known bounds cannot decide their fires in this batch. The backlog is
   * read before the work stream: the releaser publishes to the work stream before it purges the backlog,
   * so an empty backlog read first means the work count that follows includes what it released.
   */
  private async countWhereNeeded(fireOwners: string[]): Promise<void> {
    const fires = new Map<string, number>();
    for (const owner of fireOwners) fires.set(owner, (fires.get(owner) ?? 0) + 1);
    const limit = this.config.ownerMaxQueued;
    await Promise.all(
      [...fires].filter(([owner, count]) => needsCount(this.queues.get(owner), count, limit)).map(async ([owner]) => {
        const waiting = await messagesOn(this.nats.jsm, WORK_BACKLOG_STREAM, backlogSubject(owner));
        const queued = await messagesOn(this.nats.jsm, WORK_STREAM, workSubject(owner));
        this.queues.set(owner, { queued, waiting });
      }),
    );
  }
}
