import { randomBytes } from 'node:crypto';
import { defaultRetryPolicy, type JobSpec } from '../domain/job/job-spec.js';
import {
  MASK,
  MaskedSecretError,
  maskDeep,
  maskEventData,
  maskSpec,
  maskText,
  mergeMasked,
  openSpec,
  sealSpec,
  secretPaths,
  secretValues,
} from './job-secrets.js';
import { isSealed } from './sealed.js';

const jobId = '6f1c7b2e-8f2a-4d0a-9a51-3c1f6f1b2a10';
const key = randomBytes(32);

function spec(overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    name: 'job',
    type: 'http',
    payload: { url: 'https://example.com/hook', method: 'POST', headers: { Authorization: 'Bearer SUPER-SECRET-123', 'Content-Type': 'application/json' } },
    schedule: { kind: 'immediate' },
    retryPolicy: defaultRetryPolicy(),
    timeoutMs: 30_000,
    concurrencyPolicy: 'forbid',
    misfirePolicy: 'fire_once',
    notifications: { onFailure: true, onSuccess: false, webhookUrl: 'https://example.com/n', webhookSecret: 'another-secret-value-456' },
    labels: {},
    ...overrides,
  };
}

const headersOf = (s: JobSpec) => s.payload.headers as Record<string, string>;

describe('secretPaths', () => {
  it('finds credential-like http headers and the notification webhook secret', () => {
    const s = spec({
      payload: {
        url: 'https://x',
        headers: {
          Authorization: 'a',
          'Proxy-Authorization': 'b',
          Cookie: 'c',
          'X-Api-Key': 'd',
          'X-Auth-Token': 'e',
          'X-Client-Secret': 'f',
          'X-Password': 'g',
          'Content-Type': 'application/json',
          Accept: '*/*',
          'User-Agent': 'ua',
        },
      },
    });
    expect(secretPaths(s).map((p) => p.join('.')).sort()).toEqual(
      [
        'notifications.webhookSecret',
        'payload.headers.Authorization',
        'payload.headers.Proxy-Authorization',
        'payload.headers.Cookie',
        'payload.headers.X-Api-Key',
        'payload.headers.X-Auth-Token',
        'payload.headers.X-Client-Secret',
        'payload.headers.X-Password',
      ].sort(),
    );
  });

  it('finds credential-like query parameters', () => {
    const s = spec({ payload: { url: 'https://x', query: { api_key: 'k', token: 't', page: '2' } }, notifications: { onFailure: true, onSuccess: false } });
    expect(secretPaths(s).map((p) => p.join('.'))).toEqual(['payload.query.api_key', 'payload.query.token']);
  });

  it('finds the webhook payload secret and every script env value', () => {
    const webhook = spec({ type: 'webhook', payload: { url: 'https://x', secret: 'whsec' }, notifications: { onFailure: true, onSuccess: false } });
    expect(secretPaths(webhook).map((p) => p.join('.'))).toEqual(['payload.secret']);
    const script = spec({ type: 'script', payload: { command: 'run', env: { DB_URL: 'postgres://u:p@h/db', MODE: 'fast' } }, notifications: { onFailure: true, onSuccess: false } });
    expect(secretPaths(script).map((p) => p.join('.'))).toEqual(['payload.env.DB_URL', 'payload.env.MODE']);
  });

  it('finds nothing in a job without secrets, and ignores absent values', () => {
    const s = spec({ type: 'custom', payload: { handler: 'noop', data: { token: 'not a header' } }, notifications: { onFailure: true, onSuccess: false, webhookSecret: undefined } });
    expect(secretPaths(s)).toEqual([]);
  });
});

describe('sealSpec / openSpec', () => {
  it('seals every secret and nothing else, and opens back to the original', () => {
    const original = spec();
    const sealed = sealSpec(original, key, jobId);
    expect(isSealed(headersOf(sealed).Authorization)).toBe(true);
    expect(isSealed(sealed.notifications.webhookSecret)).toBe(true);
    expect(headersOf(sealed)['Content-Type']).toBe('application/json');
    expect(sealed.payload.url).toBe('https://example.com/hook');
    expect(JSON.stringify(sealed)).not.toMatch(/SUPER-SECRET-123|another-secret-value-456/);
    expect(openSpec(sealed, key, jobId)).toEqual(original);
    // the input is not changed
    expect(headersOf(original).Authorization).toBe('Bearer SUPER-SECRET-123');
  });

  it('is idempotent: sealed values stay as they are', () => {
    const once = sealSpec(spec(), key, jobId);
    const twice = sealSpec(once, key, jobId);
    expect(twice).toEqual(once);
  });

  it('seals script env values and the webhook payload secret', () => {
    const script = spec({ type: 'script', payload: { command: 'run', env: { A: 'alpha-value', B: 'beta-value' } } });
    const sealed = sealSpec(script, key, jobId);
    const env = sealed.payload.env as Record<string, string>;
    expect(isSealed(env.A) && isSealed(env.B)).toBe(true);
    expect(openSpec(sealed, key, jobId)).toEqual(script);
    const webhook = spec({ type: 'webhook', payload: { url: 'https://x', secret: 'whsec_abc' } });
    expect(isSealed(sealSpec(webhook, key, jobId).payload.secret)).toBe(true);
  });

  it('refuses to seal the masked placeholder (the caller forgot mergeMasked)', () => {
    expect(() => sealSpec(spec({ payload: { url: 'https://x', headers: { Authorization: MASK } } }), key, jobId)).toThrow(MaskedSecretError);
  });

  it('leaves plaintext secrets of jobs stored before sealing as they are when opening', () => {
    expect(openSpec(spec(), key, jobId)).toEqual(spec());
  });

  it('does not open under another job id or key', () => {
    const sealed = sealSpec(spec(), key, jobId);
    expect(() => openSpec(sealed, key, '00000000-0000-4000-8000-000000000000')).toThrow();
    expect(() => openSpec(sealed, randomBytes(32), jobId)).toThrow();
  });
});

describe('maskSpec', () => {
  it('masks each kind of secret, plaintext or sealed, without revealing length or prefix', () => {
    const s = spec({
      payload: { url: 'https://x', headers: { Authorization: 'Bearer SUPER-SECRET-123', Cookie: 'sid=1', Accept: '*/*' }, query: { token: 't0k3n', q: 'x' } },
    });
    for (const candidate of [s, sealSpec(s, key, jobId)]) {
      const masked = maskSpec(candidate);
      expect(masked.payload.headers).toEqual({ Authorization: MASK, Cookie: MASK, Accept: '*/*' });
      expect(masked.payload.query).toEqual({ token: MASK, q: 'x' });
      expect(masked.notifications.webhookSecret).toBe(MASK);
      expect(JSON.stringify(masked)).not.toMatch(/SUPER|Bearer|sid=|t0k3n|another-secret|sealed:/);
    }
    const script = maskSpec(spec({ type: 'script', payload: { command: 'x', env: { A: 'a-long-value', B: 'b' } } }));
    expect(script.payload.env).toEqual({ A: MASK, B: MASK });
    expect(maskSpec(spec({ type: 'webhook', payload: { url: 'https://x', secret: 'whsec' } })).payload.secret).toBe(MASK);
  });

  it('masks a sealed value the rules no longer see as a secret', () => {
    const sealed = sealSpec(spec(), key, jobId);
    const renamed = { ...sealed, payload: { ...sealed.payload, headers: { 'X-Renamed': headersOf(sealed).Authorization } } };
    expect(maskSpec(renamed).payload.headers).toEqual({ 'X-Renamed': MASK });
  });

  it('masks the spec inside event data, and any other sealed value', () => {
    const sealed = sealSpec(spec(), key, jobId);
    const data = maskEventData({ jobId, spec: sealed, nextRunAt: null });
    expect(JSON.stringify(data)).not.toMatch(/sealed:|SUPER/);
    expect(data.spec.notifications.webhookSecret).toBe(MASK);
    expect(maskEventData({ executionId: 'e', note: headersOf(sealed).Authorization })).toEqual({ executionId: 'e', note: MASK });
  });
});

describe('maskText / maskDeep / secretValues', () => {
  it('lists the plaintext secrets of an opened spec', () => {
    expect(secretValues(spec()).sort()).toEqual(['Bearer SUPER-SECRET-123', 'another-secret-value-456']);
    expect(secretValues(sealSpec(spec(), key, jobId))).toEqual([]);
  });

  it('masks known secrets in free text: whole, the credential after its scheme, URL-encoded', () => {
    const secrets = ['Bearer SUPER-SECRET-123', 'p@ss word!'];
    expect(maskText('sent Authorization: Bearer SUPER-SECRET-123 to x', secrets)).toBe(`sent Authorization: ${MASK} to x`);
    expect(maskText('token SUPER-SECRET-123 rejected', secrets)).toBe(`token ${MASK} rejected`);
    expect(maskText('q=p%40ss%20word! and p@ss word!', secrets)).toBe(`q=${MASK} and ${MASK}`);
    expect(maskText('nothing here', [])).toBe('nothing here');
  });

  it('masks credentials in URLs, known or not', () => {
    expect(maskText('connect smtp://mailer:hunter22@mail.example.com:587 failed', [])).toBe(`connect smtp://${MASK}@mail.example.com:587 failed`);
    expect(maskText('see https://example.com/a@b', [])).toBe('see https://example.com/a@b');
  });

  it('masks every string of a JSON value', () => {
    const output = { status: 401, headers: { 'www-authenticate': 'Bearer SUPER-SECRET-123 invalid' }, body: ['SUPER-SECRET-123'] };
    expect(maskDeep(output, ['Bearer SUPER-SECRET-123'])).toEqual({ status: 401, headers: { 'www-authenticate': `${MASK} invalid` }, body: [MASK] });
  });
});

describe('mergeMasked', () => {
  it('keeps the previous (sealed) value where the client sent the placeholder back', () => {
    const previous = sealSpec(spec(), key, jobId);
    const readBack = maskSpec(previous);
    const next = { ...readBack, name: 'renamed' };
    const merged = mergeMasked(next, previous);
    expect(headersOf(merged).Authorization).toBe(headersOf(previous).Authorization);
    expect(merged.notifications.webhookSecret).toBe(previous.notifications.webhookSecret);
    expect(merged.name).toBe('renamed');
    expect(openSpec(sealSpec(merged, key, jobId), key, jobId)).toEqual({ ...spec(), name: 'renamed' });
  });

  it('takes new values as sent', () => {
    const previous = sealSpec(spec(), key, jobId);
    const next = spec({ payload: { url: 'https://x', headers: { Authorization: 'Bearer NEW' } } });
    expect(headersOf(mergeMasked(next, previous)).Authorization).toBe('Bearer NEW');
  });

  it('matches header names case-insensitively', () => {
    const previous = sealSpec(spec(), key, jobId);
    const next = spec({ payload: { url: 'https://x', headers: { authorization: MASK } } });
    expect(headersOf(mergeMasked(next, previous)).authorization).toBe(headersOf(previous).Authorization);
  });

  it('refuses a placeholder with nothing to keep', () => {
    const next = spec({ payload: { url: 'https://x', headers: { 'X-Api-Key': MASK } } });
    expect(() => mergeMasked(next, spec())).toThrow(MaskedSecretError);
    expect(() => mergeMasked(next, null)).toThrow(/X-Api-Key/);
  });

  it('works on a request body not yet validated', () => {
    const previous = sealSpec(spec(), key, jobId);
    const body = { notifications: { webhookSecret: MASK } };
    expect(mergeMasked(body, previous).notifications.webhookSecret).toBe(previous.notifications.webhookSecret);
  });
});
