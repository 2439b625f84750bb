import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConcurrencyError, HistoryCompactedError } from '../domain/errors.js';
import type { JobCommand } from '../domain/job/job.commands.js';
import { decide } from '../domain/job/job.decide.js';
import { JOB_EVENT_VERSIONS, type JobEvent } from '../domain/job/job.events.js';
import { evolve, fold, initialState, type JobState } from '../domain/job/job.state.js';
import { EVENT_STORE, WrongExpectedSequenceError, type EventStore } from '../events/event-store.js';
import { JOB_AGGREGATE, jobEventsOf, type CommandMetadata, type StoredEvent } from '../events/stored-event.js';
const MAX_ATTEMPTS = 5;
const CACHE_LIMIT = 100_000;

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
}

/**
 * Load, decide, append for the job aggregate. Loaded states are cached by job id; a stale cache entry
 * (another process appended) shows up as a wrong-last-sequence conflict, which reloads and decides again.
 */
@Injectable()
export class JobRepository {
  private readonly log = new Logger(JobRepository.name);
  private readonly cache = new Map<string, Loaded>();
  /** The command of each job being executed now: the next one of the same job waits for it. */
  private readonly inProgress = new Map<string, Promise<unknown>>();

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

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
      const loaded = cached ?? (await this.catchUp(jobId));
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
        this.remember(jobId, { state, lastSequence: result.sequence });
        return { state, events, duplicate: false, position: result.sequence };
      } catch (error) {
        if (!(error instanceof WrongExpectedSequenceError)) throw error;
        await this.catchUp(jobId);
      }
    }
    throw new ConcurrencyError(`job ${jobId} kept changing; gave up after ${MAX_ATTEMPTS} attempts`, false);
  }

  /** Reads what was appended after the cached state (everything, when nothing is cached) and folds it in. */
  private async catchUp(jobId: string): Promise<Loaded> {
    const cached = this.cache.get(jobId) ?? { state: initialState(), lastSequence: 0 };
    const { events, lastSequence } = await this.store.load(JOB_AGGREGATE, jobId, cached.lastSequence);
    if (events.length === 0) return cached;
    const loaded = { state: fold(jobEventsOf(events), cached.state), lastSequence };
    this.remember(jobId, loaded);
    return loaded;
  }

  private remember(jobId: string, loaded: Loaded): void {
    this.cache.delete(jobId);
    this.cache.set(jobId, loaded);
    if (this.cache.size > CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
  }
}
