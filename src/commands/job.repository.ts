import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { ConcurrencyError, HistoryCompactedError } from '../domain/errors.js';
import type { JobCommand } from '../domain/job/job.commands.js';
import { decide } from '../domain/job/job.decide.js';
import { JOB_EVENT_VERSIONS, type JobEvent } from '../domain/job/job.events.js';
import { evolve, fold, initialState, JOB_STATE_SHAPE, type JobState } from '../domain/job/job.state.js';
import { EVENT_STORE, NO_SNAPSHOTS, SNAPSHOT_STORE, WrongExpectedSequenceError, type EventStore, type SnapshotStore } from '../events/event-store.js';
import { JOB_AGGREGATE, jobEventsOf, type CommandMetadata, type StoredEvent } from '../events/stored-event.js';
const MAX_ATTEMPTS = 5;
const CACHE_LIMIT = 100_000;

/** How snapshots are used: where they are kept, and how many events a state folds past its last one before the next is written. */
export interface JobSnapshots {
  store: SnapshotStore;
  everyEvents: number;
}
export const JOB_SNAPSHOTS = Symbol('JobSnapshots');
export const WITHOUT_SNAPSHOTS: JobSnapshots = { store: NO_SNAPSHOTS, everyEvents: Number.POSITIVE_INFINITY };

export interface JobCommandResult {
  state: JobState;
  events: JobEvent[];
  /** The command id had been applied before: `events` are empty and `state` is the current one. */
  duplicate: boolean;
  /**
   * The log position (stream sequence) that read models must have passed to show what the command did: its
   * message (the earlier one, for a duplicate), or the last message of `state` when nothing was appended.
   */
  position: number;
}

interface Loaded {
  state: JobState;
  lastSequence: number;
  /** Stored events up to lastSequence, the passed-by ones included: the length of the job's history. */
  eventCount: number;
  /** `state.version` of the snapshot last written or read (0: none known). */
  snapshotVersion: number;
  /**
   * An event this code does not know (a newer Chronos wrote it) was passed by: no snapshot of this state is
   * written, since a version that knows the event would take the snapshot for its fold and miss it.
   */
  passedBy: boolean;
}

const nothingLoaded = (): Loaded => ({ state: initialState(), lastSequence: 0, eventCount: 0, snapshotVersion: 0, passedBy: false });

/**
 * Load, decide, append for the job aggregate. Loaded states are cached by job id; a stale cache entry
 * (another process appended) shows up as a wrong-last-sequence conflict, which reloads and decides again.
 * A job missing from the cache is loaded from its snapshot and the events after it; every `everyEvents`
 * events folded, the state is snapshotted again (a cache of the fold: deleting every snapshot changes no answer).
 */
@Injectable()
export class JobRepository {
  private readonly log = new Logger(JobRepository.name);
  private readonly cache = new Map<string, Loaded>();
  /** The command of each job being executed now: the next one of the same job waits for it. */
  private readonly inProgress = new Map<string, Promise<unknown>>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Optional() @Inject(JOB_SNAPSHOTS) private readonly snapshots: JobSnapshots = WITHOUT_SNAPSHOTS,
  ) {}

  /** The job as the log has it now: the cached state caught up with anything appended since. */
  async load(jobId: string): Promise<JobState> {
    return (await this.catchUp(jobId)).state;
  }

  /**
   * The job as of at least stream sequence `sequence`: the cached state when it is that recent (no round
   * trip), else caught up from the log. Workers use it with the sequence of the fire they run.
   */
  async loadAtLeast(jobId: string, sequence: number): Promise<JobState> {
    const cached = this.cache.get(jobId);
    if (cached && cached.lastSequence >= sequence) return cached.state;
    return (await this.catchUp(jobId)).state;
  }

  /** Every event of the job, oldest first, as stored (for its history). */
  async history(jobId: string): Promise<StoredEvent[]> {
    return (await this.store.load(JOB_AGGREGATE, jobId)).events;
  }

  /**
   * `limit` events of the job's history after the first `offset`, oldest first, and how many it holds: reads
   * the log only as far as the page, the total from the loaded state (its snapshot and what followed).
   */
  async historyPage(jobId: string, offset: number, limit: number): Promise<{ events: StoredEvent[]; total: number }> {
    const [{ eventCount }, events] = await Promise.all([this.catchUp(jobId), this.store.loadPage(JOB_AGGREGATE, jobId, offset, limit)]);
    return { events, total: Math.max(eventCount, offset + events.length) };
  }

  /**
   * The job just before stream sequence `sequence`: from its snapshot when that is older, else from the first
   * event (the notifications saga asks it for an execution that was open then, and is rarely far behind).
   */
  async loadBefore(jobId: string, sequence: number): Promise<JobState> {
    const snapshot = await this.snapshotOf(jobId);
    const base = snapshot && snapshot.lastSequence < sequence ? snapshot : nothingLoaded();
    const { events } = await this.store.load(JOB_AGGREGATE, jobId, base.lastSequence);
    return fold(jobEventsOf(events.filter((e) => e.sequence < sequence)), base.state);
  }

  /**
   * Folds the job from its events up to `asOf` (inclusive), from the log, bypassing the cache. When the log before
   * the job's history epoch was purged (retention), an instant before the epoch cannot be answered, unless the job
   * did not exist yet then (the initial state: not found).
   */
  async loadAsOf(jobId: string, asOf: Date): Promise<JobState> {
    const events = jobEventsOf((await this.store.load(JOB_AGGREGATE, jobId)).events);
    const first = events[0];
    if (first?.type === 'HistoryEpochClosed' && Date.parse(first.occurredAt) > asOf.getTime()) {
      const createdAt = first.data.state.createdAt;
      if (createdAt === null || Date.parse(createdAt) > asOf.getTime()) return initialState();
      throw new HistoryCompactedError(
        `the history of job ${jobId} before ${first.occurredAt} was compacted (retention): asOf answers from ${first.occurredAt} on`,
      );
    }
    return fold(events.filter((e) => Date.parse(e.occurredAt) <= asOf.getTime()));
  }

  /**
   * Commands of one job are executed one after the other in this process. Concurrent ones only raced for the
   * same stream sequence: when a burst of runs of one job reported together (after a restart, issue 15), all
   * but a few gave up after MAX_ATTEMPTS, their work was redelivered after ack_wait and ran against the
   * target again. Other processes' commands of the job are still met by the optimistic retries.
   */
  async execute(jobId: string, command: JobCommand, metadata: CommandMetadata, expectedVersion?: number): Promise<JobCommandResult> {
    const previous = this.inProgress.get(jobId);
    const current = (previous ? previous.catch(() => undefined) : Promise.resolve()).then(() => this.executeNow(jobId, command, metadata, expectedVersion));
    this.inProgress.set(jobId, current);
    try {
      return await current;
    } finally {
      if (this.inProgress.get(jobId) === current) this.inProgress.delete(jobId);
    }
  }

  private async executeNow(jobId: string, command: JobCommand, metadata: CommandMetadata, expectedVersion?: number): Promise<JobCommandResult> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const cached = this.cache.get(jobId);
      // A CreateJob is first decided without reading the log: its id is new, and the append's expected last sequence 0
      // is the check that it has no events (a conflict or a duplicate of its command id reads the log and decides again).
      const loaded = cached ?? (attempt === 1 && command.type === 'CreateJob' ? nothingLoaded() : await this.catchUp(jobId));
      if (expectedVersion !== undefined && loaded.state.exists && loaded.state.version !== expectedVersion) {
        // The cache may be behind the log; only a fresh read can say the caller's version is stale.
        const fresh = attempt === 1 ? await this.catchUp(jobId) : loaded;
        if (fresh.state.version !== expectedVersion) {
          throw new ConcurrencyError(`job is at version ${fresh.state.version}, not ${expectedVersion}`, true);
        }
        continue;
      }
      let events: JobEvent[];
      try {
        events = decide(command, loaded.state);
      } catch (error) {
        // Another process may have moved the job past the cached state (a worker dead-lettered a run): only
        // the state the log has now may refuse a command.
        if (!cached || (await this.catchUp(jobId)).lastSequence === loaded.lastSequence) throw error;
        continue;
      }
      if (events.length === 0) return { state: loaded.state, events, duplicate: false, position: loaded.lastSequence };
      try {
        const result = await this.store.append(
          JOB_AGGREGATE,
          jobId,
          loaded.lastSequence,
          events.map((event) => ({ type: event.type, version: JOB_EVENT_VERSIONS[event.type], data: event.data })),
          metadata,
        );
        if (result.duplicate) {
          return { state: (await this.catchUp(jobId)).state, events: [], duplicate: true, position: result.sequence };
        }
        this.log.debug({ msg: 'events appended', jobId, command: command.type, events: events.map((e) => e.type), sequence: result.sequence, ...metadata });
        const state = events.reduce(evolve, loaded.state);
        this.remember(jobId, { ...loaded, state, lastSequence: result.sequence, eventCount: loaded.eventCount + events.length });
        return { state, events, duplicate: false, position: result.sequence };
      } catch (error) {
        if (!(error instanceof WrongExpectedSequenceError)) throw error;
        await this.catchUp(jobId);
      }
    }
    throw new ConcurrencyError(`job ${jobId} kept changing; gave up after ${MAX_ATTEMPTS} attempts`, false);
  }

  /**
   * Reads what was appended after the cached state and folds it in; a job not cached starts from its snapshot
   * (or from the first event, when it has none).
   */
  private async catchUp(jobId: string): Promise<Loaded> {
    const cached = this.cache.get(jobId);
    const base = cached ?? (await this.snapshotOf(jobId)) ?? nothingLoaded();
    const { events, lastSequence } = await this.store.load(JOB_AGGREGATE, jobId, base.lastSequence);
    if (events.length === 0) {
      if (base !== cached && base.lastSequence > 0) this.remember(jobId, base);
      return base;
    }
    const known = jobEventsOf(events);
    const loaded: Loaded = {
      state: fold(known, base.state),
      lastSequence,
      eventCount: base.eventCount + events.length,
      snapshotVersion: base.snapshotVersion,
      passedBy: base.passedBy || known.length < events.length,
    };
    this.remember(jobId, loaded);
    return loaded;
  }

  /** The job's snapshot as a loaded state, if it has one of the state's current shape. */
  private async snapshotOf(jobId: string): Promise<Loaded | null> {
    if (this.snapshots.store === NO_SNAPSHOTS) return null;
    const snapshot = await this.snapshots.store.get(JOB_AGGREGATE, jobId).catch((error: unknown) => {
      this.log.warn(`snapshot of job ${jobId} not read: ${(error as Error).message}`);
      return null;
    });
    if (!snapshot || snapshot.shape !== JOB_STATE_SHAPE) return null;
    const state = snapshot.state as JobState;
    return { state, lastSequence: snapshot.lastSequence, eventCount: snapshot.eventCount, snapshotVersion: state.version, passedBy: false };
  }

  private remember(jobId: string, loaded: Loaded): void {
    this.snapshotIfDue(jobId, loaded);
    this.cache.delete(jobId);
    // A deleted job is not kept: nothing more happens to it, and a churn of created and deleted jobs would fill the cache.
    if (loaded.state.deleted) return;
    this.cache.set(jobId, loaded);
    if (this.cache.size > CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
  }

  /** Writes a snapshot once `everyEvents` have been folded past the last one; a deleted job's snapshot goes. Never waited for. */
  private snapshotIfDue(jobId: string, loaded: Loaded): void {
    const { state } = loaded;
    if (state.deleted && loaded.snapshotVersion > 0) {
      loaded.snapshotVersion = 0;
      void this.snapshots.store.remove(JOB_AGGREGATE, jobId).catch(() => undefined);
      return;
    }
    if (loaded.passedBy || !state.exists || state.deleted || state.version - loaded.snapshotVersion < this.snapshots.everyEvents) return;
    loaded.snapshotVersion = state.version;
    const snapshot = { shape: JOB_STATE_SHAPE, lastSequence: loaded.lastSequence, eventCount: loaded.eventCount, state };
    void this.snapshots.store.put(JOB_AGGREGATE, jobId, snapshot).catch((error: unknown) => this.log.warn(`snapshot of job ${jobId} not written: ${(error as Error).message}`));
  }
}
