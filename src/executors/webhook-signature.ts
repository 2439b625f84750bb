import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures, as README.md (Job types) defines them for `webhook` jobs and notification webhooks:
 *
 *   X-Chronos-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * The timestamp is signed with the body, so a receiver that checks it against its own clock (a tolerance of
 * a few minutes) refuses a replayed request. A header may carry several `v1=` values (during a secret
 * rotation); any one matching is enough.
 */
export const SIGNATURE_HEADER = 'X-Chronos-Signature';

/** The default tolerance of `verifyWebhook`: 5 minutes either side of the receiver's clock. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const hmac = (secret: string, timestamp: number, rawBody: string | Buffer): string =>
  createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');

/** The value of the `X-Chronos-Signature` header for `rawBody` (the exact bytes sent) at `nowSeconds`. */
export function signWebhook(secret: string, rawBody: string | Buffer, nowSeconds: number = Math.floor(Date.now() / 1000)): string {
  const timestamp = Math.floor(nowSeconds);
  return `t=${timestamp},v1=${hmac(secret, timestamp, rawBody)}`;
}

export type WebhookVerification =
  | { valid: true; timestamp: number }
  | { valid: false; reason: 'missing' | 'malformed' | 'expired' | 'mismatch' };

/**
 * Checks a received signature header against the raw body (the bytes as received, before any JSON parsing).
 * `toleranceSeconds`: how far the signed timestamp may be from `nowSeconds`, either way.
 */
export function verifyWebhook(
  secret: string,
  rawBody: string | Buffer,
  header: string | string[] | null | undefined,
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): WebhookVerification {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value) return { valid: false, reason: 'missing' };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of value.split(',')) {
    const separator = part.indexOf('=');
    if (separator < 0) continue;
    const key = part.slice(0, separator).trim();
    const item = part.slice(separator + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(item)) timestamp = Number(item);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(item)) signatures.push(item.toLowerCase());
  }
  if (timestamp === undefined || signatures.length === 0) return { valid: false, reason: 'malformed' };
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { valid: false, reason: 'expired' };
  const expected = Buffer.from(hmac(secret, timestamp, rawBody), 'hex');
  const matches = signatures.some((signature) => timingSafeEqual(Buffer.from(signature, 'hex'), expected));
  return matches ? { valid: true, timestamp } : { valid: false, reason: 'mismatch' };
}
