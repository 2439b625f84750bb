import type { ChronosApp } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { ApiClient, resetStack, startTestChronos } from './support/stack.js';

const ADMIN = { email: 'root@example.com', password: 'Adm1nPassword' };

describe('authentication, roles and ownership', () => {
  let chronos: ChronosApp;
  let base: string;

  beforeAll(async () => {
    await resetStack();
    chronos = await startTestChronos({ CHRONOS_ADMIN_EMAIL: ADMIN.email, CHRONOS_ADMIN_PASSWORD: ADMIN.password, JWT_ACCESS_TTL: '60' });
    base = `http://127.0.0.1:${chronos.port}`;
  });
  afterAll(() => chronos?.close());

  describe('tokens', () => {
    it('registers, signs in, and answers /auth/me', async () => {
      const client = new ApiClient(base);
      const registered = await client.post('/api/v1/auth/register', { email: 'Ada@Example.com', password: 'Analyt1cal', name: 'Ada' });
      expect(registered.status).toBe(201);
      expect(registered.body).toMatchObject({ user: { email: 'ada@example.com', name: 'Ada', role: 'user' }, expiresIn: 60 });
      expect(registered.body.accessToken.split('.')).toHaveLength(3);
      const login = await client.signIn('ada@example.com', 'Analyt1cal');
      expect(login.status).toBe(200);
      const me = await client.get('/api/v1/auth/me');
      expect(me).toMatchObject({ status: 200, body: { id: registered.body.user.id, email: 'ada@example.com', role: 'user', createdAt: expect.any(String) } });
      expect(me.body.passwordHash).toBeUndefined();
    });

    it('refuses a taken email, a weak password and wrong credentials the same way for unknown emails', async () => {
      const client = new ApiClient(base);
      await client.signUp('taken@example.com');
      expect((await client.post('/api/v1/auth/register', { email: 'taken@example.com', password: 'Passw0rd!' })).body).toMatchObject({ status: 409, code: 'EMAIL_TAKEN' });
      const weak = await client.post('/api/v1/auth/register', { email: 'weak@example.com', password: 'password' });
      expect(weak.status).toBe(400);
      expect(weak.body.errors.map((e: { field: string }) => e.field)).toEqual(['password']);
      const wrongPassword = await client.post('/api/v1/auth/login', { email: 'taken@example.com', password: 'Wrong1234' });
      const unknownEmail = await client.post('/api/v1/auth/login', { email: 'nobody@example.com', password: 'Wrong1234' });
      expect(wrongPassword.status).toBe(401);
      expect(unknownEmail.status).toBe(401);
      expect({ ...unknownEmail.body, instance: undefined }).toEqual({ ...wrongPassword.body, instance: undefined });
      expect(wrongPassword.body.code).toBe('INVALID_CREDENTIALS');
    });

    it('rotates refresh tokens; a reused one revokes the whole session', async () => {
      const client = await new ApiClient(base).signUp();
      const first = client.refreshToken!;
      const rotated = await client.post('/api/v1/auth/refresh', { refreshToken: first });
      expect(rotated.status).toBe(200);
      expect(rotated.body.refreshToken).not.toBe(first);
      const second = rotated.body.refreshToken;
      client.token = rotated.body.accessToken;
      expect((await client.get('/api/v1/auth/me')).status).toBe(200);

      const reuse = await client.post('/api/v1/auth/refresh', { refreshToken: first });
      expect(reuse.body).toMatchObject({ status: 401, code: 'REFRESH_TOKEN_REUSED' });
      // The session is gone: its newest refresh token and its access tokens no longer work.
      expect((await client.post('/api/v1/auth/refresh', { refreshToken: second })).status).toBe(401);
      expect((await client.get('/api/v1/auth/me')).body).toMatchObject({ status: 401, code: 'TOKEN_REVOKED' });
    });

    it('logout rejects the access token from then on, and its refresh token', async () => {
      const client = await new ApiClient(base).signUp();
      const other = await new ApiClient(base).signIn(client.user.email, 'Passw0rd!');
      expect((await client.post('/api/v1/auth/logout')).status).toBe(204);
      const after = await client.get('/api/v1/auth/me');
      expect(after.status).toBe(401);
      expect(after.headers.get('www-authenticate')).toBe('Bearer');
      expect((await client.post('/api/v1/auth/refresh', { refreshToken: client.refreshToken })).status).toBe(401);
      // Another session of the same user is untouched.
      const second = new ApiClient(base);
      second.keep(other.body);
      expect((await second.get('/api/v1/auth/me')).status).toBe(200);
    });

    it('refuses missing, malformed, forged and expired tokens', async () => {
      const client = new ApiClient(base);
      expect((await client.get('/api/v1/jobs')).body).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
      client.token = 'not.a.jwt';
      expect((await client.get('/api/v1/jobs')).status).toBe(401);
      const signed = await new ApiClient(base).signUp();
      const [header, payload] = signed.token!.split('.');
      client.token = `${header}.${payload}.${Buffer.from('forged').toString('base64url')}`;
      expect((await client.get('/api/v1/jobs')).status).toBe(401);
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      client.token = `${header}.${Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url')}.${signed.token!.split('.')[2]}`;
      expect((await client.get('/api/v1/admin/users')).status).toBe(401);
    });

    it('keeps health and the API documents public', async () => {
      const anonymous = new ApiClient(base);
      expect((await anonymous.get('/health')).status).toBe(200);
      expect((await anonymous.get('/docs-json')).status).toBe(200);
    });
  });

  describe('roles', () => {
    it('creates the admin from the environment; /admin is 403 for users', async () => {
      const admin = new ApiClient(base);
      expect((await admin.signIn(ADMIN.email, ADMIN.password)).body.user.role).toBe('admin');
      const user = await new ApiClient(base).signUp();
      expect((await user.get('/api/v1/admin/users')).body).toMatchObject({ status: 403, code: 'ADMIN_ONLY' });
      const users = await admin.get('/api/v1/admin/users?limit=100');
      expect(users.status).toBe(200);
      expect(users.body.items.map((u: { email: string }) => u.email)).toEqual(expect.arrayContaining([ADMIN.email, user.user.email]));

      const promoted = await admin.request('PATCH', `/api/v1/admin/users/${user.user.id}`, { role: 'admin' });
      expect(promoted.body).toMatchObject({ id: user.user.id, role: 'admin' });
      // In effect from the user's next request, with the access token it already holds.
      expect((await user.get('/api/v1/admin/users')).status).toBe(200);
      await admin.request('PATCH', `/api/v1/admin/users/${user.user.id}`, { role: 'user' });
      expect((await user.get('/api/v1/admin/users')).status).toBe(403);
      await admin.request('PATCH', `/api/v1/admin/users/${user.user.id}`, { role: 'admin' });
      expect((await admin.request('PATCH', `/api/v1/admin/users/${user.user.id}`, { role: 'root' })).status).toBe(400);
      expect((await admin.request('PATCH', '/api/v1/admin/users/00000000-0000-4000-8000-000000000000', { role: 'user' })).status).toBe(404);
    });

    it('keeps script jobs for admins', async () => {
      const user = await new ApiClient(base).signUp();
      const res = await user.post('/api/v1/jobs', { name: 's', type: 'script', payload: { command: 'ls' }, schedule: { kind: 'immediate' } });
      expect(res.body).toMatchObject({ status: 403, code: 'SCRIPT_ADMIN_ONLY' });
    });
  });

  describe('ownership', () => {
    it("another user's job is 404 on every route; admins see all", async () => {
      const owner = await new ApiClient(base).signUp();
      const stranger = await new ApiClient(base).signUp();
      const admin = new ApiClient(base);
      await admin.signIn(ADMIN.email, ADMIN.password);
      const job = (await owner.post('/api/v1/jobs', { name: 'mine', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'cron', expression: '0 0 1 1 *' } })).body;
      const triggered = await owner.post(`/api/v1/jobs/${job.id}/trigger`);
      expect(triggered.status).toBe(202);

      const routes: [string, string, unknown?][] = [
        ['GET', `/api/v1/jobs/${job.id}`],
        ['PATCH', `/api/v1/jobs/${job.id}`, { name: 'stolen' }],
        ['PUT', `/api/v1/jobs/${job.id}`, { name: 'stolen', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'immediate' } }],
        ['POST', `/api/v1/jobs/${job.id}/pause`, {}],
        ['POST', `/api/v1/jobs/${job.id}/resume`, {}],
        ['POST', `/api/v1/jobs/${job.id}/cancel`, {}],
        ['POST', `/api/v1/jobs/${job.id}/trigger`, {}],
        ['POST', `/api/v1/jobs/${job.id}/reschedule`, { schedule: { kind: 'immediate' } }],
        ['GET', `/api/v1/jobs/${job.id}/executions`],
        ['GET', `/api/v1/executions/${triggered.body.executionId}`],
        ['DELETE', `/api/v1/jobs/${job.id}`],
      ];
      for (const [method, path, body] of routes) {
        const res = await stranger.request(method, path, body);
        expect([method, path, res.status]).toEqual([method, path, 404]);
        expect(['JOB_NOT_FOUND', 'EXECUTION_NOT_FOUND']).toContain(res.body.code);
      }
      expect((await stranger.get('/api/v1/jobs')).body.total).toBe(0);
      expect((await owner.get(`/api/v1/jobs/${job.id}`)).body.name).toBe('mine');
      expect((await admin.get(`/api/v1/jobs/${job.id}`)).status).toBe(200);
    });
  });

  describe('configuration', () => {
    it('refuses a missing or weak JWT_SECRET outside development', () => {
      const base = { NODE_ENV: 'production' };
      expect(() => loadConfig(base)).toThrow(ConfigError);
      expect(() => loadConfig({ ...base, JWT_SECRET: 'secret' })).toThrow(/too weak/);
      expect(() => loadConfig({ ...base, JWT_SECRET: 'x'.repeat(40) })).not.toThrow();
      expect(() => loadConfig({ NODE_ENV: 'development' })).not.toThrow();
      expect(() => loadConfig({ ...base, JWT_SECRET: 'x'.repeat(40), JWT_ACCESS_TTL: 'soon' })).toThrow(/JWT_ACCESS_TTL/);
    });
  });
});

describe('logout while Redis is unreachable', () => {
  let chronos: ChronosApp;
  afterAll(() => chronos?.close());

  it('still rejects the logged-out token (the session in PostgreSQL answers)', async () => {
    chronos = await startTestChronos({ REDIS_URL: 'redis://127.0.0.1:1', CHRONOS_ROLES: 'api' });
    const client = await new ApiClient(`http://127.0.0.1:${chronos.port}`).signUp();
    expect((await client.get('/api/v1/auth/me')).status).toBe(200);
    expect((await client.post('/api/v1/auth/logout')).status).toBe(204);
    expect((await client.get('/api/v1/auth/me')).status).toBe(401);
  });
});

describe('rate limits in Chronos', () => {
  let chronos: ChronosApp;
  afterAll(() => chronos?.close());

  it('limits each user across the API and each email on sign-in, with RateLimit-* and Retry-After', async () => {
    await resetStack();
    chronos = await startTestChronos({ CHRONOS_ROLES: 'api', RATE_LIMIT_PER_HOUR: '3', AUTH_RATE_LIMIT_PER_EMAIL: '3', AUTH_RATE_LIMIT_PER_IP: '50' });
    const base = `http://127.0.0.1:${chronos.port}`;
    const alice = await new ApiClient(base).signUp();
    const bob = await new ApiClient(base).signUp();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await alice.get('/api/v1/jobs'));
    expect(answers.slice(0, 3).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(answers[0]!.headers.get('ratelimit-limit')).toBe('3');
    expect(answers[2]!.headers.get('ratelimit-remaining')).toBe('0');
    const refused = answers[3]!;
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another user has a quota of their own.
    expect((await bob.get('/api/v1/jobs')).status).toBe(200);

    // Registering counted once against bob's email: two wrong guesses are left before the limit.
    const guesses = [];
    for (let i = 0; i < 3; i++) guesses.push(await new ApiClient(base).post('/api/v1/auth/login', { email: bob.user.email, password: `Wrong${i}pass` }));
    expect(guesses.map((r) => r.status)).toEqual([401, 401, 429]);
    expect(guesses[2]!.body.code).toBe('RATE_LIMITED');
    // Health is never limited.
    for (let i = 0; i < 5; i++) expect((await alice.get('/health')).status).toBe(200);
  });
});
