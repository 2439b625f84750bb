import { createHmac, randomUUID } from 'node:crypto';
import type { ChronosApp } from '../src/app.js';
import { SessionCache } from '../src/auth/session-cache.js';
import { SseStream } from './support/sse.js';
import { ApiClient, resetStack, startTestChronos, TEST_ENV, waitFor, type Json } from './support/stack.js';

/**
 * Tokens mean what they say, tried as an attacker would: forged tokens (with the JWT secret older versions
 * published, and, as if it leaked, with the real one) for an admin role, a user that does not exist, the
 * subject `*`; a demoted admin; event streams kept open across logout, demotion and expiry.
 */
const ADMIN = { email: 'root@example.com', password: 'Adm1nPassword' };
/** The development JWT secret older versions accepted under NODE_ENV=development: it is in their public source. */
const PUBLISHED_SECRET = 'chronos-development-secret-not-for-production-use';

const HMACS = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' } as const;

/** An HMAC JWT (HS256 unless told), as anyone holding `secret` can make one. */
function forge(claims: Record<string, unknown>, secret: string, alg: keyof typeof HMACS = 'HS256'): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${part({ alg, typ: 'JWT' })}.${part({ jti: randomUUID(), iat: now, exp: now + 900, ...claims })}`;
  return `${unsigned}.${createHmac(HMACS[alg], secret).update(unsigned).digest('base64url')}`;
}

/** The claims of a token Chronos issued. */
const claimsOf = (token: string): Json => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());

const job = (name: string) => ({ name, type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'immediate' } });

describe('forged tokens', () => {
  let chronos: ChronosApp;
  let base: string;
  afterEach(() => chronos?.close());

  it('the published development secret signs nothing Chronos accepts, not even under NODE_ENV=development', async () => {
    await resetStack();
    chronos = await startTestChronos({ NODE_ENV: 'development', JWT_SECRET: '', CHRONOS_ADMIN_EMAIL: ADMIN.email, CHRONOS_ADMIN_PASSWORD: ADMIN.password });
    base = `http://127.0.0.1:${chronos.port}`;
    const attacker = await new ApiClient(base).signUp();
    const { sid } = claimsOf(attacker.token!);
    const admin = new ApiClient(base);
    await admin.signIn(ADMIN.email, ADMIN.password);
    for (const claims of [
      { sub: attacker.user.id, sid, role: 'admin' },
      { sub: admin.user.id, sid: claimsOf(admin.token!).sid, role: 'admin' },
      { sub: randomUUID(), sid: randomUUID(), role: 'admin' },
    ]) {
      const forged = new ApiClient(base);
      forged.token = forge(claims, PUBLISHED_SECRET);
      expect((await forged.get('/api/v1/admin/users')).status).toBe(401);
      expect((await forged.post('/api/v1/jobs', job('owned by a forged token'))).status).toBe(401);
    }
    // The server is not at 0.0.0.0: only this machine reaches it unless HOST says otherwise.
    expect((chronos.app.getHttpServer().address() as { address: string }).address).toBe('127.0.0.1');
  });

  describe('signed with the real secret (as if it leaked)', () => {
    const secret = TEST_ENV.JWT_SECRET!;
    let attacker: ApiClient;
    let victim: ApiClient;

    beforeAll(async () => {
      await resetStack();
    });
    beforeEach(async () => {
      chronos = await startTestChronos({ CHRONOS_ADMIN_EMAIL: ADMIN.email, CHRONOS_ADMIN_PASSWORD: ADMIN.password });
      base = `http://127.0.0.1:${chronos.port}`;
      attacker = await new ApiClient(base).signUp();
      victim = await new ApiClient(base).signUp();
    });

    it('a token for a user id that does not exist creates nothing and reads nothing', async () => {
      const ghost = new ApiClient(base);
      for (const claims of [
        { sub: randomUUID(), sid: randomUUID(), role: 'user' },
        // a live session, someone else's id
        { sub: randomUUID(), sid: claimsOf(attacker.token!).sid, role: 'user' },
        { sub: victim.user.id, sid: claimsOf(attacker.token!).sid, role: 'user' },
      ]) {
        ghost.token = forge(claims, secret);
        expect((await ghost.post('/api/v1/jobs', job('ghost job'))).status).toBe(401);
        expect((await ghost.get('/api/v1/jobs')).status).toBe(401);
      }
      expect((await victim.get('/api/v1/jobs')).body.total).toBe(0);
    });

    it('a token for the subject "*" (or any non-UUID) opens no event stream and reads no one else', async () => {
      const { sid } = claimsOf(attacker.token!);
      for (const sub of ['*', '>', `${victim.user.id}.>`, 'admin', '']) {
        const stream = await SseStream.open(base, forge({ sub, sid, role: 'user' }, secret));
        expect([sub, stream.status]).toEqual([sub, 401]);
        const forged = new ApiClient(base);
        forged.token = forge({ sub, sid, role: 'user' }, secret);
        expect((await forged.get('/api/v1/jobs')).status).toBe(401);
      }
    });

    it('only HS256 opens the door: the same claims signed with the real secret under HS384, HS512 or `none` are refused', async () => {
      const claims = { sub: attacker.user.id, sid: claimsOf(attacker.token!).sid, role: 'user' };
      const client = new ApiClient(base);
      client.token = forge(claims, secret);
      expect((await client.get('/api/v1/auth/me')).status).toBe(200); // the claims are good…
      for (const alg of ['HS384', 'HS512'] as const) {
        client.token = forge(claims, secret, alg);
        expect([alg, (await client.get('/api/v1/auth/me')).status]).toEqual([alg, 401]);
      }
      const [, payload] = forge(claims, secret).split('.');
      client.token = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
      expect((await client.get('/api/v1/auth/me')).status).toBe(401);
    });

    it('the role is the user\'s, not the token\'s claim', async () => {
      const { sid } = claimsOf(attacker.token!);
      const escalated = new ApiClient(base);
      escalated.token = forge({ sub: attacker.user.id, sid, role: 'admin' }, secret);
      expect((await escalated.get('/api/v1/auth/me')).status).toBe(200); // a valid token of a live session…
      expect((await escalated.get('/api/v1/admin/users')).body).toMatchObject({ status: 403, code: 'ADMIN_ONLY' }); // …of a user
      const stream = await SseStream.open(base, escalated.token);
      expect(stream.status).toBe(200);
      await victim.post('/api/v1/jobs', job("the victim's"));
      const mine = (await attacker.post('/api/v1/jobs', job("the attacker's"))).body;
      const events = await stream.waitFor((got) => got.some((e) => e.data.subject === mine.id && e.event === 'chronos.job.completed'));
      stream.close();
      expect(events.length).toBeGreaterThan(0);
      expect(events.filter((e) => e.data.subject !== mine.id)).toEqual([]);
    });
  });
});

describe('a JWT secret beyond ASCII', () => {
  // The key is prepared once from the secret's bytes: they must be its UTF-8, as any HS256 implementation takes them.
  const secret = `sécret-ключ-秘密-🔑-${randomUUID()}`;
  let chronos: ChronosApp;
  afterAll(() => chronos?.close());

  it('signs tokens that verify as HS256 over its UTF-8 bytes, and accepts those', async () => {
    await resetStack();
    chronos = await startTestChronos({ JWT_SECRET: secret });
    const base = `http://127.0.0.1:${chronos.port}`;
    const user = await new ApiClient(base).signUp();
    const [header, payload, signature] = user.token!.split('.');
    expect(createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${header}.${payload}`).digest('base64url')).toBe(signature);
    const forged = new ApiClient(base);
    forged.token = forge({ sub: user.user.id, sid: claimsOf(user.token!).sid, role: 'user' }, secret);
    expect((await forged.get('/api/v1/auth/me')).body).toMatchObject({ id: user.user.id });
    forged.token = forge({ sub: user.user.id, sid: claimsOf(user.token!).sid, role: 'user' }, secret.normalize('NFD'));
    expect((await forged.get('/api/v1/auth/me')).status).toBe(401);
  });
});

describe('sessions and roles take effect at once', () => {
  let chronos: ChronosApp;
  let base: string;
  let admin: ApiClient;

  beforeAll(async () => {
    await resetStack();
    // A cache that would hold for 10 minutes: whatever takes effect here does so because it was announced.
    chronos = await startTestChronos({ CHRONOS_ADMIN_EMAIL: ADMIN.email, CHRONOS_ADMIN_PASSWORD: ADMIN.password, AUTH_SESSION_CACHE_MS: '600000' });
    base = `http://127.0.0.1:${chronos.port}`;
    admin = new ApiClient(base);
    await admin.signIn(ADMIN.email, ADMIN.password);
  });
  afterAll(() => chronos?.close());

  const setRole = async (user: ApiClient, role: string) => expect((await admin.request('PATCH', `/api/v1/admin/users/${user.user.id}`, { role })).status).toBe(200);

  it('a demoted admin loses admin on the next request, with the same token', async () => {
    const user = await new ApiClient(base).signUp();
    expect((await user.get('/api/v1/admin/users')).status).toBe(403);
    await setRole(user, 'admin');
    expect((await user.get('/api/v1/admin/users')).status).toBe(200); // cached as admin now
    await setRole(user, 'user');
    expect((await user.get('/api/v1/admin/users')).body).toMatchObject({ status: 403, code: 'ADMIN_ONLY' });
    // and another admin's jobs are no longer visible
    const adminsJob = (await admin.post('/api/v1/jobs', job("an admin's job"))).body;
    expect((await user.get(`/api/v1/jobs/${adminsJob.id}`)).status).toBe(404);
  });

  it('an open event stream ends at logout, and the token opens no other', async () => {
    const user = await new ApiClient(base).signUp();
    const token = user.token!;
    const stream = await SseStream.open(base, token);
    expect(stream.status).toBe(200);
    expect((await user.post('/api/v1/auth/logout')).status).toBe(204);
    await stream.ended;
    expect(stream.comments).toContain('closed: the session ended');
    expect((await SseStream.open(base, token)).status).toBe(401);
  });

  it('an open event stream ends when the session is revoked (a refresh token reused)', async () => {
    const user = await new ApiClient(base).signUp();
    const stream = await SseStream.open(base, user.token!);
    const first = user.refreshToken;
    expect((await user.post('/api/v1/auth/refresh', { refreshToken: first })).status).toBe(200);
    expect((await user.post('/api/v1/auth/refresh', { refreshToken: first })).body.code).toBe('REFRESH_TOKEN_REUSED');
    await stream.ended;
    expect(stream.comments).toContain('closed: the session ended');
  });

  it("a demoted admin's open stream ends; reconnected, it carries only their own jobs' events", async () => {
    const user = await new ApiClient(base).signUp();
    await setRole(user, 'admin');
    const asAdmin = await SseStream.open(base, user.token!);
    expect(asAdmin.status).toBe(200);
    const before = (await admin.post('/api/v1/jobs', job('seen while admin'))).body;
    await asAdmin.waitFor((events) => events.some((e) => e.data.subject === before.id));
    expect(asAdmin.events.some((e) => e.data.subject === before.id)).toBe(true);

    await setRole(user, 'user');
    await asAdmin.ended;
    expect(asAdmin.comments).toContain('closed: the role changed');

    const asUser = await SseStream.open(base, user.token!);
    expect(asUser.status).toBe(200);
    await admin.post('/api/v1/jobs', job('not for a user any more'));
    const own = (await user.post('/api/v1/jobs', job('their own'))).body;
    await asUser.waitFor((events) => events.some((e) => e.data.subject === own.id && e.event === 'chronos.job.completed'));
    asUser.close();
    expect(asUser.events.some((e) => e.data.subject === own.id)).toBe(true);
    expect(asUser.events.filter((e) => e.data.subject !== own.id)).toEqual([]);
  });
});

describe('across API processes', () => {
  let first: ChronosApp;
  let second: ChronosApp;
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('a logout or a demotion answered by one process holds in the other, its open streams closed', async () => {
    await resetStack();
    const env = { CHRONOS_ADMIN_EMAIL: ADMIN.email, CHRONOS_ADMIN_PASSWORD: ADMIN.password, AUTH_SESSION_CACHE_MS: '600000' };
    first = await startTestChronos(env);
    second = await startTestChronos({ ...env, CHRONOS_ROLES: 'api', CHRONOS_INSTANCE_ID: 'second-api' });
    const [one, two] = [`http://127.0.0.1:${first.port}`, `http://127.0.0.1:${second.port}`];
    const admin = new ApiClient(one);
    await admin.signIn(ADMIN.email, ADMIN.password);
    const user = await new ApiClient(one).signUp();
    await admin.request('PATCH', `/api/v1/admin/users/${user.user.id}`, { role: 'admin' });
    const atSecond = new ApiClient(two);
    atSecond.keep({ accessToken: user.token, refreshToken: user.refreshToken, user: user.user });
    expect((await atSecond.get('/api/v1/admin/users')).status).toBe(200); // the second process caches it as admin

    // What the second process hears (it is told; it does not wait for its cache to expire).
    const heard: Json[] = [];
    second.app.get(SessionCache).onChange((change) => heard.push(change));
    const stream = await SseStream.open(two, user.token!);
    expect(stream.status).toBe(200);
    await admin.request('PATCH', `/api/v1/admin/users/${user.user.id}`, { role: 'user' });
    await waitFor(() => heard.some((change) => change.userId === user.user.id), 10_000, 'the role change to reach the second process');
    expect((await atSecond.get('/api/v1/admin/users')).status).toBe(403);
    await stream.ended;
    expect(stream.comments).toContain('closed: the role changed');

    const again = await SseStream.open(two, user.token!);
    expect(again.status).toBe(200);
    expect((await user.post('/api/v1/auth/logout')).status).toBe(204); // answered by the first process
    await waitFor(() => heard.some((change) => change.sessionId === claimsOf(user.token!).sid), 10_000, 'the logout to reach the second process');
    expect((await atSecond.get('/api/v1/auth/me')).status).toBe(401);
    await again.ended;
    expect(again.comments).toContain('closed: the session ended');
  });
});

describe('an event stream outlives no token', () => {
  let chronos: ChronosApp;
  afterAll(() => chronos?.close());

  it('ends when the access token expires', async () => {
    await resetStack();
    chronos = await startTestChronos({ JWT_ACCESS_TTL: '3' });
    const base = `http://127.0.0.1:${chronos.port}`;
    // A token of 3 s may expire before a busy machine opens the stream: then sign in again and retry.
    let stream: SseStream | undefined;
    let exp = 0;
    for (let attempt = 0; attempt < 5 && stream?.status !== 200; attempt++) {
      const user = await new ApiClient(base).signUp();
      exp = claimsOf(user.token!).exp;
      stream = await SseStream.open(base, user.token!);
    }
    expect(stream!.status).toBe(200);
    await stream!.ended;
    expect(stream!.comments).toContain('closed: the access token expired');
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
  });
});
