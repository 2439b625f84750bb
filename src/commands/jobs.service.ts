import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ForbiddenError } from '../auth/auth.errors.js';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { NotFoundError } from '../domain/errors.js';
import { toInstant } from '../domain/instant.js';
import { defaultRetryPolicy, withDefaults, type JobSpec, type JobType, type Notifications, type RetryPolicy } from '../domain/job/job-spec.js';
import type { JobCommand } from '../domain/job/job.commands.js';
import type { JobState } from '../domain/job/job.state.js';
import type { Schedule } from '../domain/job/schedule.js';
import type { StoredEvent } from '../events/stored-event.js';
import { assertScriptAllowed } from '../executors/script.executor.js';
import { TargetGuard } from '../executors/target-guard.js';
import { SecretsService } from '../secrets/secrets.service.js';
import { fromCaller } from './envelopes.js';
import { JobCommands } from './job-commands.js';
import { JobRepository, type JobCommandResult } from './job.repository.js';

/** A schedule as a caller writes it: instants in any form the API takes, a cron's zone optional. */
export type ScheduleRequest =
  | { kind: 'immediate' }
  | { kind: 'at'; runAt: string }
  | { kind: 'cron'; expression: string; timezone?: string }
  | { kind: 'interval'; everyMs: number; startAt?: string };

/** A job as a caller asks for it, its shape already checked (src/http/dto/job.dto.ts): optional fields may be missing. */
export interface JobRequest {
  name: string;
  description?: string;
  type: JobType;
  payload: Record<string, unknown>;
  schedule: ScheduleRequest;
  retryPolicy?: Partial<RetryPolicy>;
  timeoutMs?: number;
  concurrencyPolicy?: JobSpec['concurrencyPolicy'];
  misfirePolicy?: JobSpec['misfirePolicy'];
  notifications?: Partial<Notifications>;
  labels?: Record<string, string>;
  /** null clears it (PATCH). */
  historyLimit?: number | null;
}

/** Who asks: a user of the API, in a request's correlation. */
export interface JobCaller {
  id: string;
  role: 'admin' | 'user';
  correlationId: string;
}

/**
 * What a caller can do to jobs, whatever the transport: who may see a job, how a request becomes a spec
 * (defaults, the script and target rules), PATCH merging, and the job's secrets (checked in plaintext,
 * stored sealed, shredded with the job). The HTTP controllers only translate requests and answers.
 */
@Injectable()
export class JobsService {
  constructor(
    private readonly commands: JobCommands,
    private readonly jobs: JobRepository,
    private readonly targets: TargetGuard,
    private readonly secrets: SecretsService,
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
  ) {}

  /** The job, if it exists and the caller may see it; otherwise JOB_NOT_FOUND (never forbidden: no existence leak). */
  async visible(id: string, caller: JobCaller): Promise<JobState> {
    const state = await this.jobs.load(id);
    if (!seenBy(state, caller)) throw new NotFoundError('JOB_NOT_FOUND', `job ${id} not found`);
    return state;
  }

  /** The job as it stood at `asOf`, for a caller who may see it now. */
  async asOf(id: string, caller: JobCaller, asOf: Date): Promise<JobState> {
    await this.visible(id, caller);
    const then = await this.jobs.loadAsOf(id, asOf);
    if (!then.exists || then.deleted) throw new NotFoundError('JOB_NOT_FOUND', `job ${id} did not exist at ${asOf.toISOString()}`);
    return then;
  }

  /** A page of the job's own events, oldest first, secrets masked, and how many it has. */
  async history(id: string, caller: JobCaller, offset: number, limit: number): Promise<{ events: StoredEvent[]; total: number }> {
    await this.visible(id, caller);
    const { events, total } = await this.jobs.historyPage(id, offset, limit);
    return { events: this.secrets.maskEvents(events), total };
  }

  async create(request: JobRequest, caller: JobCaller): Promise<JobCommandResult> {
    const jobId = randomUUID();
    const spec = await this.secrets.sealForStorage(jobId, await this.toSpec(request, caller));
    return this.send(jobId, caller, { type: 'CreateJob', now: new Date(), data: { jobId, ownerId: caller.id, spec, executionId: randomUUID() } });
  }

  /**
   * Changes the fields `patch` names. The merged job is checked as a whole by `check` (the rules of a create
   * body), in plaintext: sealed values would break length rules; it is sealed again before it is stored.
   */
  async update(id: string, patch: Partial<JobRequest>, caller: JobCaller, expectedVersion: number | undefined, check: (merged: unknown) => Promise<JobRequest>): Promise<JobCommandResult> {
    const current = await this.visible(id, caller);
    const spec = (await this.secrets.openForRun(id, current.spec!)) ?? current.spec!;
    const merged = this.secrets.keepMasked(
      { ...spec, ...patch, retryPolicy: { ...spec.retryPolicy, ...patch.retryPolicy }, notifications: { ...spec.notifications, ...patch.notifications } },
      spec,
    );
    const request = await check(JSON.parse(JSON.stringify(merged)));
    return this.send(id, caller, { type: 'UpdateJob', now: new Date(), data: { spec: await this.secrets.sealForStorage(id, await this.toSpec(request, caller)) } }, expectedVersion);
  }

  /** Replaces the job: omitted optional fields return to their defaults, masked secrets keep their values. */
  async replace(id: string, request: JobRequest, caller: JobCaller, expectedVersion: number | undefined): Promise<JobCommandResult> {
    const current = await this.visible(id, caller);
    const spec = await this.secrets.sealForStorage(id, this.secrets.keepMasked(await this.toSpec(request, caller), current.spec));
    return this.send(id, caller, { type: 'UpdateJob', now: new Date(), data: { spec } }, expectedVersion);
  }

  async remove(id: string, caller: JobCaller, expectedVersion: number | undefined): Promise<void> {
    await this.visible(id, caller);
    await this.send(id, caller, { type: 'DeleteJob', now: new Date(), data: {} }, expectedVersion);
    // After the deletion is durable (a refused delete keeps its secrets): shreds what the log keeps of them.
    await this.secrets.forgetJob(id);
  }

  /** Runs the job now, outside its schedule: the new execution's id. */
  async trigger(id: string, caller: JobCaller, expectedVersion: number | undefined): Promise<string> {
    await this.visible(id, caller);
    const executionId = randomUUID();
    await this.send(id, caller, { type: 'TriggerJob', now: new Date(), data: { executionId } }, expectedVersion);
    return executionId;
  }

  /** A lifecycle action (pause, resume, cancel, reschedule) on a job the caller may see. */
  async act(id: string, caller: JobCaller, command: JobCommand, expectedVersion: number | undefined): Promise<JobCommandResult> {
    await this.visible(id, caller);
    return this.send(id, caller, command, expectedVersion);
  }

  private send(jobId: string, caller: JobCaller, command: JobCommand, expectedVersion?: number): Promise<JobCommandResult> {
    return this.commands.send(jobId, command, fromCaller(caller), expectedVersion);
  }

  /** The spec a request asks for, with defaults filled in, once the caller may run it and its targets are allowed. */
  private async toSpec(request: JobRequest, caller: JobCaller): Promise<JobSpec> {
    if (request.type === 'script' && caller.role !== 'admin') throw new ForbiddenError('SCRIPT_ADMIN_ONLY', 'script jobs are for admins');
    if (request.type === 'script') assertScriptAllowed(request.payload, this.config.script.allowlist);
    if (request.type === 'http' || request.type === 'webhook') await this.targets.assertAllowed(String(request.payload.url), 'payload.url');
    if (request.notifications?.webhookUrl) await this.targets.assertAllowed(request.notifications.webhookUrl, 'notifications.webhookUrl');
    const { retryPolicy, notifications, schedule, ...rest } = request;
    return withDefaults(
      {
        ...stripUndefined(rest),
        schedule: scheduleOf(schedule),
        ...(retryPolicy ? { retryPolicy: stripUndefined({ ...retryPolicy }) as RetryPolicy } : {}),
        ...(notifications ? { notifications: stripUndefined({ ...notifications }) as Notifications } : {}),
      },
      { retryPolicy: { ...defaultRetryPolicy(), maxAttempts: this.config.retryDefaults.maxAttempts, delayMs: this.config.retryDefaults.delayMs }, timeoutMs: this.config.defaultTimeoutMs },
    );
  }
}

/** Whether `caller` may see the job in `state`: a live job of theirs, or any for an admin. */
export function seenBy(state: JobState, caller: Pick<JobCaller, 'id' | 'role'>): boolean {
  return state.exists && !state.deleted && (caller.role === 'admin' || state.ownerId === caller.id);
}

/** The schedule a request names, its instants in the one canonical form. */
export function scheduleOf(request: ScheduleRequest): Schedule {
  switch (request.kind) {
    case 'immediate':
      return { kind: 'immediate' };
    case 'at':
      return { kind: 'at', runAt: toInstant(request.runAt).toISOString() };
    case 'cron':
      return { kind: 'cron', expression: request.expression.trim(), timezone: request.timezone ?? 'UTC' };
    case 'interval':
      return { kind: 'interval', everyMs: request.everyMs, ...(request.startAt ? { startAt: toInstant(request.startAt).toISOString() } : {}) };
  }
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
