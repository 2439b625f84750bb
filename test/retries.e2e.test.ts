import { AckPolicy } from '@nats-io/jetstream';
import type { ChronosApp } from '../src/app.js';
import { WORK_STREAM, WORKERS_CONSUMER } from '../src/events/streams.js';
import { HttpSink } from './support/http-sink.js';
import { ApiClient, resetStack, sleep, startTestChronos, startWithUser, waitFor } from './support/stack.js';

/** Retries, timeouts and dead letters, end to end over HTTP against a local sink. */
describe('retries and dead letters', () => {
  let chronos: ChronosApp;
  let client: ApiClient;
  let sink: HttpSink;

  beforeAll(async () => {
    sink = await new HttpSink().start();
    ({ chronos, client } = await startWithUser());
  });
  afterAll(async () => {
    await chronos?.close();
    await sink?.stop();
  });

  const fastRetries = (maxAttempts: number) => ({ maxAttempts, backoff: 'exponential', delayMs: 200, maxDelayMs: 1000, jitter: true });
  const httpJob = async (path: string, maxAttempts: number, extra: Record<string, unknown> = {}) => {
    const res = await client.post('/api/v1/jobs', { name: path, type: 'http', payload: { url: sink.url(path) }, schedule: { kind: 'immediate' }, retryPolicy: fastRetries(maxAttempts), ...extra });
    expect(res.status).toBe(201);
    return res.body;
  };
  const deadLetterOf = (jobId: string) =>
    waitFor(async () => {
      const items = (await client.get('/api/v1/dead-letters?limit=100')).body.items as { jobId: string }[];
      return items.find((d) => d.jobId === jobId);
    }, 15_000, 'the dead letter');

  it('a target answering 500 gets exactly maxAttempts requests with one Idempotency-Key, then one dead letter, and the job fails', async () => {
    sink.status = 500;
    const job = await httpJob('/down', 3);
    const deadLetter = (await deadLetterOf(job.id)) as Record<string, unknown>;
    await sleep(600); // no fourth attempt comes
    const requests = sink.to('/down');
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((r) => r.headers['idempotency-key'])).size).toBe(1);
    expect(requests.map((r) => r.headers['x-chronos-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(requests.map((r) => r.headers['x-chronos-execution-id'])).size).toBe(3);
    expect(deadLetter).toMatchObject({ attempts: 3, lastError: 'unexpected status 500', reason: 'attempts_exhausted' });
    await waitFor(async () => (await client.get(`/api/v1/jobs/${job.id}`)).body.status === 'failed', 5000, 'the job failed');

    const executions = (await client.get(`/api/v1/jobs/${job.id}/executions`)).body.items as { attempt: number; trigger: string; status: string }[];
    expect(executions.map((e) => [e.attempt, e.trigger, e.status])).toEqual([
      [3, 'retry', 'failed'],
      [2, 'retry', 'failed'],
      [1, 'schedule', 'failed'],
    ]);
    const events = (await client.get(`/api/v1/jobs/${job.id}/events?limit=100`)).body.items as { type: string; correlationId: string }[];
    const history = events.map((e) => e.type);
    expect(history.filter((t: string) => t === 'RetryScheduled')).toHaveLength(2);
    // The retries the scheduler fired carry on the creating request's correlation: one id follows every attempt.
    expect(new Set(events.map((e) => e.correlationId))).toEqual(new Set([events[0]!.correlationId]));
    expect(history.filter((t: string) => t === 'ExecutionDeadLettered')).toHaveLength(1);

    // Retrying the dead letter runs the fire again, attempts counted afresh; this time the target is up.
    sink.status = 200;
    const retried = await client.post(`/api/v1/dead-letters/${deadLetter.id}/retry`);
    expect(retried.status).toBe(202);
    await waitFor(() => sink.to('/down').some((r) => r.headers['x-chronos-execution-id'] === retried.body.executionId), 10_000, 'the retried run');
    expect(sink.to('/down').at(-1)!.headers['x-chronos-attempt']).toBe('1');
    expect(sink.to('/down').at(-1)!.headers['idempotency-key']).toBe(requests[0]!.headers['idempotency-key']);
    await waitFor(async () => (await client.get(`/api/v1/jobs/${job.id}`)).body.status === 'completed', 5000, 'the job completed');
    await waitFor(async () => !(await client.get('/api/v1/dead-letters')).body.items.some((d: { id: string }) => d.id === deadLetter.id), 5000, 'the dead letter gone');
    expect((await client.post(`/api/v1/dead-letters/${deadLetter.id}/retry`)).body).toMatchObject({ status: 404, code: 'DEAD_LETTER_NOT_FOUND' });
  });

  it('a 4xx skips the remaining attempts, and the dead letter says why; it can be discarded', async () => {
    sink.status = 404;
    const job = await httpJob('/gone', 5);
    const deadLetter = (await deadLetterOf(job.id)) as Record<string, unknown>;
    sink.status = 200;
    expect(sink.to('/gone')).toHaveLength(1);
    expect(deadLetter).toMatchObject({ attempts: 1, reason: 'not_retryable', lastError: 'unexpected status 404 (not retryable)' });
    expect((await client.request('DELETE', `/api/v1/dead-letters/${deadLetter.id}`)).status).toBe(204);
    await waitFor(async () => (await client.get('/api/v1/dead-letters')).body.items.every((d: { id: string }) => d.id !== deadLetter.id), 5000);
    // Another user sees none of it.
    const stranger = await new ApiClient(client.base).signUp();
    expect((await stranger.get('/api/v1/dead-letters')).body.total).toBe(0);
  });

  it('a timeout is a failed attempt, retried like any other', async () => {
    const res = await client.post('/api/v1/jobs', {
      name: 'slow',
      type: 'custom',
      payload: { handler: 'sleep', data: { ms: 5000 } },
      schedule: { kind: 'immediate' },
      timeoutMs: 200,
      retryPolicy: fastRetries(2),
    });
    const deadLetter = (await deadLetterOf(res.body.id)) as Record<string, unknown>;
    expect(deadLetter).toMatchObject({ attempts: 2, reason: 'attempts_exhausted', lastError: 'timed out after 200 ms' });
    const statuses = (await client.get(`/api/v1/jobs/${res.body.id}/executions`)).body.items.map((e: { status: string }) => e.status);
    expect(statuses).toEqual(['timed_out', 'timed_out']);
  });
});

describe('work that is never completed', () => {
  let chronos: ChronosApp;
  afterAll(() => chronos?.close());

  it('becomes a dead letter after max_deliver deliveries, not a silent drop', async () => {
    await resetStack();
    // No worker role: the test takes the work itself and never acknowledges it, like a worker that dies every time.
    chronos = await startTestChronos({ CHRONOS_ROLES: 'api,scheduler,projector' });
    const { jsm, js } = chronos.infra.nats;
    await jsm.consumers.add(WORK_STREAM, { durable_name: WORKERS_CONSUMER, filter_subject: 'chronos.work.>', ack_policy: AckPolicy.Explicit, ack_wait: 1_000_000_000, max_deliver: 2 });
    const client = await new ApiClient(`http://127.0.0.1:${chronos.port}`).signUp();
    const job = (await client.post('/api/v1/jobs', { name: 'doomed', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'immediate' } })).body;
    const consumer = await js.consumers.get(WORK_STREAM, WORKERS_CONSUMER);
    for (let delivery = 1; delivery <= 2; delivery++) {
      const message = await waitFor(() => consumer.next({ expires: 2000 }), 10_000, `delivery ${delivery}`);
      expect(message.info.deliveryCount).toBe(delivery);
    }
    // Workers keep pulling; the server gives up on the item (and says so) when it would deliver it a third time.
    expect(await consumer.next({ expires: 3000 })).toBeNull();
    const deadLetter = await waitFor(async () => (await client.get('/api/v1/dead-letters')).body.items[0], 15_000, 'the dead letter');
    expect(deadLetter).toMatchObject({ jobId: job.id, reason: 'max_deliveries', attempts: 1 });
    expect(deadLetter.lastError).toMatch(/delivered 2 times/);
    await waitFor(async () => (await client.get(`/api/v1/jobs/${job.id}`)).body.status === 'failed', 5000, 'the job failed');
    expect((await jsm.streams.info(WORK_STREAM)).state.messages).toBe(0);
  });
});
