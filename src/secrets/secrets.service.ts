import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import type { JobSpec } from '../domain/job/job-spec.js';
import { configSecrets } from './config-secrets.js';
import { deriveMasterKey, JobKeys, legacyMasterKey } from './job-keys.js';
import { hasSecrets, maskDeep, maskEventData, maskSpec, maskText, maskUrl, mergeMasked, openSpec, sealSpec, secretValues, textMasker } from './job-secrets.js';
import { isSealed } from './sealed.js';
import { hasEmbeddedSealed } from './url-secrets.js';

/** Distinct secret sets whose maskers are kept: past it, they are all let go and derived again as needed. */
const MASKERS_KEPT = 1000;

/** What the worker records when a run's secrets cannot be opened (the job was deleted: its key destroyed). */
export const SECRETS_DESTROYED = "the job's secrets were destroyed";

/**
 * Crypto-shredding of job secrets, for the API (seal on create/update, mask on read, forget on delete), the
 * worker and the notifier (open for a run, mask what a run logs or reports).
 */
@Injectable()
export class SecretsService implements OnApplicationBootstrap {
  private readonly log = new Logger(SecretsService.name);
  private readonly keys: JobKeys;
  private readonly configValues: string[];
  /** Run maskers by their secrets (see `masker`). */
  private readonly maskers = new Map<string, (text: string) => string>();

  constructor(
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
    dataSource: DataSource,
  ) {
    const { secretsKey, legacyJwtSecret } = config.secrets;
    this.keys = new JobKeys(dataSource, deriveMasterKey({ secretsKey, jwtSecret: config.auth.jwtSecret }), {
      ...(legacyJwtSecret ? { previousMasterKey: legacyMasterKey(legacyJwtSecret) } : {}),
    });
    this.configValues = configSecrets(config);
  }

  /** Says loudly when job secrets are not under a key of their own, and moves keys wrapped under JWT_SECRET to CHRONOS_SECRETS_KEY. */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.secrets.secretsKey) {
      // Development and test only (configuration refuses it elsewhere).
      this.log.warn(
        `CHRONOS_SECRETS_KEY is not set: job secrets are sealed under a key derived from JWT_SECRET${this.config.auth.jwtSecretGenerated ? ', itself random for this process: they will not open after a restart' : ''}; rotating JWT_SECRET makes them unreadable. Set CHRONOS_SECRETS_KEY (npm run up does).`,
      );
    }
    if (!this.config.secrets.legacyJwtSecret) return;
    const rewrapped = await this.keys.rewrapPrevious();
    this.log.log({ msg: 'job keys wrapped under the legacy key moved to the current master key', rewrapped });
  }

  /** The spec as it may be stored (event log, read models): its secrets sealed under the job's key, created on first use. */
  async sealForStorage(jobId: string, spec: JobSpec): Promise<JobSpec> {
    if (!hasSecrets(spec)) return spec;
    const key = await this.keys.keyFor(jobId, { create: true });
    return sealSpec(spec, key!, jobId);
  }

  /**
   * `next` (a PUT/PATCH body, or the spec built from it) with each MASK placeholder of a secret replaced by
   * the job's current value (sealed, from the stored spec). Throws MaskedSecretError (422) for a placeholder
   * with no current value.
   */
  keepMasked<T extends { payload?: unknown; notifications?: unknown }>(next: T, current: JobSpec | null | undefined): T {
    return mergeMasked(next, current);
  }

  /** The spec with its secrets opened, for a run or a notification; null when the job's key is gone (deleted). */
  async openForRun(jobId: string, spec: JobSpec): Promise<JobSpec | null> {
    if (!hasSealed(spec)) return spec;
    const key = await this.keys.keyFor(jobId, { create: false });
    return key ? openSpec(spec, key, jobId) : null;
  }

  /** Destroys the job's key: its secrets in the event log and read models are unreadable for good. Idempotent. */
  forgetJob(jobId: string): Promise<void> {
    return this.keys.destroy(jobId);
  }

  /** The spec as a response shows it: every secret → MASK. */
  maskForResponse(spec: JobSpec): JobSpec {
    return maskSpec(spec);
  }

  /** Stored events as a response shows them (GET /jobs/:id/events): specs masked, no sealed value left. */
  maskEvents<E extends { data: unknown }>(events: E[]): E[] {
    return events.map((event) => ({ ...event, data: maskEventData(event.data) }));
  }

  /** The values to mask in what a run of this (opened) spec logs, reports or fails with; configuration secrets included. */
  secretsOf(openedSpec: JobSpec | null | undefined): string[] {
    return [...(openedSpec ? secretValues(openedSpec) : []), ...this.configValues];
  }

  /** A URL as it may be recorded or shown (a notification's `to`): its credentials masked. */
  maskUrl(url: string): string {
    return maskUrl(url);
  }

  /** `text` (a log message, an error) with the given secrets and the configuration's secrets masked. */
  maskText(text: string, secrets: readonly string[] = []): string {
    return maskText(text, [...secrets, ...this.configValues]);
  }

  /**
   * maskText for every text of a run: `secrets` (from secretsOf, configuration secrets included) derived once,
   * and kept for the next run with the same secrets (most jobs have none of their own: every run, the same).
   */
  masker(secrets: readonly string[]): (text: string) => string {
    const key = secrets.join('\u0000');
    let masker = this.maskers.get(key);
    if (!masker) {
      if (this.maskers.size >= MASKERS_KEPT) this.maskers.clear();
      masker = textMasker(secrets);
      this.maskers.set(key, masker);
    }
    return masker;
  }

  /** `value` (an output, log metadata) with maskText applied to every string in it. */
  maskDeep<T>(value: T, secrets: readonly string[] = []): T {
    return maskDeep(value, [...secrets, ...this.configValues]);
  }
}

function hasSealed(value: unknown): boolean {
  if (isSealed(value) || (typeof value === 'string' && hasEmbeddedSealed(value))) return true;
  if (Array.isArray(value)) return value.some(hasSealed);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(hasSealed);
  return false;
}
