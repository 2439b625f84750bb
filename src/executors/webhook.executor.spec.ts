import { executionContext } from '../../test/support/execution-context.js';
import { HttpSink } from '../../test/support/http-sink.js';
import { verifyWebhook } from './webhook-signature.js';
import { ExecutionFailure } from './executor.js';
import { HttpExecutor } from './http.executor.js';
import { parseAllowlist, TargetGuard } from './target-guard.js';
import { WebhookExecutor } from './webhook.executor.js';

/** The runs here are second attempts: the attempt header must say so. */
const secondAttempt = (payload: Record<string, unknown>) => executionContext(payload, { attempt: 2 });

describe('WebhookExecutor', () => {
  let sink: HttpSink;
  const guard = new TargetGuard(parseAllowlist('127.0.0.1/32'));
  const executor = new WebhookExecutor(guard);
  beforeAll(async () => {
    sink = await new HttpSink().start();
  });
  afterAll(() => sink.stop());
  beforeEach(() => {
    sink.requests.length = 0;
    sink.status = 200;
  });

  it('POSTs data as JSON with the idempotency headers and a signature over the exact body', async () => {
    const secret = 'whsec_0123456789';
    const data = { event: 'nightly', count: 3, nested: { ok: true, text: 'é ✓' } };
    const ctx = secondAttempt({ url: sink.url('/hook?token=abc'), data, secret });
    const output = await executor.run(ctx);
    expect(output).toMatchObject({ status: 200, body: '{"ok":true}', bodyTruncated: false, headers: expect.objectContaining({ 'content-type': 'application/json' }) });
    expect(sink.requests).toHaveLength(1);
    const [request] = sink.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/hook?token=abc');
    expect(JSON.parse(request!.body)).toEqual(data);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['idempotency-key']).toBe('job-1:2026-01-01T00:00:00.000Z');
    expect(request!.headers['x-chronos-execution-id']).toBe('exec-1');
    expect(request!.headers['x-chronos-attempt']).toBe('2');
    const verification = verifyWebhook(secret, request!.body, request!.headers['x-chronos-signature']);
    expect(verification).toEqual({ valid: true, timestamp: expect.any(Number) });
    expect(verifyWebhook('another-secret', request!.body, request!.headers['x-chronos-signature'])).toEqual({ valid: false, reason: 'mismatch' });
    // Logs: method, origin and path; no query, no secret, no header values.
    expect(ctx.logged.map((l) => l.message)).toEqual([`POST http://127.0.0.1:${sink.port}/hook`, expect.stringMatching(/^response 200 in \d+ ms$/)]);
    const logText = JSON.stringify(ctx.logged);
    for (const hidden of [secret, 'token=abc', 'abc', request!.headers['x-chronos-signature'] as string]) expect(logText).not.toContain(hidden);
  });

  it('sends no signature without a secret, and null data as "null"', async () => {
    await executor.run(secondAttempt({ url: sink.url(), data: null }));
    expect(sink.requests[0]!.headers['x-chronos-signature']).toBeUndefined();
    expect(sink.requests[0]!.body).toBe('null');
  });

  it('a 4xx is a failure that is not retried, except 408 and 429; a 5xx is retried', async () => {
    for (const [status, retryable] of [[400, false], [404, false], [410, false], [408, true], [429, true], [500, true], [503, true]] as const) {
      sink.status = status;
      const run = executor.run(secondAttempt({ url: sink.url(), data: {} }));
      await expect(run).rejects.toBeInstanceOf(ExecutionFailure);
      await expect(run).rejects.toMatchObject({ message: `unexpected status ${status}`, retryable, output: { status } });
    }
  });

  it('refuses a target the guard refuses, without retrying', async () => {
    const strict = new WebhookExecutor(new TargetGuard());
    await expect(strict.run(secondAttempt({ url: sink.url(), data: {} }))).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/^target not allowed/) });
    expect(sink.requests).toHaveLength(0);
  });
});

describe('HttpExecutor logs', () => {
  let sink: HttpSink;
  beforeAll(async () => {
    sink = await new HttpSink().start();
  });
  afterAll(() => sink.stop());

  it('logs the request (method, origin, path) and the response, never the query or header values', async () => {
    const executor = new HttpExecutor(new TargetGuard(parseAllowlist('127.0.0.1/32')));
    const ctx = secondAttempt({ url: sink.url('/api/run'), method: 'post', query: { api_key: 'k-123' }, headers: { Authorization: 'Bearer s3cr3t' }, body: { a: 1 } });
    const output = await executor.run(ctx);
    expect(output).toMatchObject({ status: 200 });
    expect(ctx.logged.map((l) => [l.level, l.message])).toEqual([
      ['info', `POST http://127.0.0.1:${sink.port}/api/run`],
      ['info', expect.stringMatching(/^response 200 in \d+ ms$/)],
    ]);
    expect(JSON.stringify(ctx.logged)).not.toMatch(/k-123|s3cr3t/);
    expect(sink.requests[0]!.headers['idempotency-key']).toBe('job-1:2026-01-01T00:00:00.000Z');
  });
});
