import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * A secret value as it is stored (event log, read models): `sealed:v1:<base64url(iv | ciphertext | tag)>`,
 * AES-256-GCM under the job's data key, with the job id as additional authenticated data so a sealed value
 * copied into another job does not open there. The version lets the format change without ambiguity.
 */
export const SEALED_PREFIX = 'sealed:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** A sealed value that does not open: tampered with, another job's, another key's, or malformed. */
export class SealedValueError extends Error {
  override name = 'SealedValueError';
}

export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(SEALED_PREFIX);
}

export function seal(value: string, key: Buffer, jobId: string): string {
  assertKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(jobId, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return SEALED_PREFIX + Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64url');
}

export function open(sealed: string, key: Buffer, jobId: string): string {
  assertKey(key);
  if (!isSealed(sealed)) throw new SealedValueError('not a sealed value');
  const raw = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new SealedValueError('sealed value too short');
  const iv = raw.subarray(0, IV_BYTES);
  const tag = raw.subarray(raw.length - TAG_BYTES);
  const ciphertext = raw.subarray(IV_BYTES, raw.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(jobId, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    // Never say more: which check failed is of use only to an attacker.
    throw new SealedValueError('sealed value does not open (tampered with, or another job or key)');
  }
}

function assertKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new Error(`a data key has ${KEY_BYTES} bytes, got ${key.length}`);
}
