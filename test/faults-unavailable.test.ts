import { startChronosProcess, stopAllProcesses } from './support/processes.js';
import { testServices } from './support/services.js';
import { ApiClient, resetStack, sleep, type Json } from './support/stack.js';

/** An answer, or none within this: a hang (a generous bound, so that a slow machine does not count as one). */
const HANG_MS = 60_000;

interface Answer {
  status: number | 'hang';
  retryAfter: string | null;
  body: Json;
}

/**
 * While NATS or PostgreSQL is away (kill -9), the API answers: 2xx where it can do without the missing server,
 * else 503 problem+json with Retry-After and code SERVICE_UNAVAILABLE, never a 500 and never a hang. Before
 * the change such a request was answered 500 INTERNAL_ERROR (a NATS request timeout, ECONNREFUSED from pg).
 */
describe('the API while a service it needs is away', () => {
  let client: ApiClient;
  let jobId: string;

  beforeAll(async () => {
    await resetStack();
    const chronos = await startChronosProcess('unavailable', {}, 60_000);
    client = await new ApiClient(`http://127.0.0.1:${chronos.logged('chronos started')!.json.port}`).signUp();
    jobId = (await client.post('/api/v1/jobs', job())).body.id;
  }, 120_000);
  afterAll(async () => {
    for (const service of ['nats', 'postgres'] as const) await testServices.start(service).catch(() => undefined);
    await stopAllProcesses();
  }, 120_000);

  const job = () => ({ name: 'later', type: 'http', payload: { url: 'http://127.0.0.1:9/none' }, schedule: { kind: 'at', runAt: new Date(Date.now() + 3_600_000).toISOString() } });

  async function ask(method: string, path: string, body?: unknown): Promise<Answer> {
    try {
      const response = await fetch(`${client.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${client.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(HANG_MS),
      });
      const text = await response.text();
      return { status: response.status, retryAfter: response.headers.get('retry-after'), body: text ? JSON.parse(text) : undefined };
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') return { status: 'hang', retryAfter: null, body: undefined };
      throw error;
    }
  }

  /** Asks until the answer is a 503; every answer before it must be a 2xx. */
  async function untilUnavailable(method: string, path: string, body?: () => unknown): Promise<Answer> {
    for (let tries = 0; tries < 100; tries++) {
      const answer = await ask(method, path, body?.());
      if (answer.status === 503) return answer;
      expect(typeof answer.status === 'number' && answer.status < 300).toBe(true);
      await sleep(200);
    }
    throw new Error(`${method} ${path} never answered 503`);
  }

  const expectUnavailable = (answer: Answer) =>
    expect(answer).toMatchObject({ status: 503, retryAfter: expect.stringMatching(/^[1-9]\d*$/), body: { status: 503, code: 'SERVICE_UNAVAILABLE' } });

  it('PostgreSQL away: reads and creates answer 503 with Retry-After, and work again once it is back', async () => {
    await testServices.kill('postgres');
    expectUnavailable(await untilUnavailable('GET', '/api/v1/jobs'));
    expectUnavailable(await untilUnavailable('GET', `/api/v1/jobs/${jobId}/executions`));
    expectUnavailable(await untilUnavailable('POST', '/api/v1/jobs', job));
    await testServices.start('postgres');
    await untilAnswered('GET', '/api/v1/jobs', 200);
    await untilAnswered('POST', '/api/v1/jobs', 201, job);
  }, 300_000);

  it('NATS away: commands (a create) answer 503 with Retry-After, and work again once it is back', async () => {
    await testServices.kill('nats');
    expectUnavailable(await untilUnavailable('POST', '/api/v1/jobs', job));
    // Reads of the read models need only PostgreSQL: lists, and a job by id once it is projected.
    expect(await ask('GET', '/api/v1/jobs')).toMatchObject({ status: 200, body: { items: expect.arrayContaining([expect.objectContaining({ id: jobId })]) } });
    expect(await ask('GET', `/api/v1/jobs/${jobId}`)).toMatchObject({ status: 200, body: { id: jobId } });
    expect(await ask('GET', `/api/v1/jobs/${jobId}/executions`)).toMatchObject({ status: 200 });
    await testServices.start('nats');
    await untilAnswered('POST', '/api/v1/jobs', 201, job);
  }, 300_000);

  /** Asks until the answer is `status` (the service is back); meanwhile only 503 with Retry-After is acceptable. */
  async function untilAnswered(method: string, path: string, status: number, body?: () => unknown): Promise<void> {
    for (let tries = 0; tries < 300; tries++) {
      const answer = await ask(method, path, body?.());
      if (answer.status === status) return;
      expectUnavailable(answer);
      await sleep(500);
    }
    throw new Error(`${method} ${path} never answered ${status} again`);
  }
});
