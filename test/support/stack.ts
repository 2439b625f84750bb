import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startChronos, type ChronosApp } from '../../src/app.js';
import { loadConfig, type ChronosConfig } from '../../src/config.js';
import { runMigrations } from '../../src/infra/database/data-source.js';

/** The real servers started by scripts/test.sh (never mocks). */
export const urls = {
  nats: process.env.NATS_URL ?? 'nats://127.0.0.1:14222',
  database: process.env.DATABASE_URL ?? 'postgres://chronos:chronos@127.0.0.1:15433/chronos',
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:16380',
};

/** Empties every stream, bucket, table and key, then migrates: each test file starts from nothing. */
export async function resetStack(): Promise<void> {
  const nc = await connect({ servers: urls.nats });
  const jsm = await jetstreamManager(nc);
  for await (const stream of jsm.streams.list()) await jsm.streams.delete(stream.config.name);
  await nc.close();

  const client = new pg.Client({ connectionString: urls.database });
  await client.connect();
  await client.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
  await client.end();
  await runMigrations(urls.database);

  const redis = new Redis(urls.redis);
  await redis.flushdb();
  redis.disconnect();
}

/** The environment of a Chronos under test (in this process or a child one), before a test's own settings. */
export const TEST_ENV: Record<string, string> = {
  NATS_URL: urls.nats,
  DATABASE_URL: urls.database,
  REDIS_URL: urls.redis,
  PORT: '0',
  NODE_ENV: 'test',
  JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256-0123456789',
  // Limits are tested on their own (test/rate-limit.test.ts, test/auth.e2e.test.ts); elsewhere they are off.
  RATE_LIMIT_PER_HOUR: '0',
  AUTH_RATE_LIMIT_PER_IP: '0',
  AUTH_RATE_LIMIT_PER_EMAIL: '0',
  // The tests' HTTP sinks listen on loopback, which the target guard refuses unless allowed.
  CHRONOS_TARGET_ALLOWLIST: '127.0.0.1/32',
  CHRONOS_LEASE_TTL_MS: '1500',
};

export function testConfig(env: Record<string, string> = {}): ChronosConfig {
  return loadConfig({ ...TEST_ENV, ...env });
}

export function startTestChronos(env: Record<string, string> = {}): Promise<ChronosApp> {
  return startChronos(testConfig({ LOG_LEVEL: 'error', ...env }));
}

/** A fresh stack, a Chronos on it (with `env`), and a client signed up as a new user: most e2e files start so. */
export async function startWithUser(env: Record<string, string> = {}): Promise<{ chronos: ChronosApp; client: ApiClient }> {
  await resetStack();
  const chronos = await startTestChronos(env);
  return { chronos, client: await new ApiClient(`http://127.0.0.1:${chronos.port}`).signUp() };
}

/** Polls `probe` until it returns a truthy value (returned), failing after `timeoutMs`. */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

export async function waitFor<T>(probe: () => Promise<T> | T, timeoutMs = 10_000, what = 'condition'): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as Truthy<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers of the API under test
export type Json = any;

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: Json;
}

/** A client of the REST API, signed in as one user once `signUp` or `signIn` has run. */
export class ApiClient {
  token: string | undefined;
  refreshToken: string | undefined;
  user: Json;

  constructor(readonly base: string) {}

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: Json = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  get = (path: string, headers?: Record<string, string>) => this.request('GET', path, undefined, headers);
  post = (path: string, body?: unknown, headers?: Record<string, string>) => this.request('POST', path, body, headers);

  /** Registers a new user (a unique email unless given) and keeps its tokens. */
  async signUp(email = `user-${Math.random().toString(36).slice(2)}@example.com`, password = 'Passw0rd!'): Promise<this> {
    const res = await this.post('/api/v1/auth/register', { email, password, name: 'Test User' });
    if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
    this.keep(res.body);
    return this;
  }

  async signIn(email: string, password: string): Promise<ApiResponse> {
    const res = await this.post('/api/v1/auth/login', { email, password });
    if (res.status === 200) this.keep(res.body);
    return res;
  }

  keep(pair: Json): void {
    this.token = pair.accessToken;
    this.refreshToken = pair.refreshToken;
    this.user = pair.user;
  }
}
