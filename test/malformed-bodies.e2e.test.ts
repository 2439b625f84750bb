import type { ChronosApp } from '../src/app.js';
import { ApiClient, resetStack, startTestChronos } from './support/stack.js';

/**
 * A battery of malformed bodies across every write route: each answer is a 4xx problem+json with a stable
 * code, never a 5xx, and nothing is created by it.
 */
describe('malformed bodies never yield a 5xx', () => {
  let chronos: ChronosApp;
  let user: ApiClient;
  let admin: ApiClient;
  let jobId: string;

  const valid = { name: 'v', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'cron', expression: '0 0 1 1 *' } };
  const raw: [string, string][] = [
    ['empty string', ''],
    ['truncated JSON', '{"name": "x"'],
    ['a bare string', '"hello"'],
    ['a number', '42'],
    ['null', 'null'],
    ['true', 'true'],
    ['an array', '[1,2,3]'],
    ['single quotes', "{'name': 'x'}"],
    ['trailing comma', '{"name": "x",}'],
    ['NaN', '{"timeoutMs": NaN}'],
    ['comments', '{"name": "x" /* hi */}'],
    ['binary garbage', '\u0000\u0001\u0002'],
    ['deep nesting', `${'['.repeat(5000)}${']'.repeat(5000)}`],
  ];
  const jobBodies: [string, unknown][] = [
    ['empty object', {}],
    ['name is a number', { ...valid, name: 123 }],
    ['name is empty', { ...valid, name: '' }],
    ['name too long', { ...valid, name: 'x'.repeat(201) }],
    ['name is null', { ...valid, name: null }],
    ['type unknown', { ...valid, type: 'ftp' }],
    ['type is an object', { ...valid, type: { http: true } }],
    ['payload is a string', { ...valid, payload: 'noop' }],
    ['payload is null', { ...valid, payload: null }],
    ['payload is an array', { ...valid, payload: [] }],
    ['custom handler unknown', { ...valid, payload: { handler: 'rm -rf' } }],
    ['http url missing protocol', { ...valid, type: 'http', payload: { url: 'example.com' } }],
    ['http url is ftp', { ...valid, type: 'http', payload: { url: 'ftp://example.com/x' } }],
    ['http method invalid', { ...valid, type: 'http', payload: { url: 'https://93.184.216.34/', method: 'BREW' } }],
    ['http headers not strings', { ...valid, type: 'http', payload: { url: 'https://93.184.216.34/', headers: { a: 1 } } }],
    ['http expectStatus out of range', { ...valid, type: 'http', payload: { url: 'https://93.184.216.34/', expectStatus: 999 } }],
    ['schedule missing', { ...valid, schedule: undefined }],
    ['schedule is a string', { ...valid, schedule: 'daily' }],
    ['schedule kind missing', { ...valid, schedule: { expression: '* * * * *' } }],
    ['schedule kind unknown', { ...valid, schedule: { kind: 'yearly' } }],
    ['cron expression missing', { ...valid, schedule: { kind: 'cron' } }],
    ['cron expression is a number', { ...valid, schedule: { kind: 'cron', expression: 5 } }],
    ['cron with 7 fields', { ...valid, schedule: { kind: 'cron', expression: '* * * * * * *' } }],
    ['cron out of range', { ...valid, schedule: { kind: 'cron', expression: '0 25 * * *' } }],
    ['cron timezone unknown', { ...valid, schedule: { kind: 'cron', expression: '0 9 * * *', timezone: 'Atlantis/Capital' } }],
    ['at without runAt', { ...valid, schedule: { kind: 'at' } }],
    ['at with a bad date', { ...valid, schedule: { kind: 'at', runAt: 'tomorrow' } }],
    ['interval zero', { ...valid, schedule: { kind: 'interval', everyMs: 0 } }],
    ['interval negative', { ...valid, schedule: { kind: 'interval', everyMs: -1000 } }],
    ['interval fractional', { ...valid, schedule: { kind: 'interval', everyMs: 1500.5 } }],
    ['interval huge', { ...valid, schedule: { kind: 'interval', everyMs: 1e20 } }],
    ['retryPolicy is a number', { ...valid, retryPolicy: 3 }],
    ['retry maxAttempts zero', { ...valid, retryPolicy: { maxAttempts: 0 } }],
    ['retry backoff unknown', { ...valid, retryPolicy: { backoff: 'random' } }],
    ['retry unknown field', { ...valid, retryPolicy: { tries: 3 } }],
    ['timeoutMs negative', { ...valid, timeoutMs: -5 }],
    ['timeoutMs a string', { ...valid, timeoutMs: '30s' }],
    ['concurrencyPolicy unknown', { ...valid, concurrencyPolicy: 'sometimes' }],
    ['misfirePolicy unknown', { ...valid, misfirePolicy: 'ignore' }],
    ['notifications email invalid', { ...valid, notifications: { email: 'not-an-email' } }],
    ['notifications unknown field', { ...valid, notifications: { sms: '+123' } }],
    ['labels not strings', { ...valid, labels: { team: 5 } }],
    ['labels an array', { ...valid, labels: ['a'] }],
    ['unknown top-level field', { ...valid, owner: 'me' }],
    ['prototype pollution', JSON.parse('{"__proto__": {"admin": true}, "name": "x"}')],
    ['unknown field in schedule', { ...valid, schedule: { kind: 'immediate', at: 'now' } }],
  ];

  beforeAll(async () => {
    await resetStack();
    chronos = await startTestChronos({ CHRONOS_ADMIN_EMAIL: 'admin@example.com', CHRONOS_ADMIN_PASSWORD: 'Adm1nPassword' });
    const base = `http://127.0.0.1:${chronos.port}`;
    user = await new ApiClient(base).signUp();
    admin = new ApiClient(base);
    await admin.signIn('admin@example.com', 'Adm1nPassword');
    jobId = (await user.post('/api/v1/jobs', valid)).body.id;
  });
  afterAll(() => chronos?.close());

  const expectProblem = (res: { status: number; headers: Headers; body: { code?: unknown; status?: unknown } }, what: string) => {
    expect([what, res.status >= 400 && res.status < 500]).toEqual([what, true]);
    expect([what, res.headers.get('content-type')]).toEqual([what, expect.stringMatching(/^application\/problem\+json/)]);
    expect([what, typeof res.body.code === 'string' && /^[A-Z_]+$/.test(res.body.code)]).toEqual([what, true]);
    expect(res.body.status).toBe(res.status);
  };

  it(`POST /jobs: ${jobBodies.length} malformed bodies`, async () => {
    for (const [what, body] of jobBodies) expectProblem(await user.post('/api/v1/jobs', body), what);
    expect((await user.get('/api/v1/jobs')).body.total).toBeLessThanOrEqual(1);
  });

  it(`${raw.length} bodies that are not JSON objects, on every write route`, async () => {
    const routes: [string, string, ApiClient][] = [
      ['POST', '/api/v1/jobs', user],
      ['PATCH', `/api/v1/jobs/${jobId}`, user],
      ['PUT', `/api/v1/jobs/${jobId}`, user],
      ['POST', `/api/v1/jobs/${jobId}/pause`, user],
      ['POST', `/api/v1/jobs/${jobId}/reschedule`, user],
      ['POST', '/api/v1/auth/register', user],
      ['POST', '/api/v1/auth/login', user],
      ['POST', '/api/v1/auth/refresh', user],
      ['PATCH', `/api/v1/admin/users/${user.user.id}`, admin],
    ];
    for (const [method, path, client] of routes) {
      for (const [what, body] of raw) {
        const res = await client.request(method, path, body, { 'content-type': 'application/json' });
        // An empty body is no body: routes whose fields are all optional accept it.
        if (what === 'empty string' && res.status < 300) continue;
        expectProblem(res, `${method} ${path} with ${what}`);
      }
    }
  });

  it('PATCH, PUT, actions, auth and admin routes with malformed fields', async () => {
    const cases: [string, string, unknown, ApiClient][] = [
      ['PATCH', `/api/v1/jobs/${jobId}`, { name: 5 }, user],
      ['PATCH', `/api/v1/jobs/${jobId}`, { schedule: { kind: 'cron', expression: 'nope' } }, user],
      ['PATCH', `/api/v1/jobs/${jobId}`, { type: 'http' }, user],
      ['PATCH', `/api/v1/jobs/${jobId}`, { bogus: true }, user],
      ['PATCH', `/api/v1/jobs/${jobId}`, { retryPolicy: { maxAttempts: 'many' } }, user],
      ['PUT', `/api/v1/jobs/${jobId}`, { name: 'only a name' }, user],
      ['POST', `/api/v1/jobs/${jobId}/pause`, { note: 42 }, user],
      ['POST', `/api/v1/jobs/${jobId}/pause`, { note: 'x'.repeat(501) }, user],
      ['POST', `/api/v1/jobs/${jobId}/resume`, { force: true }, user],
      ['POST', `/api/v1/jobs/${jobId}/trigger`, { now: true }, user],
      ['POST', `/api/v1/jobs/${jobId}/reschedule`, {}, user],
      ['POST', `/api/v1/jobs/${jobId}/reschedule`, { schedule: { kind: 'interval', everyMs: 'fast' } }, user],
      ['POST', '/api/v1/auth/register', { email: 'not-an-email', password: 'Passw0rd!' }, user],
      ['POST', '/api/v1/auth/register', { email: 'a@b.co', password: 'short1A' }, user],
      ['POST', '/api/v1/auth/register', { email: 'a@b.co', password: 'Passw0rd!', role: 'admin' }, user],
      ['POST', '/api/v1/auth/login', { email: 'a@b.co' }, user],
      ['POST', '/api/v1/auth/login', { email: ['a@b.co'], password: 'x' }, user],
      ['POST', '/api/v1/auth/refresh', {}, user],
      ['POST', '/api/v1/auth/refresh', { refreshToken: 12345 }, user],
      ['PATCH', `/api/v1/admin/users/${user.user.id}`, { role: 'superuser' }, admin],
      ['PATCH', '/api/v1/admin/users/not-a-uuid', { role: 'user' }, admin],
      ['PATCH', `/api/v1/jobs/${jobId}`, { name: 'x' }, user],
    ];
    for (const [method, path, body, client] of cases.slice(0, -1)) expectProblem(await client.request(method, path, body), `${method} ${path} ${JSON.stringify(body).slice(0, 60)}`);
    // If-Match that is not an ETag
    expectProblem(await user.request('PATCH', `/api/v1/jobs/${jobId}`, { name: 'x' }, { 'if-match': 'yesterday' }), 'bad If-Match');
    // A body far over the size limit
    expectProblem(await user.post('/api/v1/jobs', { ...valid, description: 'x'.repeat(300_000) }), 'too large');
    // A body that is not JSON at all
    expectProblem(await user.request('POST', '/api/v1/jobs', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' }), 'form encoded');
    const unchanged = await user.get(`/api/v1/jobs/${jobId}`);
    // Empty bodies are no bodies, so the pause and the update they asked for happened; nothing malformed got through.
    expect(unchanged.body).toMatchObject({ name: 'v', labels: {}, timeoutMs: 30000 });
  });
});
