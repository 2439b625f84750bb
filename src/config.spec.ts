import { ConfigError, loadConfig } from './config.js';

describe('configuration', () => {
  const dev = { NODE_ENV: 'development' };

  it('fires up to 2 s ahead by default; FIRE_AHEAD_MS takes 0 to 5000 and nothing else', () => {
    expect(loadConfig(dev).fireAheadMs).toBe(2000);
    expect(loadConfig({ ...dev, FIRE_AHEAD_MS: '0' }).fireAheadMs).toBe(0);
    expect(loadConfig({ ...dev, FIRE_AHEAD_MS: '5000' }).fireAheadMs).toBe(5000);
    expect(() => loadConfig({ ...dev, FIRE_AHEAD_MS: '5001' })).toThrow(new ConfigError('FIRE_AHEAD_MS must be at most 5000, got 5001'));
    expect(() => loadConfig({ ...dev, FIRE_AHEAD_MS: '-1' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...dev, FIRE_AHEAD_MS: 'soon' })).toThrow(/FIRE_AHEAD_MS/);
  });

  it('waits up to 2 s for the read models by default; READ_YOUR_WRITES_WAIT_MS takes 0 (no wait) to 30000 and nothing else', () => {
    expect(loadConfig(dev).readYourWritesWaitMs).toBe(2000);
    expect(loadConfig({ ...dev, READ_YOUR_WRITES_WAIT_MS: '0' }).readYourWritesWaitMs).toBe(0);
    expect(loadConfig({ ...dev, READ_YOUR_WRITES_WAIT_MS: '30000' }).readYourWritesWaitMs).toBe(30_000);
    expect(() => loadConfig({ ...dev, READ_YOUR_WRITES_WAIT_MS: '30001' })).toThrow(new ConfigError('READ_YOUR_WRITES_WAIT_MS must be at most 30000, got 30001'));
    expect(() => loadConfig({ ...dev, READ_YOUR_WRITES_WAIT_MS: '-1' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...dev, READ_YOUR_WRITES_WAIT_MS: '2s' })).toThrow(/READ_YOUR_WRITES_WAIT_MS/);
  });

  it('refuses a delay longer than a timer waits: Node would fire it at once, so the retention task would run without pause', () => {
    const longest = String(2 ** 31 - 1);
    for (const name of ['HISTORY_MAINTENANCE_INTERVAL_MS', 'CHRONOS_LEASE_TTL_MS', 'DEFAULT_TIMEOUT_MS', 'NOTIFY_BACKOFF_MS', 'NOTIFY_MAX_BACKOFF_MS', 'NOTIFY_TIMEOUT_MS']) {
      expect(() => loadConfig({ ...dev, [name]: longest })).not.toThrow();
      expect(() => loadConfig({ ...dev, [name]: String(2 ** 31) })).toThrow(new ConfigError(`${name} must be at most ${longest} (about 24.8 days, the longest a timer waits), got ${2 ** 31}`));
      expect(() => loadConfig({ ...dev, [name]: '1e400' })).toThrow(ConfigError);
    }
  });

  it('keeps 30 days of history by default; HISTORY_RETENTION_DAYS takes 1 to 3660 (a partition per day)', () => {
    expect(loadConfig(dev).retention.days).toBe(30);
    expect(loadConfig({ ...dev, HISTORY_RETENTION_DAYS: '3660' }).retention.days).toBe(3660);
    expect(() => loadConfig({ ...dev, HISTORY_RETENTION_DAYS: '3661' })).toThrow(new ConfigError('HISTORY_RETENTION_DAYS must be at most 3660, got 3661'));
    expect(() => loadConfig({ ...dev, HISTORY_RETENTION_DAYS: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...dev, HISTORY_RETENTION_DAYS: '1.5' })).toThrow(ConfigError);
  });

  it('gives one owner half of a worker\'s 400 slots and 5000 queued items by default; both take positive integers, the first at most WORKER_CONCURRENCY', () => {
    expect(loadConfig(dev)).toMatchObject({ workerConcurrency: 400, workerOwnerConcurrency: 200, ownerMaxQueued: 5000 });
    expect(loadConfig({ ...dev, WORKER_CONCURRENCY: '7' }).workerOwnerConcurrency).toBe(4);
    expect(loadConfig({ ...dev, WORKER_CONCURRENCY: '1' }).workerOwnerConcurrency).toBe(1);
    expect(loadConfig({ ...dev, WORKER_CONCURRENCY: '10', WORKER_OWNER_CONCURRENCY: '10', OWNER_MAX_QUEUED: '1' })).toMatchObject({ workerOwnerConcurrency: 10, ownerMaxQueued: 1 });
    expect(() => loadConfig({ ...dev, WORKER_CONCURRENCY: '10', WORKER_OWNER_CONCURRENCY: '11' })).toThrow(
      new ConfigError('WORKER_OWNER_CONCURRENCY must be at most WORKER_CONCURRENCY (10), got 11'),
    );
    expect(() => loadConfig({ ...dev, WORKER_OWNER_CONCURRENCY: '0' })).toThrow(new ConfigError('WORKER_OWNER_CONCURRENCY must be an integer ≥ 1, got "0"'));
    expect(() => loadConfig({ ...dev, OWNER_MAX_QUEUED: '0' })).toThrow(/OWNER_MAX_QUEUED/);
    expect(() => loadConfig({ ...dev, OWNER_MAX_QUEUED: '1.5' })).toThrow(/OWNER_MAX_QUEUED/);
  });
});

describe('secrets in the configuration', () => {
  const production = { NODE_ENV: 'production', JWT_SECRET: 'j'.repeat(40), CHRONOS_SECRETS_KEY: 's'.repeat(40) };
  /** The JWT secret older versions accepted under NODE_ENV=development: it is in their public source code. */
  const PUBLISHED = 'chronos-development-secret-not-for-production-use';

  it('requires JWT_SECRET and CHRONOS_SECRETS_KEY in production, strong ones', () => {
    expect(loadConfig(production).auth).toMatchObject({ jwtSecret: production.JWT_SECRET, jwtSecretGenerated: false });
    expect(loadConfig(production).secrets).toEqual({ secretsKey: production.CHRONOS_SECRETS_KEY });
    expect(() => loadConfig({ ...production, JWT_SECRET: '' })).toThrow(/JWT_SECRET is required/);
    expect(() => loadConfig({ ...production, CHRONOS_SECRETS_KEY: '' })).toThrow(/CHRONOS_SECRETS_KEY is required/);
    expect(() => loadConfig({ NODE_ENV: 'staging', JWT_SECRET: 'j'.repeat(40) })).toThrow(/CHRONOS_SECRETS_KEY is required/);
    expect(() => loadConfig({ ...production, JWT_SECRET: 'secret' })).toThrow(/JWT_SECRET is too weak/);
    expect(() => loadConfig({ ...production, CHRONOS_SECRETS_KEY: 'short' })).toThrow(/CHRONOS_SECRETS_KEY is too weak/);
    expect(() => loadConfig({ ...production, JWT_ACCESS_TTL: 'soon' })).toThrow(/JWT_ACCESS_TTL/);
  });

  it('refuses the published development secret everywhere, development included', () => {
    for (const NODE_ENV of ['production', 'development', 'test']) {
      expect(() => loadConfig({ ...production, NODE_ENV, JWT_SECRET: PUBLISHED })).toThrow(/JWT_SECRET is a secret published in Chronos's source code/);
      expect(() => loadConfig({ ...production, NODE_ENV, CHRONOS_SECRETS_KEY: PUBLISHED })).toThrow(/published/);
    }
    expect(() => loadConfig({ NODE_ENV: 'development', JWT_SECRET: 'changeme' })).toThrow(/too weak/);
  });

  it('in development without JWT_SECRET, signs with a random secret of this process, never a fixed one', () => {
    const first = loadConfig({ NODE_ENV: 'development' }).auth;
    const second = loadConfig({ NODE_ENV: 'development' }).auth;
    expect(first.jwtSecretGenerated).toBe(true);
    expect(first.jwtSecret.length).toBeGreaterThanOrEqual(64);
    expect(second.jwtSecret).not.toBe(first.jwtSecret);
    expect(first.jwtSecret).not.toBe(PUBLISHED);
    expect(loadConfig({ NODE_ENV: 'development' }).secrets).toEqual({});
  });

  it('keeps the legacy JWT secret of an upgrade as given (it only re-wraps old keys), and METRICS_TOKEN when strong', () => {
    expect(loadConfig({ ...production, CHRONOS_SECRETS_LEGACY_JWT_SECRET: PUBLISHED }).secrets.legacyJwtSecret).toBe(PUBLISHED);
    expect(loadConfig(production).metrics).toEqual({ cacheMs: 10_000 });
    expect(loadConfig({ ...production, METRICS_TOKEN: 'm'.repeat(16), METRICS_CACHE_MS: '0' }).metrics).toEqual({ token: 'm'.repeat(16), cacheMs: 0 });
    expect(() => loadConfig({ ...production, METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN is too weak/);
  });
});

describe('HOST', () => {
  const dev = { NODE_ENV: 'development' };

  it('is 127.0.0.1 unless told otherwise; takes an address or a host name', () => {
    expect(loadConfig(dev).host).toBe('127.0.0.1');
    expect(loadConfig({ ...dev, HOST: '' }).host).toBe('127.0.0.1');
    for (const host of ['0.0.0.0', '::', '::1', '10.1.2.3', 'localhost', 'chronos.internal']) expect(loadConfig({ ...dev, HOST: host }).host).toBe(host);
    for (const host of ['0.0.0.0:3000', 'http://x', 'a b', '-bad', 'x..y']) expect(() => loadConfig({ ...dev, HOST: host })).toThrow(/HOST must be/);
  });
});

describe('replication in the configuration', () => {
  const dev = { NODE_ENV: 'development' };

  it('keeps one copy by default; NATS_REPLICAS and NATS_EVENTS_REPLICAS take 1 to 5, NATS_PLACEMENT_TAGS a list', () => {
    expect(loadConfig(dev).replication).toEqual({ replicas: 1, placementTags: [] });
    expect(loadConfig({ ...dev, NATS_REPLICAS: '3', NATS_EVENTS_REPLICAS: '1', NATS_PLACEMENT_TAGS: ' eu, ssd ,' }).replication).toEqual({ replicas: 3, eventsReplicas: 1, placementTags: ['eu', 'ssd'] });
    expect(() => loadConfig({ ...dev, NATS_REPLICAS: '0' })).toThrow(new ConfigError('NATS_REPLICAS must be an integer ≥ 1, got "0"'));
    expect(() => loadConfig({ ...dev, NATS_REPLICAS: '6' })).toThrow(new ConfigError('NATS_REPLICAS must be at most 5, got 6'));
    expect(() => loadConfig({ ...dev, NATS_EVENTS_REPLICAS: 'three' })).toThrow(/NATS_EVENTS_REPLICAS/);
  });
});

describe('NATS_URL in the configuration', () => {
  it('takes one server or several of a cluster, each checked', () => {
    expect(loadConfig({ NODE_ENV: 'development', NATS_URL: 'nats://a:4222, nats://b:4223,' }).natsUrl).toBe('nats://a:4222,nats://b:4223');
    expect(() => loadConfig({ NODE_ENV: 'development', NATS_URL: 'nats://a:4222,http://b' })).toThrow(new ConfigError('NATS_URL must use nats: or tls:, got "http:"'));
    for (const bad of ['nats://%00:1', 'nats://a b:4222', 'nats://[zz]:4222', 'nats://a:99999']) expect(() => loadConfig({ NODE_ENV: 'development', NATS_URL: `nats://ok:4222,${bad}` })).toThrow(ConfigError);
  });
});
