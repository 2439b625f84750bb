import { createHmac } from 'node:crypto';
import { signWebhook, verifyWebhook } from './webhook-signature.js';

describe('webhook signatures', () => {
  const secret = 'whsec_test';
  const body = '{"type":"chronos.notification","n":1}';
  const now = 1_790_000_000;

  it('signs as README.md (Job types) says: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>', () => {
    const expected = createHmac('sha256', secret).update(`${now}.${body}`).digest('hex');
    expect(signWebhook(secret, body, now)).toBe(`t=${now},v1=${expected}`);
    expect(signWebhook(secret, Buffer.from(body), now + 0.9)).toBe(`t=${now},v1=${expected}`);
  });

  it('verifies its own signature within the tolerance', () => {
    const header = signWebhook(secret, body, now);
    expect(verifyWebhook(secret, body, header, 300, now + 299)).toEqual({ valid: true, timestamp: now });
    expect(verifyWebhook(secret, Buffer.from(body), header, 300, now - 299)).toEqual({ valid: true, timestamp: now });
  });

  it('refuses a changed body, another secret, an old timestamp, and garbage', () => {
    const header = signWebhook(secret, body, now);
    expect(verifyWebhook(secret, `${body} `, header, 300, now)).toEqual({ valid: false, reason: 'mismatch' });
    expect(verifyWebhook('other', body, header, 300, now)).toEqual({ valid: false, reason: 'mismatch' });
    expect(verifyWebhook(secret, body, header, 300, now + 301)).toEqual({ valid: false, reason: 'expired' });
    expect(verifyWebhook(secret, body, undefined, 300, now)).toEqual({ valid: false, reason: 'missing' });
    expect(verifyWebhook(secret, body, 't=abc,v1=zz', 300, now)).toEqual({ valid: false, reason: 'malformed' });
    // A re-signed timestamp without the secret does not verify.
    const forged = header.replace(`t=${now}`, `t=${now + 100}`);
    expect(verifyWebhook(secret, body, forged, 300, now + 100)).toEqual({ valid: false, reason: 'mismatch' });
  });

  it('accepts any matching v1 of several (secret rotation) and an array header', () => {
    const header = signWebhook(secret, body, now);
    const old = signWebhook('old-secret', body, now).split(',')[1];
    expect(verifyWebhook(secret, body, `${header},${old}`, 300, now).valid).toBe(true);
    expect(verifyWebhook(secret, body, [`t=${now}`, `${old}`, header.split(',')[1]!], 300, now).valid).toBe(true);
  });
});
