import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';

/**
 * Per-job data keys (crypto-shredding). Each job that has secrets gets 32 random bytes, stored in the
 * `job_keys` table wrapped (AES-256-GCM) under the master key; its secrets are sealed with it wherever the
 * job's spec is kept (the immutable event log, the read models). Deleting the job destroys the row: the
 * sealed values left in the log can then never be opened again.
 */
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** First byte of a wrapped key: the wrapping format. */
const WRAP_V1 = 0x01;
const HKDF_SALT = 'chronos';
const INFO_FROM_SECRETS_KEY = 'chronos/job-keys/master/v1/CHRONOS_SECRETS_KEY';
const INFO_FROM_JWT_SECRET = 'chronos/job-keys/master/v1/JWT_SECRET';

export class MasterKeyError extends Error {
  override name = 'MasterKeyError';
}

/**
 * The master key that wraps every job key: from CHRONOS_SECRETS_KEY (at least 32 characters; required in
 * production), else, in development and test only, derived from JWT_SECRET. Both go through HKDF-SHA256
 * with distinct fixed info strings, so the derived key is never the JWT signing key itself.
 */
export function deriveMasterKey(source: { secretsKey?: string | undefined; jwtSecret: string }): Buffer {
  const secretsKey = source.secretsKey?.trim();
  if (secretsKey) {
    if (secretsKey.length < 32) throw new MasterKeyError('CHRONOS_SECRETS_KEY must have at least 32 characters (e.g. `openssl rand -base64 48`)');
    return hkdf(secretsKey, INFO_FROM_SECRETS_KEY);
  }
  return legacyMasterKey(source.jwtSecret);
}

/** The master key older versions derived from JWT_SECRET when CHRONOS_SECRETS_KEY was unset (still so in development). */
export function legacyMasterKey(jwtSecret: string): Buffer {
  if (!jwtSecret) throw new MasterKeyError('no master key: set CHRONOS_SECRETS_KEY');
  return hkdf(jwtSecret, INFO_FROM_JWT_SECRET);
}

function hkdf(material: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(material, 'utf8'), Buffer.from(HKDF_SALT), Buffer.from(info), KEY_BYTES));
}

export function wrapKey(key: Buffer, masterKey: Buffer, jobId: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(wrapAad(jobId));
  const ciphertext = Buffer.concat([cipher.update(key), cipher.final()]);
  return Buffer.concat([Buffer.from([WRAP_V1]), iv, ciphertext, cipher.getAuthTag()]);
}

export function unwrapKey(wrapped: Buffer, masterKey: Buffer, jobId: string): Buffer {
  if (wrapped.length !== 1 + IV_BYTES + KEY_BYTES + TAG_BYTES || wrapped[0] !== WRAP_V1) {
    throw new MasterKeyError(`the key of job ${jobId} is not in a known format`);
  }
  const iv = wrapped.subarray(1, 1 + IV_BYTES);
  const tag = wrapped.subarray(wrapped.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', masterKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(wrapAad(jobId));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(wrapped.subarray(1 + IV_BYTES, wrapped.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new MasterKeyError(
      `the key of job ${jobId} does not unwrap: the master key changed (CHRONOS_SECRETS_KEY; for keys wrapped under JWT_SECRET by older versions set CHRONOS_SECRETS_LEGACY_JWT_SECRET) or the row was altered`,
    );
  }
}

function isWrappedBy(wrapped: Buffer, masterKey: Buffer, jobId: string): boolean {
  try {
    unwrapKey(wrapped, masterKey, jobId);
    return true;
  } catch {
    return false;
  }
}

const wrapAad = (jobId: string) => Buffer.from(`chronos/job-key/v1/${jobId}`, 'utf8');

export interface JobKeysOptions {
  /** How long an unwrapped key stays in memory. Bounded so a key destroyed by another process leaves this one soon. */
  cacheTtlMs?: number;
  /** The most keys kept in memory (the oldest go first). */
  cacheSize?: number;
  /** A master key that wrapped keys before this one (CHRONOS_SECRETS_LEGACY_JWT_SECRET): such keys are re-wrapped under the current one when read. */
  previousMasterKey?: Buffer;
}

const REWRAP_BATCH = 500;

/** The `job_keys` table (migration 1764100000000-job-keys), with a small in-memory cache of unwrapped keys. */
export class JobKeys {
  private readonly cache = new Map<string, { key: Buffer; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly size: number;
  private readonly previousMasterKey: Buffer | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly masterKey: Buffer,
    options: JobKeysOptions = {},
  ) {
    if (masterKey.length !== KEY_BYTES) throw new MasterKeyError(`the master key has ${KEY_BYTES} bytes, got ${masterKey.length}`);
    this.ttlMs = options.cacheTtlMs ?? 60_000;
    this.size = options.cacheSize ?? 10_000;
    this.previousMasterKey = options.previousMasterKey;
  }

  /** The job's data key; created on first use when `create`, else null when the job has none (or it was destroyed). */
  async keyFor(jobId: string, { create }: { create: boolean }): Promise<Buffer | null> {
    const cached = this.cache.get(jobId);
    if (cached && cached.expiresAt > Date.now()) return cached.key;
    this.cache.delete(jobId);
    let wrapped = await this.read(jobId);
    if (!wrapped && create) {
      // Two callers may race: the first insert wins and both read it back.
      await this.dataSource.query(`INSERT INTO job_keys (job_id, key) VALUES ($1, $2) ON CONFLICT (job_id) DO NOTHING`, [
        jobId,
        wrapKey(randomBytes(KEY_BYTES), this.masterKey, jobId),
      ]);
      wrapped = await this.read(jobId);
    }
    if (!wrapped) return null;
    const key = await this.unwrap(jobId, wrapped);
    this.remember(jobId, key);
    return key;
  }

  /**
   * Re-wraps under the current master key every stored key that only the previous one opens (an upgrade from
   * keys wrapped under JWT_SECRET), in batches. Safe with other processes doing the same. Answers how many.
   */
  async rewrapPrevious(): Promise<number> {
    if (!this.previousMasterKey) return 0;
    let rewrapped = 0;
    for (let after: string | null = null; ; ) {
      const rows = (await this.dataSource.query(`SELECT job_id AS "jobId", key FROM job_keys WHERE $1::uuid IS NULL OR job_id > $1 ORDER BY job_id LIMIT $2`, [
        after,
        REWRAP_BATCH,
      ])) as { jobId: string; key: Buffer }[];
      for (const { jobId, key } of rows) {
        if (isWrappedBy(key, this.masterKey, jobId)) continue;
        if (isWrappedBy(key, this.previousMasterKey, jobId)) {
          await this.unwrap(jobId, key);
          rewrapped++;
        }
      }
      if (rows.length < REWRAP_BATCH) return rewrapped;
      after = rows[rows.length - 1]!.jobId;
    }
  }

  /** The job key in `wrapped`; one wrapped by the previous master key is stored again under the current one. */
  private async unwrap(jobId: string, wrapped: Buffer): Promise<Buffer> {
    if (!this.previousMasterKey || isWrappedBy(wrapped, this.masterKey, jobId)) return unwrapKey(wrapped, this.masterKey, jobId);
    const key = unwrapKey(wrapped, this.previousMasterKey, jobId);
    // Only if nobody changed the row meanwhile (another process re-wrapping it too, a delete).
    await this.dataSource.query(`UPDATE job_keys SET key = $3 WHERE job_id = $1 AND key = $2`, [jobId, wrapped, wrapKey(key, this.masterKey, jobId)]);
    return key;
  }

  /** Destroys the job's key for good: every value sealed with it is unreadable from now on. Idempotent. */
  async destroy(jobId: string): Promise<void> {
    this.forget(jobId);
    await this.dataSource.query(`DELETE FROM job_keys WHERE job_id = $1`, [jobId]);
  }

  /** Drops the job's key from this process's memory only (another process destroyed it). */
  forget(jobId: string): void {
    // Not zeroed: a caller may still be sealing with it; the buffer goes with its last reference.
    this.cache.delete(jobId);
  }

  private async read(jobId: string): Promise<Buffer | null> {
    const rows = (await this.dataSource.query(`SELECT key FROM job_keys WHERE job_id = $1`, [jobId])) as { key: Buffer }[];
    return rows[0]?.key ?? null;
  }

  private remember(jobId: string, key: Buffer): void {
    if (this.cache.size >= this.size) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(jobId, { key, expiresAt: Date.now() + this.ttlMs });
  }
}
