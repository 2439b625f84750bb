import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Body, Controller, Get, HttpCode, Injectable, Post, type CanActivate, type ExecutionContext, type INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { Request } from 'express';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { ProblemDetailsFilter } from '../src/http/problem-details.filter.js';
import { RATE_LIMIT_OPTIONS, RateLimit, RateLimitGuard, SkipRateLimit, clientIpKey, emailHash, type RateLimitOptions } from '../src/http/rate-limit/rate-limit.guard.js';
import { RateLimiter } from '../src/http/rate-limit/rate-limiter.js';
import { REDIS, createRedis } from '../src/infra/redis.js';

/** Rate limiting on a tiny Nest app with the real guard, the real problem-details filter and a real Redis. */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:16380';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

@Controller()
class DummyController {
  @Get('things')
  things() {
    return { ok: true };
  }

  @RateLimit('auth')
  @Post('auth/login')
  @HttpCode(200)
  login(@Body() _body: unknown) {
    return { ok: true };
  }

  @SkipRateLimit()
  @Get('health')
  health() {
    return { ok: true };
  }
}

/** Stands in for the AccessGuard: an earlier APP_GUARD that sets `request.caller` (here from X-User). */
@Injectable()
class FakeAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request & { caller?: { id: string } }>();
    const user = request.header('x-user');
    if (user) request.caller = { id: user };
    return true;
  }
}

interface TestApp {
  app: INestApplication;
  redis: Redis;
  get(path: string, user?: string): Promise<globalThis.Response>;
  login(email?: string): Promise<globalThis.Response>;
  close(): Promise<void>;
}

async function startApp(options: Partial<RateLimitOptions>, redisUrl = REDIS_URL): Promise<TestApp> {
  const redis = createRedis(redisUrl);
  redis.on('error', () => undefined); // the "Redis down" case reconnects in the background
  await redis.connect().catch(() => undefined); // as src/app.ts does: start without Redis
  const moduleRef = await Test.createTestingModule({
    controllers: [DummyController],
    providers: [
      { provide: REDIS, useValue: redis },
      { provide: RATE_LIMIT_OPTIONS, useValue: { perUserPerHour: 3, authPerIpPer15Min: 100, authPerEmailPer15Min: 100, userWindowMs: 1500, ...options } },
      // Order matters: global guards run in registration order, and the limiter needs the caller.
      { provide: APP_GUARD, useClass: FakeAuthGuard },
      { provide: APP_GUARD, useClass: RateLimitGuard },
    ],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'fatal'] });
  app.useGlobalFilters(new ProblemDetailsFilter());
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    app,
    redis,
    get: (path, user) => fetch(`${base}${path}`, { headers: user ? { 'x-user': user } : {} }),
    login: (email) =>
      fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(email === undefined ? {} : { email, password: 'x' }) }),
    close: async () => {
      await app.close();
      redis.disconnect();
    },
  };
}

const headersOf = (res: globalThis.Response) => ({
  limit: res.headers.get('ratelimit-limit'),
  remaining: res.headers.get('ratelimit-remaining'),
  reset: res.headers.get('ratelimit-reset'),
  retryAfter: res.headers.get('retry-after'),
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('rate limiting', () => {
  const apps: TestApp[] = [];
  const start = async (options: Partial<RateLimitOptions>, redisUrl?: string) => {
    const app = await startApp(options, redisUrl);
    apps.push(app);
    return app;
  };
  let admin: Redis;

  beforeAll(async () => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    admin?.disconnect();
  });
  // Every auth test comes from 127.0.0.1: start each with that IP's bucket empty.
  beforeEach(async () => {
    await admin.del(`chronos:rl:ip:${clientIpKey('127.0.0.1')}`);
  });

  it('answers 429 problem+json with Retry-After and RateLimit-* at limit + 1, and RateLimit-* on every limited response', async () => {
    const t = await start({});
    const user = randomUUID();
    for (const remaining of ['2', '1', '0']) {
      const res = await t.get('/things', user);
      expect(res.status).toBe(200);
      expect(headersOf(res)).toMatchObject({ limit: '3', remaining, retryAfter: null });
      expect(Number(res.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);
      expect(Number(res.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(2);
    }
    const refused = await t.get('/things', user);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(headersOf(refused)).toMatchObject({ limit: '3', remaining: '0', retryAfter: '1' }); // 1.5 s / 3 = one every 0.5 s
    expect(Number(refused.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED', title: 'Too Many Requests', instance: '/things' });
    expect(await admin.exists(`chronos:rl:user:${user}`)).toBe(1);
  });

  it('admits again after Retry-After, and the whole quota after the window', async () => {
    const t = await start({});
    const user = randomUUID();
    for (let i = 0; i < 3; i++) expect((await t.get('/things', user)).status).toBe(200);
    const refused = await t.get('/things', user);
    expect(refused.status).toBe(429);
    await sleep(Number(refused.headers.get('retry-after')) * 1000);
    expect((await t.get('/things', user)).status).toBe(200);
    await sleep(1600);
    for (const remaining of ['2', '1', '0']) expect(headersOf(await t.get('/things', user))).toMatchObject({ remaining });
    expect((await t.get('/things', user)).status).toBe(429);
  });

  it('counts per user: one exhausted caller does not limit another', async () => {
    const t = await start({ userWindowMs: 60_000 });
    const [a, b] = [randomUUID(), randomUUID()];
    for (let i = 0; i < 3; i++) await t.get('/things', a);
    expect((await t.get('/things', a)).status).toBe(429);
    const other = await t.get('/things', b);
    expect(other.status).toBe(200);
    expect(headersOf(other)).toMatchObject({ limit: '3', remaining: '2' });
  });

  it('admits exactly the limit out of concurrent requests', async () => {
    const t = await start({ perUserPerHour: 10, userWindowMs: 60_000 });
    const user = randomUUID();
    const responses = await Promise.all(Array.from({ length: 20 }, () => t.get('/things', user)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    const remaining = responses.filter((r) => r.status === 200).map((r) => Number(r.headers.get('ratelimit-remaining')));
    expect(remaining.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('shares the limit between instances (two apps, two Redis clients, one Redis)', async () => {
    const options = { perUserPerHour: 10, userWindowMs: 60_000 };
    const [one, two] = [await start(options), await start(options)];
    const user = randomUUID();
    expect(headersOf(await one.get('/things', user))).toMatchObject({ remaining: '9' });
    expect(headersOf(await two.get('/things', user))).toMatchObject({ remaining: '8' });
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).get('/things', user)));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(8);
    expect((await one.get('/things', user)).status).toBe(429);
    expect((await two.get('/things', user)).status).toBe(429);
  });

  it('limits the auth routes per e-mail (normalised, hashed) and reports the tighter limit', async () => {
    const t = await start({ authPerIpPer15Min: 5, authPerEmailPer15Min: 2, authWindowMs: 60_000 });
    const email = `Victim-${randomUUID()}@Example.com`;
    const first = await t.login(email);
    expect(first.status).toBe(200);
    expect(headersOf(first)).toMatchObject({ limit: '2', remaining: '1' }); // email 1/2 is tighter than IP 4/5
    expect((await t.login(`  ${email.toLowerCase()} `)).status).toBe(200);
    const refused = await t.login(email.toUpperCase());
    expect(refused.status).toBe(429);
    expect(headersOf(refused)).toMatchObject({ limit: '2', remaining: '0', retryAfter: '30' }); // 60 s / 2
    expect(((await refused.json()) as { code: string }).code).toBe('RATE_LIMITED');
    expect(await admin.exists(`chronos:rl:email:${emailHash(email)}`)).toBe(1);
    expect(await admin.keys(`*${email.toLowerCase()}*`)).toEqual([]);
    // Another address from the same IP still gets in: the IP has 5 - 2 = 3 left.
    const other = await t.login(`other-${randomUUID()}@example.com`);
    expect(other.status).toBe(200);
    expect(headersOf(other)).toMatchObject({ limit: '2', remaining: '1' });
  });

  it('limits the auth routes per IP, and a request the IP limit refuses costs the e-mail nothing', async () => {
    const t = await start({ authPerIpPer15Min: 3, authPerEmailPer15Min: 10, authWindowMs: 60_000 });
    expect(headersOf(await t.login())).toMatchObject({ limit: '3', remaining: '2' }); // no e-mail: per IP only
    for (let i = 0; i < 2; i++) expect((await t.login(`spray-${randomUUID()}@example.com`)).status).toBe(200);
    const victim = `victim-${randomUUID()}@example.com`;
    const refused = await t.login(victim);
    expect(refused.status).toBe(429);
    expect(headersOf(refused)).toMatchObject({ limit: '3', remaining: '0', retryAfter: '20' });
    expect(await admin.exists(`chronos:rl:email:${emailHash(victim)}`)).toBe(0);
  });

  it('does not limit @SkipRateLimit routes nor requests without a caller', async () => {
    const t = await start({ perUserPerHour: 1, userWindowMs: 60_000 });
    const user = randomUUID();
    expect((await t.get('/things', user)).status).toBe(200);
    expect((await t.get('/things', user)).status).toBe(429);
    for (let i = 0; i < 3; i++) {
      const health = await t.get('/health', user);
      expect(health.status).toBe(200);
      expect(headersOf(health)).toEqual({ limit: null, remaining: null, reset: null, retryAfter: null });
      const anonymous = await t.get('/things');
      expect(anonymous.status).toBe(200);
      expect(anonymous.headers.get('ratelimit-limit')).toBeNull();
    }
  });

  it('fails open when Redis is unreachable: requests pass, no 500, no RateLimit-* headers', async () => {
    const t = await start({ perUserPerHour: 1, authPerIpPer15Min: 1, authPerEmailPer15Min: 1 }, `redis://127.0.0.1:${await closedPort()}`);
    const began = Date.now();
    for (let i = 0; i < 5; i++) {
      const res = await t.get('/things', 'someone');
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-limit')).toBeNull();
      expect((await t.login('someone@example.com')).status).toBe(200);
    }
    expect(Date.now() - began).toBeLessThan(2000); // fails fast, does not wait on Redis
  });

  it('fails open when Redis hangs (timeout), and warns at most once per 10 s', async () => {
    const redis = createRedis(REDIS_URL);
    await redis.connect();
    const warnings: unknown[] = [];
    const limiter = new RateLimiter(redis, { timeoutMs: 100, logger: { warn: (m) => warnings.push(m) } });
    const key = `chronos:rl:test:${randomUUID()}`;
    try {
      expect(await limiter.consume(key, 2, 60_000)).toEqual({ allowed: true, limit: 2, remaining: 1, resetSeconds: 30, retryAfterSeconds: 0 });
      await admin.call('CLIENT', 'PAUSE', '600', 'ALL');
      const began = Date.now();
      expect(await limiter.consume(key, 2, 60_000)).toBeNull();
      expect(await limiter.consume(key, 2, 60_000)).toBeNull();
      expect(Date.now() - began).toBeLessThan(500);
      expect(warnings).toHaveLength(1);
      await sleep(700);
      expect(await limiter.consume(key, 2, 60_000)).toMatchObject({ remaining: 0 });
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      redis.disconnect();
    }
  });

  it('reloads its Lua script after SCRIPT FLUSH', async () => {
    const limiter = new RateLimiter(admin);
    const key = `chronos:rl:test:${randomUUID()}`;
    expect(await limiter.consume(key, 3, 60_000)).toMatchObject({ allowed: true, remaining: 2 });
    await admin.script('FLUSH');
    expect(await limiter.consume(key, 3, 60_000)).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('decides each of the calls sent together (one pipeline) on its own: exactly the limit per key, after a SCRIPT FLUSH too', async () => {
    const limiter = new RateLimiter(admin);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ limit: fc.integer({ min: 1, max: 4 }), requests: fc.integer({ min: 0, max: 8 }) }), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.infiniteStream(fc.nat()),
        async (buckets, flushScripts, order) => {
          const keyed = buckets.map((bucket) => ({ ...bucket, key: `chronos:rl:test:${randomUUID()}` }));
          const calls = keyed.flatMap((bucket) => Array.from({ length: bucket.requests }, () => bucket));
          // An arbitrary interleaving of the keys' calls, all begun in one turn of the event loop.
          for (let i = calls.length - 1; i > 0; i--) {
            const j = order.next().value % (i + 1);
            [calls[i], calls[j]] = [calls[j]!, calls[i]!];
          }
          if (flushScripts) await admin.script('FLUSH');
          const results = await Promise.all(calls.map((bucket) => limiter.consume(bucket.key, bucket.limit, 60_000)));
          for (const bucket of keyed) {
            const mine = results.filter((_, i) => calls[i] === bucket);
            const admitted = mine.filter((r) => r!.allowed);
            expect(admitted).toHaveLength(Math.min(bucket.limit, bucket.requests));
            expect(admitted.map((r) => r!.remaining).sort((x, y) => y - x)).toEqual(Array.from({ length: admitted.length }, (_, i) => bucket.limit - 1 - i));
            expect(mine.filter((r) => !r!.allowed).every((r) => r!.remaining === 0 && r!.retryAfterSeconds >= 1)).toBe(true);
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('keys IPv6 clients by /64 and IPv4-mapped addresses as IPv4', () => {
    expect(clientIpKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(clientIpKey('203.0.113.9')).toBe('203.0.113.9');
    expect(clientIpKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientIpKey('2001:db8:1:2::42')).toBe('2001:db8:1:2::/64');
    expect(clientIpKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientIpKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientIpKey(undefined)).toBe('unknown');
  });
});
