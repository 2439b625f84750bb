import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { defaultRetryPolicy, type JobSpec } from '../domain/job/job-spec.js';
import { hasSecrets, MASK, MaskedSecretError, maskEventData, maskSpec, maskText, mergeMasked, openSpec, sealSpec, secretValues } from './job-secrets.js';

const jobId = '6f1c7b2e-8f2a-4d0a-9a51-3c1f6f1b2a10';
const key = randomBytes(32);
const PASSWORD = 'S3cret-Passw0rd!';
const API_KEY = 'k3y-VALUE-9876';

function spec(url: string, webhookUrl?: string): JobSpec {
  return {
    name: 'job',
    type: 'http',
    payload: { url, method: 'GET' },
    schedule: { kind: 'immediate' },
    retryPolicy: defaultRetryPolicy(),
    timeoutMs: 30_000,
    concurrencyPolicy: 'forbid',
    misfirePolicy: 'fire_once',
    notifications: { onFailure: true, onSuccess: false, ...(webhookUrl ? { webhookUrl } : {}) },
    labels: {},
  };
}

const url = `https://alice:${encodeURIComponent(PASSWORD)}@api.example.com/v1/items?page=2&api_key=${API_KEY}&q=a%20b`;
const urlOf = (s: JobSpec) => s.payload.url as string;

describe('credentials written in a URL', () => {
  it('are sealed in place: host, path and the other parameters stay as written', () => {
    const sealed = sealSpec(spec(url), key, jobId);
    expect(urlOf(sealed)).toMatch(/^https:\/\/sealed%3Av1%3A[\w-]+@api\.example\.com\/v1\/items\?page=2&api_key=sealed%3Av1%3A[\w-]+&q=a%20b$/);
    expect(JSON.stringify(sealed)).not.toContain(API_KEY);
    expect(JSON.stringify(sealed)).not.toContain(encodeURIComponent(PASSWORD));
    expect(hasSecrets(spec(url))).toBe(true);
    expect(hasSecrets(sealed)).toBe(false);
    // idempotent, and a URL parser leaves the sealed URL as it is
    expect(sealSpec(sealed, key, jobId)).toEqual(sealed);
    expect(new URL(urlOf(sealed)).href).toBe(urlOf(sealed));
    expect(openSpec(sealed, key, jobId)).toEqual(spec(url));
  });

  it('are masked in what is shown, sealed or not, in the spec and in event data', () => {
    const shown = `https://${MASK}@api.example.com/v1/items?page=2&api_key=${MASK}&q=a%20b`;
    for (const candidate of [spec(url), sealSpec(spec(url), key, jobId)]) {
      expect(urlOf(maskSpec(candidate))).toBe(shown);
      const data = maskEventData({ jobId, spec: candidate });
      expect(data.spec.payload.url).toBe(shown);
      expect(JSON.stringify(data)).not.toMatch(/sealed|S3cret|k3y-VALUE|alice/);
    }
    // A sealed URL part anywhere else in event data is masked too.
    const sealed = urlOf(sealSpec(spec(url), key, jobId));
    expect(maskEventData({ note: `moved from ${sealed}` }).note).toBe(`moved from ${shown}`);
    // A URL recorded beside the spec (a notification's `to`) too; an address is not a URL.
    expect(maskEventData({ channel: 'webhook', to: 'https://hooks.example/n?token=t0k3n' }).to).toBe(`https://hooks.example/n?token=${MASK}`);
    expect(maskEventData({ channel: 'email', to: 'ops@example.com' }).to).toBe('ops@example.com');
    // The notification webhook URL follows the same rule.
    expect(maskSpec(spec('https://x.example/', 'https://hooks.example/n?token=t0k3n')).notifications.webhookUrl).toBe(`https://hooks.example/n?token=${MASK}`);
  });

  it('leave URLs without credentials exactly as written', () => {
    for (const plain of ['https://api.example.com/v1?page=2', 'HTTPS://API.example.com', 'http://127.0.0.1:3000/health', 'https://x.example/?keyword=', 'https://x.example/?token']) {
      expect(hasSecrets(spec(plain))).toBe(false);
      expect(urlOf(maskSpec(spec(plain)))).toBe(plain);
      expect(urlOf(sealSpec(spec(plain), key, jobId))).toBe(plain);
    }
  });

  it('are kept where an update sends the masked URL back; a masked part with nothing behind it is refused', () => {
    const stored = sealSpec(spec(url), key, jobId);
    const readBack = maskSpec(stored);
    const merged = mergeMasked(readBack, stored);
    expect(openSpec(sealSpec(merged, key, jobId), key, jobId)).toEqual(spec(url));
    // Against the opened spec (PATCH merges in plaintext) too.
    expect(mergeMasked(readBack, spec(url))).toEqual(spec(url));
    // A changed host keeps the credentials only if the client sent them masked: its choice.
    const moved = mergeMasked(spec(urlOf(readBack).replace('api.example.com', 'other.example.com')), spec(url));
    expect(urlOf(moved)).toBe(url.replace('api.example.com', 'other.example.com'));
    expect(() => mergeMasked(spec(`https://${MASK}@api.example.com/`), spec('https://api.example.com/'))).toThrow(MaskedSecretError);
    expect(() => mergeMasked(spec(`https://api.example.com/?token=${MASK}`), null)).toThrow(/payload\.url/);
    expect(() => sealSpec(spec(`https://${MASK}@api.example.com/`), key, jobId)).toThrow(MaskedSecretError);
  });

  it('and what a client derives from them are the values a run masks: user:password, its base64 (Basic), URL-encoded forms', () => {
    const values = secretValues(spec(url));
    const basic = Buffer.from(`alice:${PASSWORD}`).toString('base64');
    expect(values).toEqual(expect.arrayContaining([PASSWORD, `alice:${PASSWORD}`, basic, API_KEY]));
    expect(secretValues(sealSpec(spec(url), key, jobId))).toEqual([]);
    const echoed = `{"authorization":"Basic ${basic}","url":"/v1/items?api_key=${API_KEY}","raw":"${encodeURIComponent(PASSWORD)}","user":"alice:${PASSWORD}"}`;
    const masked = maskText(echoed, values);
    expect(masked).not.toMatch(/S3cret|k3y-VALUE|Passw0rd/);
    expect(masked).not.toContain(basic);
    // A token written as the user name is the credential itself.
    expect(secretValues(spec('https://ghp_TOKEN1234@github.example/repo'))).toContain('ghp_TOKEN1234');
  });

  it('an Authorization: Basic header masks its decoded credentials too', () => {
    const header = `Basic ${Buffer.from('bob:hunter2-long').toString('base64')}`;
    expect(maskText('echo: bob:hunter2-long and hunter2-long', [header])).toBe(`echo: ${MASK} and ${MASK}`);
  });

  it("round-trip (in the URL's standard form, what is sent anyway) and never show, whatever they hold", () => {
    const part = fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' });
    fc.assert(
      fc.property(part, part, part, (user, password, value) => {
        const written = `https://${encodeURIComponent(user)}:${encodeURIComponent(password)}@h.example/p?x=1&secret=${encodeURIComponent(value)}`;
        const sealed = sealSpec(spec(written), key, jobId);
        expect(openSpec(sealed, key, jobId)).toEqual(spec(new URL(written).href));
        const shown = urlOf(maskSpec(sealed));
        expect(shown).toBe(`https://${MASK}@h.example/p?x=1&secret=${MASK}`);
      }),
      { numRuns: 300 },
    );
  });
});
