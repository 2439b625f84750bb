import pg from 'pg';
import { DataSource } from 'typeorm';
import { defaultRetryPolicy, type JobSpec } from '../src/domain/job/job-spec.js';
import { SecretsService } from '../src/secrets/secrets.service.js';
import { resetStack, testConfig, urls } from './support/stack.js';

/**
 * Upgrading a deployment whose job secrets were sealed under the key older versions derived from JWT_SECRET
 * (CHRONOS_SECRETS_KEY unset, or `npm run up` with its published development secret): with
 * CHRONOS_SECRETS_KEY now set and CHRONOS_SECRETS_LEGACY_JWT_SECRET naming the old JWT secret, the stored job
 * keys are re-wrapped at start-up, and every secret still opens, afterwards without the legacy setting.
 */
describe('secrets sealed before CHRONOS_SECRETS_KEY', () => {
  const OLD_JWT_SECRET = 'chronos-development-secret-not-for-production-use';
  const NEW_KEY = 'a-new-secrets-key-of-at-least-32-characters-0123';
  let dataSource: DataSource;

  beforeAll(async () => {
    await resetStack();
    dataSource = await new DataSource({ type: 'postgres', url: urls.database }).initialize();
  });
  afterAll(() => dataSource?.destroy());

  const spec = (n: number): JobSpec => ({
    name: `job ${n}`,
    type: 'http',
    payload: { url: 'https://example.com/hook', headers: { Authorization: `Bearer token-${n}` } },
    schedule: { kind: 'immediate' },
    retryPolicy: defaultRetryPolicy(),
    timeoutMs: 30_000,
    concurrencyPolicy: 'forbid',
    misfirePolicy: 'fire_once',
    notifications: { onFailure: true, onSuccess: false },
    labels: {},
  });

  it('re-wraps the old job keys under CHRONOS_SECRETS_KEY at start-up; every secret still opens', async () => {
    // Before: no CHRONOS_SECRETS_KEY, so the master key was derived from JWT_SECRET (as development still does).
    const oldVersion = () => new SecretsService({ ...testConfig(), auth: { ...testConfig().auth, jwtSecret: OLD_JWT_SECRET }, secrets: {} }, dataSource);
    const old = oldVersion();
    const ids = Array.from({ length: 3 }, () => crypto.randomUUID());
    const sealed = await Promise.all(ids.map((id, n) => old.sealForStorage(id, spec(n))));

    // A new key alone does not open them: the reason the legacy setting exists.
    const withoutLegacy = new SecretsService(testConfig({ CHRONOS_SECRETS_KEY: NEW_KEY }), dataSource);
    await expect(withoutLegacy.openForRun(ids[0]!, sealed[0]!)).rejects.toThrow(/master key changed/);

    const upgraded = new SecretsService(testConfig({ CHRONOS_SECRETS_KEY: NEW_KEY, CHRONOS_SECRETS_LEGACY_JWT_SECRET: OLD_JWT_SECRET }), dataSource);
    const client = new pg.Client({ connectionString: urls.database });
    await client.connect();
    const rowsBefore = (await client.query(`SELECT job_id, key FROM job_keys ORDER BY job_id`)).rows;
    await upgraded.onApplicationBootstrap();
    const rowsAfter = (await client.query(`SELECT job_id, key FROM job_keys ORDER BY job_id`)).rows;
    await client.end();
    expect(rowsAfter).toHaveLength(3);
    rowsAfter.forEach((row, i) => expect(Buffer.compare(row.key, rowsBefore[i].key)).not.toBe(0));

    // From now on CHRONOS_SECRETS_KEY alone opens every one of them (a fresh service: no cache).
    const after = new SecretsService(testConfig({ CHRONOS_SECRETS_KEY: NEW_KEY }), dataSource);
    for (const [n, id] of ids.entries()) {
      expect((await after.openForRun(id, sealed[n]!))!.payload.headers).toEqual({ Authorization: `Bearer token-${n}` });
    }
    // And the old key no longer does: nothing is left wrapped under the published secret.
    await expect(oldVersion().openForRun(ids[0]!, sealed[0]!)).rejects.toThrow(/master key changed/);
    // A second start (another process, the same settings) has nothing left to do and breaks nothing.
    await upgraded.onApplicationBootstrap();
    expect((await after.openForRun(ids[1]!, sealed[1]!))!.payload.headers).toEqual({ Authorization: 'Bearer token-1' });
  });
});
