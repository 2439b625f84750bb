import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { fromWorker } from '../commands/envelopes.js';
import { JobCommands } from '../commands/job-commands.js';
import { JobRepository } from '../commands/job.repository.js';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { ConcurrencyError, DomainError } from '../domain/errors.js';
import type { ExecutionOutcome } from '../domain/job/job.events.js';
import type { FinishExecution, StartExecution } from '../domain/job/job.commands.js';
import type { Subscription } from '@nats-io/transport-node';
import { reportCommandId } from '../commands/ids.js';
import { decodeWorkItem, executionLogEntry, workCorrelation, workOwner, type WorkItem } from '../events/messages.js';
import { CANCEL_SUBJECTS, cancelSubjectExecution, LOG_ENTRIES_SUBJECT, WORK_STREAM, WORK_SUBJECTS, WORKERS_CONSUMER, workSubjectOwner } from '../events/streams.js';
import { ensureDurableConsumer, keepInHand } from '../infra/durable-consumer.js';
import { ExecutionLogBuffer, LogShipper } from './execution-log.js';
import { OwnerFairSlots } from './owner-fair-slots.js';
import { METRICS, type ChronosMetrics } from '../observability/metrics.js';
import { EXECUTORS, ExecutionFailure, type Executor } from '../executors/executor.js';
import { errorMessage, recordableResult } from '../executors/recordable.js';
import { messagesBySubject, NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { withLogContext, type LogContext } from '../observability/log-context.js';
import { SECRETS_DESTROYED, SecretsService } from '../secrets/secrets.service.js';

/** The first and the longest wait between attempts to record a finished run (doubling, jittered). */
const RECORD_RETRY_FIRST_MS = 200;
const RECORD_RETRY_MAX_MS = 5000;
/** How often a long run's new log entries are shipped. */
const LOG_FLUSH_MS = 1000;

/** Runs shorter than this report start and end in one command; longer ones report their start first. */
const REPORT_START_AFTER_MS = 500;

/** A worker holds at most this many runs fired ahead of their instant per slot of WORKER_CONCURRENCY. */
const HELD_PER_SLOT = 25;
/** The longest a run fired ahead is held (FIRE_AHEAD_MS is at most 5 s; the rest absorbs clock skew). */
const MAX_HOLD_MS = 6000;
/**
 * Work items in the hands of all workers at once (the consumer's max_ack_pending): held, running, and waiting
 * for a slot while their owner has its share of them, so that a worker can look past one owner's queued items.
 */
const WORK_IN_HAND_LIMIT = 20_000;
/** A run that has waited this long for its owner's share of the slots says why in its execution's log. */
const WAIT_TOLD_AFTER_MS = 1000;
/** While the intake waits for room, how often it looks again (among other things, for other owners' work in the stream). */
const LOOK_AGAIN_MS = 250;
/**
 * How long one pull waits for work to arrive before the next is sent. It lives that long on the server even
 * once closed: a graceful shutdown waits it out before handing runs back.
 */
const PULL_EXPIRES_MS = 2000;

interface HeldRun {
  release(outcome: 'run' | 'ack' | 'nak'): void;
}

/** The log context of running a work item. */
const workLogContext = (item: WorkItem): LogContext => ({ ...workCorrelation(item), jobId: item.jobId, executionId: item.executionId, attempt: item.attempt });

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

class CancelledError extends Error {
  override name = 'CancelledError';
}

/**
 * Pulls work from the shared durable consumer on CHRONOS_WORK, runs it with the job type's executor,
 * reports the result as a command, and acknowledges only after that command is appended. A worker that
 * dies mid-run leaves its message to be redelivered after ack_wait (docs/guarantees.md#g3).
 */
@Injectable()
export class WorkerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(WorkerService.name);
  /** The pull in progress. */
  private batch: ConsumerMessages | undefined;
  /** Every work item in hand (held, waiting for a slot, running or reporting), for a graceful shutdown; and how many by owner. */
  private readonly inHand = new Set<Promise<void>>();
  private readonly inHandBy = new Map<string, number>();
  /** The same items by execution id: a redelivery of one still in hand waits for it (takeAfter). */
  private readonly byExecution = new Map<string, Promise<void>>();
  /** The last look at the work stream on behalf of owners waiting for their share of the slots: was other owners' work there? */
  private lastLook: { at: number; others: boolean } | undefined;
  /** Runs fired ahead of their instant, by execution id, waiting for it without taking a slot. */
  private readonly held = new Map<string, HeldRun>();
  /** Executors running now (at most workerConcurrency, workerOwnerConcurrency of one owner), and the runs waiting for a slot. */
  private readonly slots: OwnerFairSlots;
  /** Finished runs whose results are being reported and acknowledged. */
  private reporting = 0;
  /** Wakes the intake loop when capacity frees up. */
  private capacityFreed: (() => void) | undefined;
  /** Runs in progress, by execution id, so a cancellation can abort them. */
  private readonly running = new Map<string, AbortController>();
  private cancellations: Subscription | undefined;
  private readonly executors: Map<string, Executor>;
  private loop: Promise<void> | undefined;
  private stopping = false;
  /** Set by a graceful shutdown once the last pull request has expired: from then on, runs not started are handed back. */
  private mayHandBack = false;
  /** Log entries of all executions on this worker share publishes on the logs side channel. */
  private readonly logShipper = new LogShipper(async (entries) => {
    await this.nats.publisher.publish(LOG_ENTRIES_SUBJECT, JSON.stringify(entries));
  });

  constructor(
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
    @Inject(EXECUTORS) executors: Executor[],
    private readonly commands: JobCommands,
    private readonly jobs: JobRepository,
    private readonly secrets: SecretsService,
    @Inject(METRICS) private readonly metrics: ChronosMetrics,
  ) {
    this.executors = new Map(executors.map((executor) => [executor.type, executor]));
    this.slots = new OwnerFairSlots(config.workerConcurrency, config.workerOwnerConcurrency);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.ensureConsumer();
    this.cancellations = this.nats.connection.subscribe(CANCEL_SUBJECTS, {
      callback: (_error, message) => this.cancel(cancelSubjectExecution(message.subject), message.string()),
    });
    this.loop = this.run(await this.nats.js.consumers.get(WORK_STREAM, WORKERS_CONSUMER));
  }

  /** Graceful shutdown: stop pulling, hand the runs not started back to the stream, let the runs in flight finish and report. */
  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.cancellations?.unsubscribe();
    await this.batch?.close();
    // The server still routes messages to this worker's last pull request until it expires, the ones handed
    // back too: a nak before then would send them to an inbox nobody reads (until ack_wait) and, on 2.9.10,
    // deliver another one twice. Handed back once that request has expired, they reach the next worker.
    const lastPullExpired = new Promise((resolve) => setTimeout(resolve, PULL_EXPIRES_MS + 200));
    this.wakeIntake();
    await this.loop;
    if (this.inHand.size > 0) await lastPullExpired;
    this.mayHandBack = true;
    for (const run of [...this.held.values()]) run.release('nak');
    this.slots.close();
    await Promise.allSettled([...this.inHand]);
  }

  private async ensureConsumer(): Promise<void> {
    const settings = { ack_wait: this.config.workAckWaitMs * 1_000_000, max_deliver: this.config.workMaxDeliver, max_ack_pending: WORK_IN_HAND_LIMIT };
    await ensureDurableConsumer(this.nats.jsm, WORK_STREAM, { durable_name: WORKERS_CONSUMER, filter_subject: WORK_SUBJECTS, ...settings });
  }

  /**
   * Pulls as much work as there is room for (room), and takes each item in hand at once, so that everything
   * delivered to this worker is held, waiting for a slot, or running, each with heartbeats to JetStream: an item
   * never sits unattended until ack_wait sends it to another worker while this one still has it.
   */
  private async run(consumer: Consumer): Promise<void> {
    while (!this.stopping) {
      const room = await this.room();
      if (room === 0) {
        await this.intakeCapacity(LOOK_AGAIN_MS);
        continue;
      }
      try {
        this.batch = await consumer.fetch({ max_messages: room, expires: PULL_EXPIRES_MS });
        // A shutdown that began while the pull was being sent did not see it to close it.
        if (this.stopping) void this.batch.close();
        for await (const message of this.batch) this.take(message);
      } catch (error) {
        if (this.stopping) break;
        this.log.error(`pulling work failed, trying again: ${(error as Error).message}`);
        await this.intakeCapacity(1000);
      } finally {
        this.batch = undefined;
      }
    }
  }

  private take(message: JsMsg): void {
    let item: WorkItem;
    try {
      item = decodeWorkItem(message.json());
    } catch (error) {
      // Parked, as the consumer runner parks what is not what its subject says: it would fail the same way on every delivery.
      this.log.error(`work ${message.seq} is not a work item, parked (not delivered again): ${(error as Error).message}`);
      message.term();
      return;
    }
    const first = this.byExecution.get(item.executionId);
    if (first) {
      this.takeAfter(first, message);
      return;
    }
    const owner = workOwner(item);
    const holdMs = Math.min(Date.parse(item.scheduledAt) - Date.now(), MAX_HOLD_MS);
    // In hand from delivery to acknowledgement, whatever it waits for: held, a slot, its run, its report.
    const heartbeat = keepInHand([message], this.config.workAckWaitMs);
    // handle() logs and swallows what it cannot complete: the item, unacknowledged, is redelivered after ack_wait.
    const handled: Promise<void> = withLogContext(workLogContext(item), () => this.handle(message, item, owner, holdMs)).finally(() => {
      heartbeat();
      this.byExecution.delete(item.executionId);
      this.inHand.delete(handled);
      const left = this.inHandBy.get(owner)! - 1;
      if (left > 0) this.inHandBy.set(owner, left);
      else this.inHandBy.delete(owner);
      this.wakeIntake();
    });
    this.inHand.add(handled);
    this.byExecution.set(item.executionId, handled);
    this.inHandBy.set(owner, (this.inHandBy.get(owner) ?? 0) + 1);
  }

  /**
   * A redelivery of an item this worker still has (its ack_wait ran out without a heartbeat: NATS was away, or
   * the event loop stalled): kept in hand until the first delivery is done, then taken like any item, so it is
   * acknowledged without a run once the result is recorded instead of calling the target a second time.
   */
  private takeAfter(first: Promise<void>, message: JsMsg): void {
    const heartbeat = keepInHand([message], this.config.workAckWaitMs);
    void first.finally(() => {
      heartbeat();
      if (this.mayHandBack) message.nak();
      else this.take(message);
    });
  }

  /**
   * How many more items to pull: none while HELD_PER_SLOT × workerConcurrency runs fired ahead are held or
   * workerConcurrency results are being reported; else up to 2 × workerConcurrency due items in hand, running or
   * waiting for a slot (a slot that frees up goes to the waiting owner with the fewest runs). Items whose owner
   * has its share of the slots count too, unless other owners' work is in the stream (behind them, or in other
   * workers' hands): then the worker takes them to wait without a slot, so it reaches that work (an owner has at
   * most OWNER_MAX_QUEUED items in the stream). Alone, an owner's surplus stays in the stream for other workers.
   */
  private async room(): Promise<number> {
    const concurrency = this.config.workerConcurrency;
    if (this.reporting >= concurrency || this.held.size >= HELD_PER_SLOT * concurrency) return 0;
    const { running, ready, parked } = this.slots;
    const room = 2 * concurrency - running - ready;
    if (room - parked > 0 || parked === 0) return Math.max(0, room - parked);
    return room > 0 && (await this.othersQueued()) ? room : 0;
  }

  /**
   * Whether the work stream holds items of owners other than those waiting for their share here, that this
   * worker does not have in hand (looked at most every LOOK_AGAIN_MS).
   */
  private async othersQueued(): Promise<boolean> {
    if (this.lastLook && Date.now() - this.lastLook.at < LOOK_AGAIN_MS) return this.lastLook.others;
    const waiting = new Set(this.slots.parkedOwners());
    const counts = await messagesBySubject(this.nats.jsm, WORK_STREAM, WORK_SUBJECTS).catch(() => ({}));
    let others = 0;
    for (const [subject, count] of Object.entries(counts)) if (!waiting.has(workSubjectOwner(subject))) others += count;
    for (const [owner, count] of this.inHandBy) if (!waiting.has(owner)) others -= count;
    this.lastLook = { at: Date.now(), others: others > 0 };
    return others > 0;
  }

  /** Resolves when capacity frees up, or after `timeoutMs`. */
  private intakeCapacity(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.capacityFreed = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private wakeIntake(): void {
    this.capacityFreed?.();
    this.capacityFreed = undefined;
  }

  /**
   * Waits for a slot for an item of `owner`, telling its execution's log why
   * it waits once it has waited a while (tellWaiting). False when the worker shuts down first: the item is handed back.
   */
  private async waitForSlot(message: JsMsg, item: WorkItem, owner: string): Promise<boolean> {
    const tell = setTimeout(() => this.tellWaiting(item, owner), WAIT_TOLD_AFTER_MS);
    try {
      await this.slots.acquire(owner);
      return true;
    } catch {
      message.nak();
      return false;
    } finally {
      clearTimeout(tell);
    }
  }

  /** A run over its owner's share of this worker says so (one waiting only for a free slot does not: that is no share's doing, and telling would add load when there is most). */
  private tellWaiting(item: WorkItem, owner: string): void {
    if (!this.slots.isOwnerFull(owner)) return;
    const { instanceId: workerId, workerOwnerConcurrency: limit } = this.config;
    const entry = executionLogEntry(item, `waiting for a slot on worker ${workerId}: its owner has ${limit} runs there (WORKER_OWNER_CONCURRENCY is ${limit})`, { waiting: 'worker_owner_concurrency', limit, workerId });
    void this.logShipper.ship([entry]).catch((error: unknown) => this.log.warn(`waiting entry not logged: ${(error as Error).message}`));
  }

  private releaseSlot(owner: string): void {
    this.slots.release(owner);
    this.wakeIntake();
  }

  /**
   * A cancelled execution: dropped while held. Its run is aborted when it was replaced by a newer fire or its job
   * deleted; a pause or cancellation (`reason`) meant it to stop before its instant, so a run already started
   * at it (the decision raced the instant) goes on and its result is recorded: its target may have been called.
   */
  private cancel(executionId: string, reason: string): void {
    this.held.get(executionId)?.release('ack');
    if (reason === 'paused' || reason === 'cancelled') return;
    this.running.get(executionId)?.abort(new CancelledError('cancelled by a decision on its job'));
  }

  private async handle(message: JsMsg, item: WorkItem, owner: string, holdMs: number): Promise<void> {
    try {
      if (holdMs > 0) {
        // Read the job now, so that at the instant the run starts from the cache without a round trip.
        await this.jobs.loadAtLeast(item.jobId, item.firedSequence);
        if (!(await this.holdUntilInstant(message, item, holdMs))) return;
      }
    } catch (error) {
      this.log.error(`work ${message.seq} not completed: ${(error as Error).message}`);
      return;
    }
    // Claimed (or queued for) before any await for due work, so the intake loop counts it at once.
    if (!this.slots.tryAcquire(owner) && !(await this.waitForSlot(message, item, owner))) return;
    let slotHeld = true;
    const freeSlot = () => {
      if (slotHeld) this.releaseSlot(owner);
      slotHeld = false;
    };
    try {
      await this.execute(message, item, freeSlot);
    } catch (error) {
      this.log.error(`work ${message.seq} not completed: ${(error as Error).message}`);
    } finally {
      freeSlot();
    }
  }

  /**
   * Keeps a run fired ahead until its instant, without a slot. False when it is not to run here: cancelled
   * meanwhile (acknowledged) or handed back at shutdown (nak'd, for another worker).
   */
  private holdUntilInstant(message: JsMsg, item: WorkItem, holdMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      // Stopping: handed back at once if the shutdown may hand back already, else held and handed back with the others.
      if (this.mayHandBack) {
        message.nak();
        resolve(false);
        return;
      }
      const release = (outcome: 'run' | 'ack' | 'nak') => {
        clearTimeout(timer);
        this.held.delete(item.executionId);
        this.wakeIntake();
        if (outcome === 'ack') {
          this.log.debug('held run dropped: its execution was cancelled before its instant');
          message.ack();
        } else if (outcome === 'nak') message.nak();
        resolve(outcome === 'run');
      };
      // Timers may wake a millisecond early by the wall clock; a run never starts before its instant.
      const due = () => {
        // A stopping worker starts no held run: it hands them all back once it may (onApplicationShutdown).
        if (this.stopping) {
          if (this.mayHandBack) release('nak');
          return;
        }
        const early = Date.parse(item.scheduledAt) - Date.now();
        if (early > 0 && early <= MAX_HOLD_MS) timer = setTimeout(due, early);
        else release('run');
      };
      let timer = setTimeout(due, holdMs);
      this.held.set(item.executionId, { release });
    });
  }

  /** Hands what the execution logged since the last call to the shipper; resolves when it is durable. */
  private shipLogs(logs: ExecutionLogBuffer): Promise<void> {
    const entries = logs.drain();
    return entries.length ? this.logShipper.ship(entries) : Promise.resolve();
  }

  /** Runs the item in its slot, frees the slot as soon as the executor is done, then reports the result and acknowledges. */
  private async execute(message: JsMsg, item: WorkItem, freeSlot: () => void): Promise<void> {
    const job = await this.jobs.loadAtLeast(item.jobId, item.firedSequence);
    const open = job.openExecutions[item.executionId];
    if (!job.exists || job.deleted || !open || !job.spec) {
      // Already finished (a redelivery after the result was appended) or the job is gone: nothing to run.
      this.log.debug('work item acknowledged without a run: the execution is no longer open');
      message.ack();
      return;
    }
    const jobSpec = job.spec;
    const executor = this.executors.get(jobSpec.type);
    const startedAt = new Date();
    if (item.attempt === 1) this.metrics.startLateness.observe(Math.max(0, startedAt.getTime() - Date.parse(item.scheduledAt)) / 1000);
    const send = (command: StartExecution | FinishExecution) =>
      this.commands.send(item.jobId, command, fromWorker(this.config.instanceId, reportCommandId(command.type, item.executionId), workCorrelation(item)));

    /** The run's secret values: masked in everything it logs and reports. */
    let masker = this.secrets.masker(this.secrets.secretsOf(null));
    const mask = (text: string) => masker(text);
    const logs = new ExecutionLogBuffer(item.jobId, item.executionId, mask);
    const shipLogs = () => this.shipLogs(logs);
    logs.log('info', `attempt ${item.attempt} started on worker ${this.config.instanceId}`, { attempt: item.attempt, scheduledAt: item.scheduledAt });
    this.log.debug({ msg: 'execution started', type: jobSpec.type, scheduledAt: item.scheduledAt });
    const logShipper = setInterval(() => void shipLogs().catch(() => undefined), LOG_FLUSH_MS);
    const controller = new AbortController();
    this.running.set(item.executionId, controller);
    const timeout = setTimeout(() => controller.abort(new TimeoutError(`timed out after ${jobSpec.timeoutMs} ms`)), jobSpec.timeoutMs);
    let startReported: Promise<unknown> | undefined;
    const reportStart = setTimeout(() => {
      // Caught where it is made: it may fail while the run goes on, long before anything awaits it.
      startReported = send({ type: 'StartExecution', now: new Date(), data: { executionId: item.executionId, workerId: this.config.instanceId } })
        .catch((failure: unknown) => this.log.warn({ msg: 'start of a run not recorded', executionId: item.executionId, error: errorMessage(failure) }));
    }, REPORT_START_AFTER_MS);

    let outcome: ExecutionOutcome = 'succeeded';
    let output: unknown;
    let error: string | undefined;
    let retryable = true;
    try {
      if (!executor) throw new ExecutionFailure(`no executor for job type "${jobSpec.type}"`);
      const spec = await this.secrets.openForRun(item.jobId, jobSpec).catch((failure: Error) => {
        throw new ExecutionFailure(failure.message, undefined, false);
      });
      if (!spec) throw new ExecutionFailure(SECRETS_DESTROYED, undefined, false);
      masker = this.secrets.masker(this.secrets.secretsOf(spec));
      output = await executor.run({
        jobId: item.jobId,
        executionId: item.executionId,
        scheduledAt: item.scheduledAt,
        attempt: item.attempt,
        payload: spec.payload,
        signal: controller.signal,
        log: logs.log,
      });
    } catch (failure) {
      outcome = controller.signal.aborted && controller.signal.reason instanceof TimeoutError ? 'timed_out' : 'failed';
      error = outcome === 'timed_out' ? (controller.signal.reason as Error).message : errorMessage(failure);
      output = failure instanceof ExecutionFailure ? failure.output : undefined;
      retryable = !(failure instanceof ExecutionFailure) || failure.retryable;
    } finally {
      this.running.delete(item.executionId);
      clearInterval(logShipper);
      clearTimeout(timeout);
      clearTimeout(reportStart);
      freeSlot();
    }
    this.reporting++;
    try {
      // Reporting waits for the next turn of the event loop: a burst of runs due together all start first.
      await new Promise<void>((resolve) => setImmediate(resolve));
      await startReported;
      // Made safe at one place before anything enters an event: masked, well-formed, JSON, bounded.
      ({ output, error } = recordableResult(output, error, mask));
      logs.log(outcome === 'succeeded' ? 'info' : 'error', outcome === 'succeeded' ? `succeeded in ${Date.now() - startedAt.getTime()} ms` : `${outcome}: ${error}`);
      // The log is durable before the result is: an execution's record never lacks its log.
      await shipLogs();
      await this.recordFinished(item, () => send({
        type: 'FinishExecution',
        now: new Date(),
        data: {
          executionId: item.executionId,
          workerId: this.config.instanceId,
          outcome,
          startedAt: startedAt.toISOString(),
          ...(output !== undefined ? { output } : {}),
          ...(error !== undefined ? { error } : {}),
          retryable,
          jitter: Math.random(),
        },
      }));
      const durationMs = Date.now() - startedAt.getTime();
      this.metrics.executionDuration.observe({ type: jobSpec.type, outcome }, durationMs / 1000);
      const line = { msg: 'execution finished', type: jobSpec.type, outcome, durationMs, ...(error !== undefined ? { error } : {}) };
      if (outcome === 'succeeded') this.log.log(line);
      else this.log.warn(line);
      message.ack();
    } finally {
      this.reporting--;
      this.wakeIntake();
    }
  }

  /**
   * Records a finished run, trying again (heartbeats going) while the log or the job's stream refuses it for
   * a while: once its executor has returned, a run is never left for redelivery, which would call its target
   * again. A result the job can never take (the job deleted meanwhile) is given up, so is one still failing
   * when the worker stops (then the item comes back to another worker after ack_wait, as after a crash).
   */
  private async recordFinished(item: WorkItem, record: () => Promise<unknown>): Promise<void> {
    for (let waitMs = RECORD_RETRY_FIRST_MS; ; waitMs = Math.min(waitMs * 2, RECORD_RETRY_MAX_MS)) {
      try {
        await record();
        return;
      } catch (failure) {
        const never = failure instanceof DomainError && !(failure instanceof ConcurrencyError);
        if (never) {
          this.log.warn({ msg: 'result of a run refused, not recorded', executionId: item.executionId, error: errorMessage(failure) });
          return;
        }
        if (this.stopping) throw failure;
        this.log.warn({ msg: 'result of a run not recorded yet, trying again', executionId: item.executionId, error: errorMessage(failure), retryInMs: waitMs });
        await new Promise((resolve) => setTimeout(resolve, waitMs * (0.5 + Math.random())));
      }
    }
  }
}
