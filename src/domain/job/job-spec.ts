import type { Schedule } from './schedule.js';

export const JOB_TYPES = ['http', 'webhook', 'script', 'email', 'custom'] as const;
export type JobType = (typeof JOB_TYPES)[number];

export const CONCURRENCY_POLICIES = ['allow', 'forbid', 'replace'] as const;
export type ConcurrencyPolicy = (typeof CONCURRENCY_POLICIES)[number];

export const MISFIRE_POLICIES = ['skip', 'fire_once', 'fire_all'] as const;
export type MisfirePolicy = (typeof MISFIRE_POLICIES)[number];

export const BACKOFF_KINDS = ['fixed', 'linear', 'exponential'] as const;
export type Backoff = (typeof BACKOFF_KINDS)[number];

export interface RetryPolicy {
  maxAttempts: number;
  backoff: Backoff;
  delayMs: number;
  maxDelayMs: number;
  jitter: boolean;
}

export interface Notifications {
  onFailure: boolean;
  onSuccess: boolean;
  email?: string;
  webhookUrl?: string;
  /** Signs notification webhooks (X-Chronos-Signature); never returned by the API. */
  webhookSecret?: string;
}

/** What the owner asked for: everything a job is, apart from its lifecycle. */
export interface JobSpec {
  name: string;
  description?: string;
  type: JobType;
  payload: Record<string, unknown>;
  schedule: Schedule;
  retryPolicy: RetryPolicy;
  timeoutMs: number;
  concurrencyPolicy: ConcurrencyPolicy;
  misfirePolicy: MisfirePolicy;
  notifications: Notifications;
  labels: Record<string, string>;
  /**
   * How many finished executions (any outcome) of this job the read models keep, newest first, in the spirit of
   * Kubernetes' successfulJobsHistoryLimit; absent: only HISTORY_RETENTION_DAYS applies (docs/architecture.md, Retention).
   */
  historyLimit?: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export function defaultRetryPolicy(): RetryPolicy {
  return { maxAttempts: 3, backoff: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000, jitter: true };
}

/** Fills the defaults of the API (README.md) into a partial spec (PUT returns omitted optional fields to these). */
export function withDefaults(
  spec: Pick<JobSpec, 'name' | 'type' | 'payload' | 'schedule'> & Partial<Omit<JobSpec, 'historyLimit'>> & { historyLimit?: number | null },
  defaults: { retryPolicy: RetryPolicy; timeoutMs: number },
): JobSpec {
  return {
    name: spec.name,
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    type: spec.type,
    payload: spec.payload,
    schedule: spec.schedule,
    retryPolicy: { ...defaults.retryPolicy, ...spec.retryPolicy },
    timeoutMs: spec.timeoutMs ?? defaults.timeoutMs,
    concurrencyPolicy: spec.concurrencyPolicy ?? 'forbid',
    misfirePolicy: spec.misfirePolicy ?? 'fire_once',
    notifications: { onFailure: true, onSuccess: false, ...spec.notifications },
    labels: spec.labels ?? {},
    // null (PATCH) clears it, like leaving it out of a PUT.
    ...(spec.historyLimit != null ? { historyLimit: spec.historyLimit } : {}),
  };
}
