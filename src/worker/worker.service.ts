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
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { workLogContext, type WorkItem } from '../sagas/dispatch-work.saga.js';
import { withLogContext } from '../observability/log-context.js';
import { SECRETS_DESTROYED, SecretsService } from '../secrets/secrets.service.js';

export const WORKERS_CONSUMER = 'workers';
/** How often a long run's new log entries are shipped. */
const LOG_FLUSH_MS = 1000;

/** Runs shorter than this report start and end in one command; longer ones report their start first. */
const REPORT_START_AFTER_MS = 500;

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
  private readonly inFlight = new Set<Promise<void>>();
  private slotFreed: (() => void) | undefined;
  /** Runs in progress, by execution id, so a cancellation can abort them. */
  private readonly running = new Map<string, AbortController>();
  private cancellations: Subscription | undefined;
  private readonly executors: Map<string, Executor>;
  private loop: Promise<void> | undefined;
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
      callback: (_error, message) => {
        const executionId = message.subject.slice(CANCEL_SUBJECT_PREFIX.length + 1);
        this.running.get(executionId)?.abort(new CancelledError('cancelled: replaced by a newer fire'));
      },
    });
    const consumer = await this.nats.js.consumers.get(WORK_STREAM, WORKERS_CONSUMER);
    this.messages = await consumer.consume({ max_messages: this.config.workerConcurrency });
    this.loop = this.run(this.messages);
  }

  /** Graceful shutdown: stop pulling, let the runs in flight finish and report. */
  async onApplicationShutdown(): Promise<void> {
    this.cancellations?.unsubscribe();
    await this.messages?.close();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  private async ensureConsumer(): Promise<void> {
    const settings = { ack_wait: this.config.workAckWaitMs * 1_000_000, max_deliver: this.config.workMaxDeliver, max_ack_pending: 10_000 };
    await ensureDurableConsumer(this.nats.jsm, WORK_STREAM, { durable_name: WORKERS_CONSUMER, filter_subject: `${WORK_SUBJECT}.>`, ...settings });
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const message of messages) {
      // Wait for a free slot. (Not Promise.race over the runs in flight: each call would add a reaction to every one of them.)
      while (this.inFlight.size >= this.config.workerConcurrency) await new Promise<void>((resolve) => (this.slotFreed = resolve));
      // handle() logs and swallows what it cannot complete: the item, unacknowledged, is redelivered after ack_wait.
      const run: Promise<void> = this.handle(message).finally(() => {
        this.inFlight.delete(run);
        this.slotFreed?.();
        this.slotFreed = undefined;
      });
      this.inFlight.add(run);
    }
  }

  /** Hands what the execution logged since the last call to the shipper; resolves when it is durable. */
  private shipLogs(logs: ExecutionLogBuffer): Promise<void> {
    const entries = logs.drain();
    return entries.length ? this.logShipper.ship(entries) : Promise.resolve();
  }

  /** Runs one work item in its log context. A failure leaves it unacknowledged: JetStream redelivers it after ack_wait. */
  private handle(message: JsMsg): Promise<void> {
    const notCompleted = (error: unknown) => this.log.error(`work ${message.seq} not completed: ${(error as Error).message}`);
    try {
      const item = message.json<WorkItem>();
      return withLogContext(workLogContext(item), () => this.execute(message, item).catch(notCompleted));
    } catch (error) {
      notCompleted(error);
      return Promise.resolve();
    }
  }

  private async execute(message: JsMsg, item: WorkItem): Promise<void> {
    const job = await this.jobs.loadAtLeast(item.jobId, item.firedSequence);
    const open = job.openExecutions[item.executionId];
    if (!job.exists || job.deleted || !open || !job.spec) {
      // Already finished (a redelivery after the result was appended) or the job is gone: nothing to run.
      this.log.debug('work item acknowledged without a run: the execution is no longer open');
      message.ack();
      return;
    }
    const executor = this.executors.get(job.spec.type);
    const startedAt = new Date();
    const { correlationId, causationId } = workLogContext(item);
    const metadata = (kind: string) => ({ commandId: `${kind}:${item.executionId}`, actor: `worker:${this.config.instanceId}`, correlationId, causationId });
    const send = (command: JobCommand) =>
      this.commands.execute<ExecuteJobCommand, JobCommandResult>(new ExecuteJobCommand(item.jobId, command, metadata(command.type)));

    const logs = new ExecutionLogBuffer(item.jobId, item.executionId);
    const shipLogs = () => this.shipLogs(logs);
    logs.log('info', `attempt ${item.attempt} started on worker ${this.config.instanceId}`, { attempt: item.attempt, scheduledAt: item.scheduledAt });
    this.log.debug({ msg: 'execution started', type: job.spec.type, scheduledAt: item.scheduledAt });
    const logShipper = setInterval(() => void shipLogs().catch(() => undefined), LOG_FLUSH_MS);
    const controller = new AbortController();
    this.running.set(item.executionId, controller);
    const timeout = setTimeout(() => controller.abort(new TimeoutError(`timed out after ${job.spec!.timeoutMs} ms`)), job.spec.timeoutMs);
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
    /** The run's secret values: masked in everything it logs and reports. */
    let secrets = this.secrets.secretsOf(null);
    try {
      if (!executor) throw new ExecutionFailure(`no executor for job type "${job.spec.type}"`);
      const spec = await this.secrets.openForRun(item.jobId, job.spec).catch((failure: Error) => {
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
        log: (level, text, meta) => logs.log(level, this.secrets.maskText(text, secrets), meta && this.secrets.maskDeep(meta, secrets)),
      });
    } catch (failure) {
      outcome = controller.signal.aborted && controller.signal.reason instanceof TimeoutError ? 'timed_out' : 'failed';
      error = this.secrets.maskText(outcome === 'timed_out' ? (controller.signal.reason as Error).message : (failure as Error).message, secrets);
      output = failure instanceof ExecutionFailure ? this.secrets.maskDeep(failure.output, secrets) : undefined;
      retryable = !(failure instanceof ExecutionFailure) || failure.retryable;
    } finally {
      this.running.delete(item.executionId);
      clearInterval(logShipper);
      clearTimeout(timeout);
      clearTimeout(reportStart);
      clearInterval(heartbeat);
    }
    await startReported?.catch(() => undefined);
    if (outcome === 'succeeded') output = this.secrets.maskDeep(output, secrets);
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
    this.metrics.executionDuration.observe({ type: job.spec.type, outcome }, durationMs / 1000);
    const line = { msg: 'execution finished', type: job.spec.type, outcome, durationMs, ...(error !== undefined ? { error } : {}) };
    if (outcome === 'succeeded') this.log.log(line);
    else this.log.warn(line);
    message.ack();
  }
}
