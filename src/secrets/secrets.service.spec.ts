import { randomBytes } from 'node:crypto';
import { fakeKeyTable } from '../../test/support/fake-key-table.js';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../config.js';
import { defaultRetryPolicy, type JobSpec } from '../domain/job/job-spec.js';
import { MASK, MaskedSecretError } from './job-secrets.js';
import { isSealed } from './sealed.js';
import { SecretsService } from './secrets.service.js';

const jobId = '6f1c7b2e-8f2a-4d0a-9a51-3c1f6f1b2a10';
const config = loadConfig({
  NODE_ENV: 'test',
  JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256-0123456789',
  SMTP_URL: 'smtp://mailer:smtp-pass-789@mail.example.com:587',
});

function spec(): JobSpec {
  return {
    name: 'job',
    type: 'http',
    payload: { url: 'https://example.com/hook', headers: { Authorization: 'Bearer SUPER-SECRET-123' } },
    schedule: { kind: 'immediate' },
    retryPolicy: defaultRetryPolicy(),
    timeoutMs: 30_000,
    concurrencyPolicy: 'forbid',
    misfirePolicy: 'fire_once',
    notifications: { onFailure: true, onSuccess: false, webhookSecret: 'another-secret-value-456' },
    labels: {},
  };
}

describe('SecretsService', () => {
  let table: ReturnType<typeof fakeKeyTable>;
  let secrets: SecretsService;
  beforeEach(() => {
    table = fakeKeyTable();
    secrets = new SecretsService(config, table.dataSource);
  });

  it('seals for storage (creating the key), opens for a run, masks for a response', async () => {
    const stored = await secrets.sealForStorage(jobId, spec());
    expect(table.rows.has(jobId)).toBe(true);
    expect(JSON.stringify(stored)).not.toMatch(/SUPER-SECRET-123|another-secret-value-456/);
    expect(isSealed((stored.payload.headers as Record<string, string>).Authorization)).toBe(true);
    expect(await secrets.openForRun(jobId, stored)).toEqual(spec());
    const shown = secrets.maskForResponse(stored);
    expect(shown.payload.headers).toEqual({ Authorization: MASK });
    expect(shown.notifications.webhookSecret).toBe(MASK);
  });

  it('creates no key for a job without secrets', async () => {
    const plain: JobSpec = { ...spec(), payload: { url: 'https://x' }, notifications: { onFailure: true, onSuccess: false } };
    expect(await secrets.sealForStorage(jobId, plain)).toBe(plain);
    expect(table.rows.size).toBe(0);
    expect(await secrets.openForRun(jobId, plain)).toBe(plain);
  });

  it('forgetJob destroys the key: the stored secrets no longer open (openForRun answers null)', async () => {
    const stored = await secrets.sealForStorage(jobId, spec());
    await secrets.forgetJob(jobId);
    expect(table.rows.has(jobId)).toBe(false);
    expect(await secrets.openForRun(jobId, stored)).toBeNull();
    // nor in another process that had never cached it
    expect(await new SecretsService(config, table.dataSource).openForRun(jobId, stored)).toBeNull();
  });

  it('keeps the stored secret where an update sends the placeholder back', async () => {
    const stored = await secrets.sealForStorage(jobId, spec());
    const readBack = secrets.maskForResponse(stored);
    const next = await secrets.sealForStorage(jobId, secrets.keepMasked({ ...readBack, name: 'renamed' }, stored));
    expect(next.payload.headers).toEqual(stored.payload.headers);
    expect((await secrets.openForRun(jobId, next))!.payload.headers).toEqual({ Authorization: 'Bearer SUPER-SECRET-123' });
    expect(() => secrets.keepMasked({ ...readBack }, null)).toThrow(MaskedSecretError);
  });

  it("masks the job's and the configuration's secrets in text and values", async () => {
    const opened = (await secrets.openForRun(jobId, await secrets.sealForStorage(jobId, spec())))!;
    const values = secrets.secretsOf(opened);
    expect(secrets.maskText('401 for Bearer SUPER-SECRET-123; smtp-pass-789 refused', values)).toBe(`401 for ${MASK}; ${MASK} refused`);
    expect(secrets.maskText('login smtp://mailer:smtp-pass-789@mail.example.com failed')).not.toMatch(/smtp-pass-789|mailer/);
    expect(secrets.maskDeep({ echo: ['another-secret-value-456'] }, values)).toEqual({ echo: [MASK] });
  });

  it("a run's masker masks as maskText does, and is the same one for the same secrets", async () => {
    const values = secrets.secretsOf((await secrets.openForRun(jobId, await secrets.sealForStorage(jobId, spec())))!);
    const mask = secrets.masker(values);
    for (const text of ['401 for Bearer SUPER-SECRET-123; smtp-pass-789 refused', 'login smtp://mailer:smtp-pass-789@mail.example.com failed', 'nothing here', '']) {
      expect(mask(text)).toBe(secrets.maskText(text, values));
    }
    expect(secrets.masker([...values])).toBe(mask);
    expect(secrets.masker(secrets.secretsOf(null))).not.toBe(mask);
  });

  it('masks event data for the history endpoint', async () => {
    const stored = await secrets.sealForStorage(jobId, spec());
    const [event] = secrets.maskEvents([{ type: 'JobCreated', data: { jobId, spec: stored } }]);
    expect(JSON.stringify(event)).not.toMatch(/sealed:|SUPER/);
  });

  it('derives its master key from CHRONOS_SECRETS_KEY when set', async () => {
    const stored = await secrets.sealForStorage(jobId, spec());
    const other = new SecretsService({ ...config, secrets: { secretsKey: randomBytes(32).toString('base64') } }, table.dataSource as DataSource);
    await expect(other.openForRun(jobId, stored)).rejects.toThrow(/master key changed/);
  });
});
