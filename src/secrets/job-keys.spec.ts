import { randomBytes } from 'node:crypto';
import { fakeKeyTable } from '../../test/support/fake-key-table.js';
import { deriveMasterKey, JobKeys, MasterKeyError, unwrapKey, wrapKey } from './job-keys.js';

const jobId = '6f1c7b2e-8f2a-4d0a-9a51-3c1f6f1b2a10';

describe('deriveMasterKey', () => {
  const jwtSecret = 'test-secret-that-is-long-enough-for-hs256-0123456789';

  it('derives 32 bytes from JWT_SECRET, deterministically, not equal to it', () => {
    const key = deriveMasterKey({ jwtSecret });
    expect(key).toHaveLength(32);
    expect(deriveMasterKey({ jwtSecret })).toEqual(key);
    expect(key.toString('utf8')).not.toContain(jwtSecret.slice(0, 8));
    expect(deriveMasterKey({ jwtSecret: `${jwtSecret}x` })).not.toEqual(key);
  });

  it('prefers CHRONOS_SECRETS_KEY, derived with another info string', () => {
    const secretsKey = 'a-dedicated-secrets-key-of-at-least-32-chars';
    const fromSecretsKey = deriveMasterKey({ secretsKey, jwtSecret });
    expect(fromSecretsKey).not.toEqual(deriveMasterKey({ jwtSecret }));
    // independent of JWT_SECRET: rotating it keeps secrets readable
    expect(deriveMasterKey({ secretsKey, jwtSecret: 'another-jwt-secret-entirely-0123456789' })).toEqual(fromSecretsKey);
    // same material, other source: other key
    expect(deriveMasterKey({ secretsKey, jwtSecret: '' })).not.toEqual(deriveMasterKey({ jwtSecret: secretsKey }));
  });

  it('refuses a short CHRONOS_SECRETS_KEY', () => {
    expect(() => deriveMasterKey({ secretsKey: 'short', jwtSecret })).toThrow(MasterKeyError);
  });
});

describe('wrapKey / unwrapKey', () => {
  const master = randomBytes(32);

  it('round-trips, bound to the job id and the master key', () => {
    const key = randomBytes(32);
    const wrapped = wrapKey(key, master, jobId);
    expect(wrapped.includes(key)).toBe(false);
    expect(unwrapKey(wrapped, master, jobId)).toEqual(key);
    expect(() => unwrapKey(wrapped, master, '00000000-0000-4000-8000-000000000000')).toThrow(MasterKeyError);
    expect(() => unwrapKey(wrapped, randomBytes(32), jobId)).toThrow(/master key changed/);
    const altered = Buffer.from(wrapped);
    altered[20]! ^= 1;
    expect(() => unwrapKey(altered, master, jobId)).toThrow(MasterKeyError);
    expect(() => unwrapKey(wrapped.subarray(1), master, jobId)).toThrow(/known format/);
  });
});

describe('JobKeys', () => {
  const master = randomBytes(32);

  it('creates a key on first use only when asked, stores it wrapped, and answers the same key after', async () => {
    const table = fakeKeyTable();
    const keys = new JobKeys(table.dataSource, master);
    expect(await keys.keyFor(jobId, { create: false })).toBeNull();
    const key = await keys.keyFor(jobId, { create: true });
    expect(key).toHaveLength(32);
    expect(table.rows.get(jobId)!.includes(key!)).toBe(false);
    expect(await keys.keyFor(jobId, { create: true })).toEqual(key);
    // another process (no cache) reads the same key
    expect(await new JobKeys(table.dataSource, master).keyFor(jobId, { create: false })).toEqual(key);
  });

  it('caches unwrapped keys', async () => {
    const table = fakeKeyTable();
    const keys = new JobKeys(table.dataSource, master);
    await keys.keyFor(jobId, { create: true });
    const before = table.reads();
    await keys.keyFor(jobId, { create: false });
    await keys.keyFor(jobId, { create: false });
    expect(table.reads()).toBe(before);
  });

  it('destroy removes the row and the cached key; a destroyed key is gone for good', async () => {
    const table = fakeKeyTable();
    const keys = new JobKeys(table.dataSource, master);
    const key = await keys.keyFor(jobId, { create: true });
    await keys.destroy(jobId);
    expect(table.rows.has(jobId)).toBe(false);
    expect(await keys.keyFor(jobId, { create: false })).toBeNull();
    await keys.destroy(jobId); // idempotent
    // a later create is a new key, not the old one
    expect(await keys.keyFor(jobId, { create: true })).not.toEqual(key);
  });

  it("lets a cached key expire, so another process's destroy takes effect", async () => {
    const table = fakeKeyTable();
    const keys = new JobKeys(table.dataSource, master, { cacheTtlMs: 0 });
    await keys.keyFor(jobId, { create: true });
    table.rows.delete(jobId); // destroyed elsewhere
    expect(await keys.keyFor(jobId, { create: false })).toBeNull();
  });

  it('fails clearly when the master key changed', async () => {
    const table = fakeKeyTable();
    await new JobKeys(table.dataSource, master).keyFor(jobId, { create: true });
    await expect(new JobKeys(table.dataSource, randomBytes(32)).keyFor(jobId, { create: false })).rejects.toThrow(/master key changed/);
  });
});
