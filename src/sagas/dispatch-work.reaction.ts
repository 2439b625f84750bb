import { Inject, Injectable } from '@nestjs/common';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { deferredEntriesMessageId, deferredEntryId, workItemMessageId } from '../commands/ids.js';
import { executionLogEntry, type LogEntry, type WorkItem } from '../events/messages.js';
import { jobEventsOf, type StoredEvent, type StoredJobEvent } from '../events/stored-event.js';
import { backlogSubject, cancelSubject, LOG_ENTRIES_SUBJECT, WORK_BACKLOG_STREAM, WORK_STREAM, workSubject } from '../events/streams.js';
import { messagesOn, NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { JobOwners } from './job-owners.js';
import type { Publication, Reaction } from './reaction.js';
import { admit, needsCount, type Admission, type OwnerQueue } from './work-admission.js';

/**
 * The owner a fire is dispatched under: a subject token. Owners are user ids (UUIDs); anything else (none
 * found) would make a subject no stream accepts and stop the reactor, so such a fire counts as its job's own.
 */
export const dispatchOwner = (ownerId: string | undefined, jobId: string): string => (ownerId !== undefined && /^[A-Za-z0-9_-]+$/.test(ownerId) ? ownerId : jobId);

/** The entry in the execution's log that says why its fire waits in the backlog. */
function deferredEntry(item: WorkItem, { queued, ahead }: Extract<Admission, { to: 'backlog' }>, limit: number): LogEntry {
  const before = ahead > 0 ? ` and ${ahead} earlier fires of the owner are waiting before it` : '';
  return executionLogEntry(
    item,
    `waiting in its owner's backlog: the owner has ${queued} runs queued or running (OWNER_MAX_QUEUED is ${limit})${before}; it goes to the workers when fewer are queued`,
    { waiting: 'owner_max_queued', queued, limit, ahead },
    deferredEntryId(item.executionId),
  );
}

/**
 * What a batch of events starts and stops, in log order (pure): each JobFired becomes a work item, on the work
 * stream under its owner's subject while `admit` lets it (each fire is counted in `queues`, which must know
 * every fire's owner), else in the owner's backlog with a log entry that says why; each ExecutionCancelled an
 * announcement on core NATS. `owners`: the dispatch owner of each fire's job.
 */
export function dispatchPublications(events: StoredJobEvent[], owners: ReadonlyMap<string, string>, queues: Map<string, OwnerQueue>, limit: number): Publication[] {
  const publications: Publication[] = [];
  const waiting: LogEntry[] = [];
  for (const event of events) {
    if (event.type === 'JobFired') {
      const ownerId = owners.get(event.aggregateId)!;
      const { data, sequence, correlationId, id } = event;
      const item: WorkItem = { jobId: data.jobId, ownerId, firedSequence: sequence, executionId: data.executionId, scheduledAt: data.scheduledAt, attempt: data.attempt, correlationId, causationId: id };
      const admission = admit(queues.get(ownerId)!, limit);
      const subject = admission.to === 'work' ? workSubject(ownerId) : backlogSubject(ownerId);
      publications.push({ subject, payload: JSON.stringify(item), msgID: workItemMessageId(data.executionId) });
      if (admission.to === 'backlog') waiting.push(deferredEntry(item, admission, limit));
    } else if (event.type === 'ExecutionCancelled') {
      publications.push({ subject: cancelSubject(event.data.executionId), payload: event.data.reason, core: true });
    }
  }
  if (waiting.length > 0) publications.push({ subject: LOG_ENTRIES_SUBJECT, payload: JSON.stringify(waiting), msgID: deferredEntriesMessageId(waiting[0]!.executionId, waiting.length) });
  return publications;
}

/**
 * Starts and stops runs (dispatchPublications). Every fire becomes one work item, Nats-Msg-Id = work:<executionId>,
 * on the work stream under its owner's subject, or, when its owner already has OWNER_MAX_QUEUED items there (or
 * earlier fires waiting), in the owner's backlog, from which WorkBacklogReleaser moves it on when there is room
 * (docs/architecture.md, Fair shares). The reactor acknowledges a batch only after every publish is confirmed,
 * so a crash repeats publishes that the streams then drop as duplicates, and loses none (docs/guarantees.md#g6).
 * A cancelled execution is announced on chronos.control.cancel.<executionId> with its reason: the worker holding
 * it drops it, the one running a replaced run (or one of a deleted job) aborts it; a worker that misses the
 * announcement finishes the run, and its result is ignored because the execution is no longer open, except for a
 * run paused or cancelled before its instant, which its worker may have started at it: recorded (src/domain/job).
 */
/** How many owners' queue bounds are kept in memory. */
const OWNERS_LIMIT = 10_000;

@Injectable()
export class DispatchWorkReaction implements Reaction {
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
    const jobEvents = jobEventsOf(events);
    this.owners.learn(jobEvents);
    const fired = jobEvents.filter((event) => event.type === 'JobFired').map((event) => event.aggregateId);
    const owners = new Map([...(await this.owners.ownersOf(fired))].map(([jobId, ownerId]) => [jobId, dispatchOwner(ownerId, jobId)]));
    await this.countWhereNeeded(fired.map((jobId) => owners.get(jobId)!));
    const publications = dispatchPublications(jobEvents, owners, this.queues, this.config.ownerMaxQueued);
    // The oldest owners' bounds are forgotten first: a forgotten owner's counts are read from the streams again.
    while (this.queues.size > OWNERS_LIMIT) this.queues.delete(this.queues.keys().next().value!);
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
