// @ts-expect-error -- a plain JavaScript example for receivers, tested here so the documented snippet works
import { verifyChronosSignature } from '../../examples/verify-webhook.mjs';
import { signWebhook } from '../executors/webhook-signature.js';

describe('the documented receiver snippet (examples/verify-webhook.mjs)', () => {
  const body = Buffer.from(JSON.stringify({ hello: 'world', n: 1 }));
  const now = 1_795_000_000;

  it('accepts what Chronos signs', () => {
    expect(verifyChronosSignature('s3cret-s3cret-s3cret', body, signWebhook('s3cret-s3cret-s3cret', body, now), 300, now + 10)).toBe(true);
  });

  it('refuses a wrong secret, a changed body and an old timestamp', () => {
    const header = signWebhook('s3cret-s3cret-s3cret', body, now);
    expect(verifyChronosSignature('another-secret-value', body, header, 300, now)).toBe(false);
    expect(verifyChronosSignature('s3cret-s3cret-s3cret', Buffer.from(`${body} `), header, 300, now)).toBe(false);
    expect(verifyChronosSignature('s3cret-s3cret-s3cret', body, header, 300, now + 301)).toBe(false);
    expect(verifyChronosSignature('s3cret-s3cret-s3cret', body, undefined, 300, now)).toBe(false);
  });
});
