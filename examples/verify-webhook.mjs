// How a receiver checks that a webhook came from Chronos (webhook jobs and notification webhooks):
//   X-Chronos-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
// Verify over the raw bytes of the body (before any JSON parsing), compare in constant time, and refuse
// timestamps older than a tolerance (5 minutes is a good default: it stops replays yet forgives clock skew).
// Several v1= values may appear while a secret is being rotated: accept any that matches.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function verifyChronosSignature(secret, rawBody, header, toleranceSeconds = 300, nowSeconds = Math.floor(Date.now() / 1000)) {
  const parts = String(header ?? '').split(',').map((part) => part.trim().split('='));
  const t = Number(parts.find(([key]) => key === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  return parts
    .filter(([key]) => key === 'v1')
    .some(([, hex]) => /^[0-9a-f]{64}$/.test(hex) && timingSafeEqual(Buffer.from(hex, 'hex'), expected));
}

// Example with Node's http server (no framework needed):
//   http.createServer((req, res) => {
//     const chunks = [];
//     req.on('data', (c) => chunks.push(c)).on('end', () => {
//       const raw = Buffer.concat(chunks);
//       const ok = verifyChronosSignature(process.env.CHRONOS_WEBHOOK_SECRET, raw, req.headers['x-chronos-signature']);
//       res.writeHead(ok ? 204 : 401).end();
//       if (ok) handle(JSON.parse(raw));           // dedupe on Idempotency-Key: retries repeat it
//     });
//   }).listen(8080);
