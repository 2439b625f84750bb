/** Configuration: read and validated once at start-up into a typed object. */
export const ROLES = ['api', 'scheduler', 'worker', 'projector'] as const;
export type Role = (typeof ROLES)[number];

export interface ChronosConfig {
  port: number;
  natsUrl: string;
  databaseUrl: string;
  redisUrl: string;
  roles: Set<Role>;
  workerConcurrency: number;
  /** The owner of every job until authentication lands: the API runs as this one local user. */
  localOwnerId: string;
  retryDefaults: { maxAttempts: number; delayMs: number };
  defaultTimeoutMs: number;
  /** How long an active scheduler or projector keeps its role without renewing it. */
  leaseTtlMs: number;
  /** Identifies this process in leases and executions. */
  instanceId: string;
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

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ChronosConfig {
  const roleNames = (env.CHRONOS_ROLES || ROLES.join(',')).split(',').map((r) => r.trim()).filter(Boolean);
  for (const role of roleNames) {
    if (!(ROLES as readonly string[]).includes(role)) throw new ConfigError(`CHRONOS_ROLES: unknown role "${role}" (known: ${ROLES.join(', ')})`);
  }
  return {
    port: integer(env, 'PORT', 3000, 0),
    natsUrl: url(env, 'NATS_URL', 'nats://127.0.0.1:4222', ['nats:', 'tls:']),
    databaseUrl: url(env, 'DATABASE_URL', 'postgres://chronos:chronos@127.0.0.1:5433/chronos', ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:6380', ['redis:', 'rediss:']),
    roles: new Set(roleNames as Role[]),
    workerConcurrency: integer(env, 'WORKER_CONCURRENCY', 200, 1),
    localOwnerId: '00000000-0000-4000-8000-000000000001',
    retryDefaults: { maxAttempts: integer(env, 'MAX_RETRY_ATTEMPTS', 3, 1), delayMs: integer(env, 'RETRY_DELAY_MS', 1000, 0) },
    defaultTimeoutMs: integer(env, 'DEFAULT_TIMEOUT_MS', 30_000, 1),
    leaseTtlMs: integer(env, 'CHRONOS_LEASE_TTL_MS', 5000, 600),
    instanceId: env.CHRONOS_INSTANCE_ID || `${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
  };
}

export const CHRONOS_CONFIG = Symbol('ChronosConfig');
