import { createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { DEFAULT_SCRIPT_OUTPUT_CAP_BYTES, parseScriptAllowlist, type ScriptAllowlist } from './executors/script.executor.js';
import { parseAllowlist, type TargetAllowlist } from './executors/target-guard.js';
import type { ReplicationSettings } from './infra/replication.js';
import type { LevelWithSilent } from 'pino';

/** Configuration: read and validated once at start-up into a typed object. */
export const ROLES = ['api', 'scheduler', 'worker', 'projector'] as const;
export type Role = (typeof ROLES)[number];
const LOG_LEVELS: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface AuthConfig {
  jwtSecret: string;
  /** JWT_SECRET was unset (development and test only): jwtSecret is random, this process's alone (warned at start-up). */
  jwtSecretGenerated: boolean;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  /** Created (or promoted) at start-up when both are set. */
  admin?: { email: string; password: string };
  /**
   * AUTH_SESSION_CACHE_MS: how long an API process trusts what it read of a session (live, its user's role)
   * without hearing of a change; changes are announced to every process at once, this bounds a missed one.
   */
  sessionCacheMs: number;
}

/** The master key of job secrets (src/secrets/job-keys.ts). */
export interface SecretsConfig {
  /** CHRONOS_SECRETS_KEY: required in production; unset in development/test, the key is derived from JWT_SECRET (warned at start-up). */
  secretsKey?: string;
  /**
   * CHRONOS_SECRETS_LEGACY_JWT_SECRET: the JWT_SECRET whose derived key wrapped the job keys stored before
   * CHRONOS_SECRETS_KEY was set. Those keys are re-wrapped under CHRONOS_SECRETS_KEY at start-up.
   */
  legacyJwtSecret?: string;
}

/** GET /metrics (src/http/metrics.controller.ts). */
export interface MetricsConfig {
  /** METRICS_TOKEN: the bearer token a scraper sends; unset, /metrics answers nobody. */
  token?: string;
  /** METRICS_CACHE_MS: the read-model and stream figures are counted at most this often, whatever the scrape rate. */
  cacheMs: number;
}

export interface ChronosConfig {
  /**
   * `development` and `test` allow a missing JWT_SECRET (a random one, good for this process only) and a missing
   * CHRONOS_SECRETS_KEY (derived from JWT_SECRET); anything else requires both.
   */
  environment: string;
  /** LOG_LEVEL: the lowest level the application log writes. */
  logLevel: LevelWithSilent;
  /** HOST: the address the HTTP server listens on; 127.0.0.1 unless told otherwise. */
  host: string;
  port: number;
  /** NATS_URL: one server, or several of one cluster comma-separated (connecting tries each; the cluster tells of the rest). */
  natsUrl: string;
  /** Copies of each stream on a NATS cluster (NATS_REPLICAS, NATS_EVENTS_REPLICAS, NATS_PLACEMENT_TAGS: src/infra/replication.ts). */
  replication: ReplicationSettings;
  databaseUrl: string;
  redisUrl: string;
  roles: Set<Role>;
  workerConcurrency: number;
  /**
   * WORKER_OWNER_CONCURRENCY: the most runs of one owner at once on one worker [half of WORKER_CONCURRENCY],
   * so the rest of its slots stay free for others (docs/architecture.md, Fair shares).
   */
  workerOwnerConcurrency: number;
  /**
   * OWNER_MAX_QUEUED: the most work items of one owner in the work stream at once (queued, held or running)
   * [5000]; its further fires wait in its backlog, and say so in their logs.
   */
  ownerMaxQueued: number;
  /** A work item not acknowledged within this is redelivered; a worker heartbeats every item it has every third of it, so only a dead worker's items come back, and soon. */
  workAckWaitMs: number;
  /** Deliveries of one work item before it becomes a dead letter (a worker died or hung every time). */
  workMaxDeliver: number;
  auth: AuthConfig;
  secrets: SecretsConfig;
  metrics: MetricsConfig;
  /** Requests allowed per window; 0 turns a limit off. */
  rateLimit: { perUserPerHour: number; authPerIpPer15Min: number; authPerEmailPer15Min: number };
  /** Outbound targets allowed although they resolve to private addresses (CHRONOS_TARGET_ALLOWLIST). */
  targetAllowlist: TargetAllowlist;
  /** Origins allowed by CORS; empty: no cross-origin access. */
  corsOrigins: string[];
  retryDefaults: { maxAttempts: number; delayMs: number };
  defaultTimeoutMs: number;
  /** An instant fired later than this after it was due is a misfire, handled by the job's misfirePolicy. */
  misfireThresholdMs: number;
  /** The most catch-up fires of misfirePolicy fire_all in one decision. */
  fireAllCap: number;
  /**
   * How long before its instant the scheduler may fire a job (FIRE_AHEAD_MS): the run is dispatched ahead
   * and its worker starts it at the instant, so a burst of fires does not make starts late.
   */
  fireAheadMs: number;
  /** How long an active scheduler or projector keeps its role without renewing it. */
  leaseTtlMs: number;
  /**
   * READ_YOUR_WRITES_WAIT_MS: how long a write waits for every read model to pass its log position before it
   * answers anyway, saying the read models lag (X-Chronos-Read-Models); 0 does not wait.
   */
  readYourWritesWaitMs: number;
  /** Identifies this process in leases and executions. */
  instanceId: string;
  /**
   * SNAPSHOT_EVERY_EVENTS: a job's state is snapshotted (KV bucket chronos_snapshots) each time it has folded this
   * many events past its last snapshot, so a load reads at most about this many events; 0 turns snapshots off.
   */
  snapshotEveryEvents: number;
  /** Events per transaction when a read model is rebuilt from the event log (src/projections/rebuild). */
  rebuildBatchEvents: number;
  /** What the history keeps (src/retention, docs/architecture.md, Retention). */
  retention: RetentionConfig;
  /** Outgoing mail (notifications): SMTP_URL (unset: email notifications fail with a clear error) and SMTP_FROM. */
  smtp: { url?: string; from: string };
  /** Delivery of job notifications (src/notifications). */
  notifications: NotificationsConfig;
  /** `script` jobs (src/executors/script.executor.ts). */
  script: ScriptConfig;
}

export interface RetentionConfig {
  /**
   * HISTORY_RETENTION_DAYS [30]: executions and their logs older than this many days leave the read models (their day
   * partitions are dropped), and a job's event log is closed into an epoch and purged before it once nothing older is held.
   */
  days: number;
  /** HISTORY_EPOCH_EVENTS [10000]: a job with this many events since its last epoch has its history closed again, however young. */
  epochEvents: number;
  /** HISTORY_MAINTENANCE_INTERVAL_MS [1 h]: how often the retention task runs (partitions ahead and behind, epochs, purges). */
  intervalMs: number;
}

export interface ScriptConfig {
  /**
   * CHRONOS_SCRIPT_ALLOWLIST: the commands script jobs may run (comma-separated absolute paths, or bare names
   * resolved on this process's PATH at start-up). Empty: no script job can be created or run.
   */
  allowlist: ScriptAllowlist;
  /** SCRIPT_OUTPUT_CAP_BYTES: bytes of stdout + stderr written to an execution's log [1 MiB]; the rest is counted, not logged. */
  outputCapBytes: number;
}

export interface NotificationsConfig {
  /** Deliveries of one notification before it is recorded as failed (NOTIFY_MAX_DELIVERIES). */
  maxDeliveries: number;
  /** Delay before the first redelivery, doubled each time (NOTIFY_BACKOFF_MS)… */
  backoffMs: number;
  /** …up to this (NOTIFY_MAX_BACKOFF_MS). */
  maxBackoffMs: number;
  /** Time allowed for one send, SMTP or webhook (NOTIFY_TIMEOUT_MS). */
  timeoutMs: number;
  /** Events older than this when the saga sees them are not notified (NOTIFY_MAX_EVENT_AGE_MS): a new saga replays history. */
  maxEventAgeMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new ConfigError(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}

/** The longest delay a Node timer waits: a longer one fires at once, so a setting used as one is refused beyond it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay in milliseconds that Chronos waits with a timer. */
function timerMs(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  return atMost(integer(env, name, fallback, min), name, MAX_TIMER_MS, `${MAX_TIMER_MS} (about 24.8 days, the longest a timer waits)`);
}

function atMost(value: number, name: string, max: number, maxName = `${max}`): number {
  if (value > max) throw new ConfigError(`${name} must be at most ${maxName}, got ${value}`);
  return value;
}

function url(env: NodeJS.ProcessEnv, name: string, fallback: string, protocols: string[]): string {
  const raw = env[name] || fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a URL: "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol)) throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
  return raw;
}

function natsUrls(env: NodeJS.ProcessEnv): string {
  const urls = (env.NATS_URL || 'nats://127.0.0.1:4222').split(',').map((u) => u.trim()).filter(Boolean);
  return urls
    .map((u) => {
      url({ NATS_URL: u }, 'NATS_URL', u, ['nats:', 'tls:']);
      // The client reads each server as an http: URL (host and port): one that is not would fail at connect.
      const server = URL.parse(u.replace(/^[a-z]+:/i, 'http:'));
      if (!server?.hostname) throw new ConfigError(`NATS_URL has no valid host and port: "${u}"`);
      return u;
    })
    .join(',');
}

export const databaseUrl = (env: NodeJS.ProcessEnv): string =>
  url(env, 'DATABASE_URL', 'postgres://chronos:chronos@127.0.0.1:5433/chronos', ['postgres:', 'postgresql:']);

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ChronosConfig {
  const roleNames = (env.CHRONOS_ROLES || ROLES.join(',')).split(',').map((r) => r.trim()).filter(Boolean);
  for (const role of roleNames) {
    if (!(ROLES as readonly string[]).includes(role)) throw new ConfigError(`CHRONOS_ROLES: unknown role "${role}" (known: ${ROLES.join(', ')})`);
  }
  const environment = env.NODE_ENV || 'production';
  // Twice what one owner may use (WORKER_OWNER_CONCURRENCY): an owner alone runs as many at once as a worker ran before owners had shares.
  const workerConcurrency = integer(env, 'WORKER_CONCURRENCY', 400, 1);
  return {
    environment,
    logLevel: logLevel(env),
    host: host(env),
    port: integer(env, 'PORT', 3000, 0),
    natsUrl: natsUrls(env),
    replication: replication(env),
    databaseUrl: databaseUrl(env),
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:6380', ['redis:', 'rediss:']),
    roles: new Set(roleNames as Role[]),
    workerConcurrency,
    workerOwnerConcurrency: atMost(integer(env, 'WORKER_OWNER_CONCURRENCY', Math.ceil(workerConcurrency / 2), 1), 'WORKER_OWNER_CONCURRENCY', workerConcurrency, `WORKER_CONCURRENCY (${workerConcurrency})`),
    ownerMaxQueued: integer(env, 'OWNER_MAX_QUEUED', 5000, 1),
    workAckWaitMs: integer(env, 'WORK_ACK_WAIT_MS', 6000, 1000),
    workMaxDeliver: integer(env, 'WORK_MAX_DELIVER', 5, 1),
    auth: authConfig(env, environment),
    secrets: secretsConfig(env, environment),
    metrics: { ...(env.METRICS_TOKEN ? { token: secret(env, 'METRICS_TOKEN', 16) } : {}), cacheMs: integer(env, 'METRICS_CACHE_MS', 10_000, 0) },
    targetAllowlist: allowlist(env),
    rateLimit: {
      perUserPerHour: integer(env, 'RATE_LIMIT_PER_HOUR', 100, 0),
      // Per IP generously (offices and carrier NAT share one); per email tightly: the real brute-force brake.
      authPerIpPer15Min: integer(env, 'AUTH_RATE_LIMIT_PER_IP', 100, 0),
      authPerEmailPer15Min: integer(env, 'AUTH_RATE_LIMIT_PER_EMAIL', 10, 0),
    },
    corsOrigins: (env.CORS_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    retryDefaults: { maxAttempts: integer(env, 'MAX_RETRY_ATTEMPTS', 3, 1), delayMs: integer(env, 'RETRY_DELAY_MS', 1000, 0) },
    defaultTimeoutMs: timerMs(env, 'DEFAULT_TIMEOUT_MS', 30_000, 1),
    leaseTtlMs: timerMs(env, 'CHRONOS_LEASE_TTL_MS', 5000, 600),
    // Bounded well below the time-outs of HTTP clients and proxies: a write must answer.
    readYourWritesWaitMs: atMost(integer(env, 'READ_YOUR_WRITES_WAIT_MS', 2000, 0), 'READ_YOUR_WRITES_WAIT_MS', 30_000),
    misfireThresholdMs: integer(env, 'MISFIRE_THRESHOLD_MS', 60_000, 0),
    fireAllCap: integer(env, 'MISFIRE_FIRE_ALL_CAP', 100, 1),
    fireAheadMs: atMost(integer(env, 'FIRE_AHEAD_MS', 2000, 0), 'FIRE_AHEAD_MS', 5000),
    rebuildBatchEvents: integer(env, 'CHRONOS_REBUILD_BATCH_EVENTS', 2000, 10),
    snapshotEveryEvents: integer(env, 'SNAPSHOT_EVERY_EVENTS', 50, 0),
    retention: {
      // One day partition per day kept, per history table: ten years is thousands already.
      days: atMost(integer(env, 'HISTORY_RETENTION_DAYS', 30, 1), 'HISTORY_RETENTION_DAYS', 3660),
      epochEvents: integer(env, 'HISTORY_EPOCH_EVENTS', 10_000, 100),
      intervalMs: timerMs(env, 'HISTORY_MAINTENANCE_INTERVAL_MS', 3_600_000, 1000),
    },
    instanceId: env.CHRONOS_INSTANCE_ID || `${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    smtp: {
      ...(env.SMTP_URL ? { url: url(env, 'SMTP_URL', env.SMTP_URL, ['smtp:', 'smtps:']) } : {}),
      from: env.SMTP_FROM || 'Chronos <chronos@localhost>',
    },
    notifications: {
      maxDeliveries: integer(env, 'NOTIFY_MAX_DELIVERIES', 5, 1),
      backoffMs: timerMs(env, 'NOTIFY_BACKOFF_MS', 1000, 1),
      maxBackoffMs: timerMs(env, 'NOTIFY_MAX_BACKOFF_MS', 60_000, 1),
      timeoutMs: timerMs(env, 'NOTIFY_TIMEOUT_MS', 10_000, 1),
      maxEventAgeMs: integer(env, 'NOTIFY_MAX_EVENT_AGE_MS', 86_400_000, 1),
    },
    script: {
      allowlist: scriptAllowlist(env),
      outputCapBytes: integer(env, 'SCRIPT_OUTPUT_CAP_BYTES', DEFAULT_SCRIPT_OUTPUT_CAP_BYTES, 1024),
    },
  };
}

/** JetStream keeps 1 to 5 copies of a stream (an even count tolerates no more failures than the odd one below it). */
function replication(env: NodeJS.ProcessEnv): ReplicationSettings {
  const replicas = atMost(integer(env, 'NATS_REPLICAS', 1, 1), 'NATS_REPLICAS', 5);
  const events = env.NATS_EVENTS_REPLICAS ? atMost(integer(env, 'NATS_EVENTS_REPLICAS', 1, 1), 'NATS_EVENTS_REPLICAS', 5) : undefined;
  const placementTags = (env.NATS_PLACEMENT_TAGS ?? '').split(',').map((tag) => tag.trim()).filter(Boolean);
  return { replicas, ...(events !== undefined ? { eventsReplicas: events } : {}), placementTags };
}

function logLevel(env: NodeJS.ProcessEnv): LevelWithSilent {
  const raw = (env.LOG_LEVEL || 'info').trim().toLowerCase();
  if (!(LOG_LEVELS as string[]).includes(raw)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  return raw as LevelWithSilent;
}

function scriptAllowlist(env: NodeJS.ProcessEnv): ScriptAllowlist {
  try {
    // Bare names resolve on the PATH of this process (`env` in tests may not carry one).
    return parseScriptAllowlist(env.CHRONOS_SCRIPT_ALLOWLIST, env.PATH ?? process.env.PATH);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** `900`, `900s`, `15m`, `12h`, `7d`: a duration in seconds. */
function duration(env: NodeJS.ProcessEnv, name: string, fallbackSeconds: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallbackSeconds;
  const match = /^(\d+)\s*(s|m|h|d)?$/.exec(raw.trim());
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[(match?.[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  if (!match || Number(match[1]) <= 0) throw new ConfigError(`${name} must be a duration like 900, 15m, 12h or 7d, got "${raw}"`);
  return Number(match[1]) * unit;
}

const WEAK_SECRETS = new Set(['secret', 'changeme', 'change-me', 'password', 'jwt-secret']);
/**
 * SHA-256 of secrets that were published (a development JWT secret that older versions accepted): refused
 * by hash, so the code no longer carries them.
 */
const PUBLISHED_SECRETS_SHA256 = new Set(['8815ee6a221a3ace0e861f7746ab06b024e70aa51fa5ca5cdaa18f3c33152d49']);
const isDevelopment = (environment: string) => environment === 'development' || environment === 'test';

/** A secret setting: at least `minLength` characters, not a well-known or published value. */
function secret(env: NodeJS.ProcessEnv, name: string, minLength = 32): string {
  const value = env[name]!;
  if (PUBLISHED_SECRETS_SHA256.has(createHash('sha256').update(value).digest('hex'))) {
    throw new ConfigError(`${name} is a secret published in Chronos's source code: use at least ${minLength} random characters (e.g. \`openssl rand -base64 48\`)`);
  }
  if (value.length < minLength || WEAK_SECRETS.has(value.toLowerCase())) {
    throw new ConfigError(`${name} is too weak: use at least ${minLength} random characters (e.g. \`openssl rand -base64 48\`)`);
  }
  return value;
}

function authConfig(env: NodeJS.ProcessEnv, environment: string): AuthConfig {
  const generated = !env.JWT_SECRET;
  if (generated && !isDevelopment(environment)) {
    throw new ConfigError('JWT_SECRET is required outside development (NODE_ENV=development): set it to at least 32 random characters');
  }
  const email = env.CHRONOS_ADMIN_EMAIL?.trim().toLowerCase();
  const password = env.CHRONOS_ADMIN_PASSWORD || undefined;
  if (Boolean(email) !== Boolean(password)) throw new ConfigError('CHRONOS_ADMIN_EMAIL and CHRONOS_ADMIN_PASSWORD must be set together');
  if (password !== undefined && password.length < 8) throw new ConfigError('CHRONOS_ADMIN_PASSWORD must have at least 8 characters');
  return {
    // Unset in development: random, so no secret anyone can read anywhere signs a token Chronos accepts.
    jwtSecret: generated ? randomBytes(48).toString('base64url') : secret(env, 'JWT_SECRET'),
    jwtSecretGenerated: generated,
    accessTtlSeconds: duration(env, 'JWT_ACCESS_TTL', 15 * 60),
    refreshTtlSeconds: duration(env, 'JWT_REFRESH_TTL', 7 * 86_400),
    ...(email && password ? { admin: { email, password } } : {}),
    sessionCacheMs: integer(env, 'AUTH_SESSION_CACHE_MS', 5000, 0),
  };
}

function secretsConfig(env: NodeJS.ProcessEnv, environment: string): SecretsConfig {
  if (!env.CHRONOS_SECRETS_KEY && !isDevelopment(environment)) {
    throw new ConfigError(
      'CHRONOS_SECRETS_KEY is required outside development: set it to at least 32 random characters, once, and keep it ' +
        '(upgrading, with job secrets sealed under JWT_SECRET: see README, Security)',
    );
  }
  return {
    ...(env.CHRONOS_SECRETS_KEY ? { secretsKey: secret(env, 'CHRONOS_SECRETS_KEY') } : {}),
    ...(env.CHRONOS_SECRETS_LEGACY_JWT_SECRET ? { legacyJwtSecret: env.CHRONOS_SECRETS_LEGACY_JWT_SECRET } : {}),
  };
}

/** HOST: an IP address or a host name (`0.0.0.0` or `::` for every interface). */
function host(env: NodeJS.ProcessEnv): string {
  const value = (env.HOST ?? '').trim() || '127.0.0.1';
  if (!isIP(value) && !/^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(value)) {
    throw new ConfigError(`HOST must be an IP address or a host name, got "${env.HOST}"`);
  }
  return value;
}

function allowlist(env: NodeJS.ProcessEnv): TargetAllowlist {
  try {
    return parseAllowlist(env.CHRONOS_TARGET_ALLOWLIST);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

export const CHRONOS_CONFIG = Symbol('ChronosConfig');
