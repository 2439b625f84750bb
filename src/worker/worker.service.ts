import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { ExecuteJobCommand } from '../commands/job-command.js';
import type { JobCommandResult } from '../commands/job.repository.js';
import { JobRepository } from '../commands/job.repository.js';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import type { ExecutionOutcome } from '../domain/job/job.events.js';
import type { JobCommand } from '../domain/job/job.commands.js';
import type { Subscription } from '@nats-io/transport-node';
import { CANCEL_SUBJECT_PREFIX, ensureDurableConsumer, LOGS_SUBJECT, WORK_STREAM, WORK_SUBJECT } from '../events/streams.js';
import { ExecutionLogBuffer, LogShipper } from './execution-log.js';
import { METRICS, type ChronosMetrics } from '../observability/metrics.js';
import { EXECUTORS, ExecutionFailure, type Executor } from '../executors/executor.js';
import { errorMessage, recordableResult } from '../executors/recordable.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { workLogContext, type WorkItem } from '../sagas/dispatch-work.saga.js';
import { withLogContext } from '../observability/log-context.js';
import { SECRETS_DESTROYED, SecretsService } from '../secrets/secrets.service.js';

export const WORKERS_CONSUMER = 'workers';
/** How often a long run's new log entries are shipped. */
const LOG_FLUSH_MS = 1000;

/** Runs shorter than this report start and end in one command; longer ones report their start first. */
const REPORT_START_AFTER_MS = 500;

/** A worker holds at most this many runs fired ahead of their instant per slot of WORKER_CONCURRENCY. */
const HELD_PER_SLOT = 25;
/** A pull request for work lives this long on the server; a graceful shutdown waits it out before handing runs back. */
const PULL_EXPIRES_MS = 2000;
/** The longest a run fired ahead is held (FIRE_AHEAD_MS is at most 5 s; the rest absorbs clock skew). */
const MAX_HOLD_MS = 6000;

interface HeldRun {
  release(outcome: 'run' | 'ack' | 'nak'): void;
}

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

class CancelledError extends Error {
  override name = 'CancelledError';
}

/**
 * Pulls work from the shared durable consumer on CHRONOS_WORK, runs it with the job type's executor,
 * reports the result as a command, and acknowledges only after that command is appended. A worker that
 * dies mid-run leaves its message to be redelivered after ack_wait (guarantee 3).
 */
@Injectable()
export class WorkerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(WorkerService.name);
  private messages: ConsumerMessages | undefined;
  /** Every work item in hand (held, waiting for a slot, running or reporting), for a graceful shutdown. */
  private readonly inHand = new Set<Promise<void>>();
  /** Runs fired ahead of their instant, by execution id, waiting for it without taking a slot. */
  private readonly held = new Map<string, HeldRun>();
  /** Executors running now (at most workerConcurrency), and the runs waiting for one of those slots. */
  private runningCount = 0;
  private readonly slotQueue: (() => void)[] = [];
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
  /** Log entries of all executions on this worker share publishes on the logs side channel. */
  private readonly logShipper = new LogShipper(async (entries) => {
    await this.nats.publisher.publish(`${LOGS_SUBJECT}.entries`, JSON.stringify(entries));
  });

  constructor(
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
    @Inject(EXECUTORS) executors: Executor[],
    private readonly commands: CommandBus,
    private readonly jobs: JobRepository,
    private readonly secrets: SecretsService,
    @Inject(METRICS) private readonly metrics: ChronosMetrics,
  ) {
    this.executors = new Map(executors.map((executor) => [executor.type, executor]));
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.ensureConsumer();
    this.cancellations = this.nats.connection.subscribe(`${CANCEL_SUBJECT_PREFIX}.*`, {
      callback: (_error, message) => this.cancel(message.subject.slice(CANCEL_SUBJECT_PREFIX.length + 1)),
    });
    const consumer = await this.nats.js.consumers.get(WORK_STREAM, WORKERS_CONSUMER);
    this.messages = await consumer.consume({ max_messages: this.config.workerConcurrency, expires: PULL_EXPIRES_MS });
    this.loop = this.run(this.messages);
  }

  /** Graceful shutdown: stop pulling, hand held runs back to the stream, let the runs in flight finish and report. */
  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.cancellations?.unsubscribe();
    await this.messages?.close();
    this.wakeIntake();
    await this.loop;
    if (this.held.size > 0) {
      // The server still routes messages to this worker's last pull request until it expires, the ones handed
      // back too: a nak now would send them to an inbox nobody reads (until ack_wait) and, on 2.9.10, deliver
      // another one twice. Handed back once that request has expired, they reach the next worker.
      await new Promise((resolve) => setTimeout(resolve, PULL_EXPIRES_MS + 200));
      for (const run of [...this.held.values()]) run.release('nak');
    }
    await Promise.allSettled([...this.inHand]);
  }

  private async ensureConsumer(): Promise<void> {
    const settings = { ack_wait: this.config.workAckWaitMs * 1_000_000, max_deliver: this.config.workMaxDeliver, max_ack_pending: 10_000 };
    await ensureDurableConsumer(this.nats.jsm, WORK_STREAM, { durable_name: WORKERS_CONSUMER, filter_subject: `${WORK_SUBJECT}.>`, ...settings });
  }

  /**
   * Takes work while there is room: at most workerConcurrency runs (and as many results being reported)
   * for work that is due, and up to HELD_PER_SLOT × workerConcurrency runs fired ahead of their instant.
   */
  private async run(messages: ConsumerMessages): Promise<void> {
    const concurrency = this.config.workerConcurrency;
    for await (const message of messages) {
      let item: WorkItem;
      try {
        item = message.json<WorkItem>();
      } catch (error) {
        // Unacknowledged: redelivered after ack_wait, and a dead letter once deliveries run out.
        this.log.error(`work ${message.seq} not completed: ${(error as Error).message}`);
        continue;
      }
      const holdMs = Math.min(Date.parse(item.scheduledAt) - Date.now(), MAX_HOLD_MS);
      if (holdMs > 0) {
        while (this.held.size >= HELD_PER_SLOT * concurrency && !this.stopping) await this.intakeCapacity();
      } else {
        while ((this.runningCount + this.slotQueue.length >= concurrency || this.reporting >= concurrency) && !this.stopping) await this.intakeCapacity();
      }
      // handle() logs and swallows what it cannot complete: the item, unacknowledged, is redelivered after ack_wait.
      const handled: Promise<void> = withLogContext(workLogContext(item), () => this.handle(message, item, holdMs)).finally(() => {
        this.inHand.delete(handled);
        this.wakeIntake();
      });
      this.inHand.add(handled);
    }
  }

  private intakeCapacity(): Promise<void> {
    return new Promise<void>((resolve) => (this.capacityFreed = resolve));
  }

  private wakeIntake(): void {
    this.capacityFreed?.();
    this.capacityFreed = undefined;
  }

  /** One of the workerConcurrency slots; resolves when this run may start. */
  private acquireSlot(): Promise<void> {
    if (this.runningCount < this.config.workerConcurrency) {
      this.runningCount++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.slotQueue.push(resolve));
  }

  private releaseSlot(): void {
    const next = this.slotQueue.shift();
    if (next) next();
    else this.runningCount--;
    this.wakeIntake();
  }

  /** A cancelled execution (replaced by a newer fire; its job paused, cancelled or deleted): abort its run, or drop it while held. */
  private cancel(executionId: string): void {
    this.held.get(executionId)?.release('ack');
    this.running.get(executionId)?.abort(new CancelledError('cancelled by a decision on its job'));
  }

  private async handle(message: JsMsg, item: WorkItem, holdMs: number): Promise<void> {
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
    // Claimed before any await for due work, so the intake loop counts it at once.
    const slot = this.acquireSlot();
    let slotHeld = true;
    const freeSlot = () => {
      if (slotHeld) this.releaseSlot();
      slotHeld = false;
    };
    try {
      await slot;
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
      if (this.stopping) {
        message.nak();
        resolve(false);
        return;
      }
      // A hold longer than a third of ack_wait (a short WORK_ACK_WAIT_MS) tells JetStream the item is in hand.
      const heartbeat = setInterval(() => message.working(), Math.floor(this.config.workAckWaitMs / 3));
      const release = (outcome: 'run' | 'ack' | 'nak') => {
        clearTimeout(timer);
        clearInterval(heartbeat);
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
    const { correlationId, causationId } = workLogContext(item);
    const metadata = (kind: string) => ({ commandId: `${kind}:${item.executionId}`, actor: `worker:${this.config.instanceId}`, correlationId, causationId });
    const send = (command: JobCommand) =>
      this.commands.execute<ExecuteJobCommand, JobCommandResult>(new ExecuteJobCommand(item.jobId, command, metadata(command.type)));

    /** The run's secret values: masked in everything it logs and reports. */
    let secrets = this.secrets.secretsOf(null);
    const mask = (text: string) => this.secrets.maskText(text, secrets);
    const logs = new ExecutionLogBuffer(item.jobId, item.executionId, mask);
    const shipLogs = () => this.shipLogs(logs);
    logs.log('info', `attempt ${item.attempt} started on worker ${this.config.instanceId}`, { attempt: item.attempt, scheduledAt: item.scheduledAt });
    this.log.debug({ msg: 'execution started', type: jobSpec.type, scheduledAt: item.scheduledAt });
    const logShipper = setInterval(() => void shipLogs().catch(() => undefined), LOG_FLUSH_MS);
    const controller = new AbortController();
    this.running.set(item.executionId, controller);
    const timeout = setTimeout(() => controller.abort(new TimeoutError(`timed out after ${jobSpec.timeoutMs} ms`)), jobSpec.timeoutMs);
    // Long runs tell JetStream they are alive well within ack_wait, so only a dead worker's items come back.
    const heartbeat = setInterval(() => message.working(), Math.floor(this.config.workAckWaitMs / 3));
    let startReported: Promise<unknown> | undefined;
    const reportStart = setTimeout(() => {
      startReported = send({ type: 'StartExecution', now: new Date(), data: { executionId: item.executionId, workerId: this.config.instanceId } });
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
      secrets = this.secrets.secretsOf(spec);
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
      clearInterval(heartbeat);
      freeSlot();
    }
    this.reporting++;
    try {
      // Reporting waits for the next turn of the event loop: a burst of runs due together all start first.
      await new Promise<void>((resolve) => setImmediate(resolve));
      await startReported?.catch(() => undefined);
      // Made safe at one place before anything enters an event: masked, well-formed, JSON, bounded.
      ({ output, error } = recordableResult(output, error, mask));
      logs.log(outcome === 'succeeded' ? 'info' : 'error', outcome === 'succeeded' ? `succeeded in ${Date.now() - startedAt.getTime()} ms` : `${outcome}: ${error}`);
      // The log is durable before the result is: an execution's record never lacks its log.
      await shipLogs();
      await send({
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
      });
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
}
