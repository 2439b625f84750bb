import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChronosApp } from '../src/app.js';
import { SmtpSink } from './support/smtp-sink.js';
import { ApiClient, resetStack, startTestChronos, waitFor, type Json } from './support/stack.js';

/**
 * The job types end to end through the API, on a real stack: script (admins only, allow-listed, clean
 * environment, output in the execution's log), webhook (signed; the receiver checks the signature with its
 * own code), email (received by a local SMTP server).
 */

/** A webhook receiver that checks X-Chronos-Signature itself (HMAC recomputed here, not with Chronos's helper). */
class VerifyingReceiver {
  readonly received: { headers: IncomingHttpHeaders; body: string; verdict: string }[] = [];
  private server: Server | undefined;
  port = 0;

  constructor(private readonly secret: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const verdict = this.verify(String(req.headers['x-chronos-signature'] ?? ''), body);
        this.received.push({ headers: req.headers, body, verdict });
        res.writeHead(verdict === 'valid' ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify({ verdict }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  private verify(header: string, body: string): string {
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
    if (!match) return 'malformed';
    const [, t, v1] = match;
    if (Math.abs(Date.now() / 1000 - Number(t)) > 300) return 'expired';
    const expected = createHmac('sha256', this.secret).update(`${t}.${body}`).digest();
    return timingSafeEqual(expected, Buffer.from(v1!, 'hex')) ? 'valid' : 'mismatch';
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe('job types', () => {
  const ADMIN_EMAIL = 'admin@jobtypes.example.com';
  const ADMIN_PASSWORD = 'Adm1nPassw0rd!';
  const WEBHOOK_SECRET = 'whsec_job-types-e2e-0123456789';
  let chronos: ChronosApp | undefined;
  let smtp: SmtpSink;
  let receiver: VerifyingReceiver;
  let admin: ApiClient;
  let user: ApiClient;

  beforeAll(async () => {
    await resetStack();
    smtp = await new SmtpSink().start();
    receiver = await new VerifyingReceiver(WEBHOOK_SECRET).start();
    chronos = await startTestChronos({
      CHRONOS_ADMIN_EMAIL: ADMIN_EMAIL,
      CHRONOS_ADMIN_PASSWORD: ADMIN_PASSWORD,
      CHRONOS_SCRIPT_ALLOWLIST: '/bin/sh,env',
      SMTP_URL: smtp.url,
      // Must not reach a script.
      JWT_SECRET: 'job-types-jwt-secret-that-must-never-reach-a-script-0123',
    });
    const base = `http://127.0.0.1:${chronos.port}`;
    admin = new ApiClient(base);
    expect((await admin.signIn(ADMIN_EMAIL, ADMIN_PASSWORD)).status).toBe(200);
    expect(admin.user.role).toBe('admin');
    user = await new ApiClient(base).signUp();
  });
  afterAll(async () => {
    await chronos?.close();
    await smtp?.stop();
    await receiver?.stop();
  });

  const TERMINAL = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'];

  /** Creates a one-off job as `client` and waits for its executions to settle (`count` of them). */
  async function run(client: ApiClient, body: Record<string, unknown>, count = 1): Promise<{ job: Json; executions: Json[] }> {
    const created = await client.post('/api/v1/jobs', { name: `job-types ${body.type}`, schedule: { kind: 'immediate' }, ...body });
    expect(created.status).toBe(201);
    const job = created.body;
    const executions = await waitFor(async () => {
      const items: Json[] = (await client.get(`/api/v1/jobs/${job.id}/executions`)).body.items;
      return items.length >= count && items.every((e) => TERMINAL.includes(e.status)) && items;
    }, 20_000, `${count} settled executions of job ${job.id}`);
    return { job, executions };
  }

  async function logsOf(client: ApiClient, executionId: string): Promise<Json[]> {
    return waitFor(async () => {
      const res = await client.get(`/api/v1/executions/${executionId}/logs?limit=100`);
      // The final line ("succeeded in …" / "failed: …") comes last: wait for it.
      return res.status === 200 && res.body.items.some((e: Json) => /^(succeeded|failed|timed_out)/.test(e.message)) && res.body.items;
    }, 10_000, `the log of execution ${executionId}`);
  }

  describe('script', () => {
    it('an admin runs a script: output recorded, stdout/stderr lines in the log', async () => {
      const { executions } = await run(admin, {
        type: 'script',
        payload: {
          command: '/bin/sh',
          args: ['-c', 'echo "hello from a script"; test "$GREETING" = "bonjour" && echo greeting-ok; pwd; echo "careful" >&2'],
          env: { GREETING: 'bonjour' },
          cwd: '/tmp',
        },
      });
      const [execution] = executions;
      expect(execution).toMatchObject({ status: 'succeeded', error: null, output: { exitCode: 0, signal: null, stdoutBytes: 37, stderrBytes: 8, truncated: false } });

      const logs = await logsOf(admin, execution.id);
      // Each line carries its number within its stream (entries logged within the same millisecond may be
      // listed in any order by the logs API, which orders by timestamp then id).
      const stream = (name: string) =>
        logs
          .filter((e) => e.metadata?.stream === name)
          .sort((a, b) => a.metadata.line - b.metadata.line)
          .map((e) => [e.level, e.message]);
      expect(stream('stdout')).toEqual([
        ['info', 'hello from a script'],
        ['info', 'greeting-ok'],
        ['info', '/tmp'],
      ]);
      expect(stream('stderr')).toEqual([['warn', 'careful']]);
      expect(logs.map((e) => e.message)).toEqual(expect.arrayContaining(['running /bin/sh with 2 arguments', expect.stringMatching(/^exited with code 0 in \d+ ms$/)]));
    });

    it('runs in a clean environment: PATH and the job env only, nothing of Chronos (JWT_SECRET, DATABASE_URL, …)', async () => {
      // `env` is allow-listed by its bare name (resolved on PATH at start-up).
      const { executions } = await run(admin, { type: 'script', payload: { command: 'env', env: { GREETING: 'bonjour' } } });
      const [execution] = executions;
      expect(execution).toMatchObject({ status: 'succeeded', output: { exitCode: 0 } });
      const logs = await logsOf(admin, execution.id);
      const variables = logs.filter((e) => e.metadata?.stream === 'stdout').map((e) => String(e.message).split('=')[0]);
      expect(variables.sort()).toEqual(['GREETING', 'PATH']);
      expect(logs.find((e) => String(e.message).startsWith('PATH='))?.message).toBe('PATH=/usr/local/bin:/usr/bin:/bin');
      expect(JSON.stringify(logs)).not.toMatch(/job-types-jwt-secret|DATABASE_URL|JWT_SECRET|chronos:chronos/);
    });

    it('a non-zero exit fails with the exit code; a run past its timeout kills the script and is timed out', async () => {
      const failed = await run(admin, { type: 'script', payload: { command: '/bin/sh', args: ['-c', 'echo "no space left" >&2; exit 4'] }, retryPolicy: { maxAttempts: 1 } });
      expect(failed.executions[0]).toMatchObject({ status: 'failed', error: 'exited with code 4: no space left', output: { exitCode: 4 } });

      const slow = await run(admin, { type: 'script', payload: { command: '/bin/sh', args: ['-c', 'sleep 30 & wait'] }, timeoutMs: 500, retryPolicy: { maxAttempts: 1 } });
      expect(slow.executions[0]).toMatchObject({ status: 'timed_out' });
      expect(slow.executions[0].durationMs).toBeLessThan(5000);
    });

    it('is refused to a user (403), and for a command not on CHRONOS_SCRIPT_ALLOWLIST (422)', async () => {
      const forbidden = await user.post('/api/v1/jobs', { name: 'not mine', type: 'script', payload: { command: '/bin/sh' }, schedule: { kind: 'immediate' } });
      expect(forbidden.status).toBe(403);
      expect(forbidden.body.code).toBe('SCRIPT_ADMIN_ONLY');

      const notAllowed = await admin.post('/api/v1/jobs', { name: 'bash', type: 'script', payload: { command: '/bin/bash', args: ['-c', 'id'] }, schedule: { kind: 'immediate' } });
      expect(notAllowed.status).toBe(422);
      expect(notAllowed.body).toMatchObject({ code: 'SCRIPT_NOT_ALLOWED', errors: [{ field: 'payload.command', message: expect.stringContaining('not on CHRONOS_SCRIPT_ALLOWLIST') }] });

      const unknownField = await admin.post('/api/v1/jobs', { name: 'shell', type: 'script', payload: { command: '/bin/sh', shell: true }, schedule: { kind: 'immediate' } });
      expect(unknownField.status).toBe(400);
      expect(JSON.stringify(unknownField.body.errors)).toContain('payload.shell');
    });
  });

  describe('webhook', () => {
    it('POSTs the data, signed: the receiver verifies the signature with its own HMAC', async () => {
      const data = { event: 'nightly', items: [1, 2, 3], note: 'é ✓' };
      const { job, executions } = await run(user, { type: 'webhook', payload: { url: receiver.url('/hook?source=chronos'), data, secret: WEBHOOK_SECRET } });
      const [execution] = executions;
      expect(execution).toMatchObject({ status: 'succeeded', output: { status: 200, body: '{"verdict":"valid"}' } });
      const request = receiver.received.find((r) => r.headers['x-chronos-execution-id'] === execution.id)!;
      expect(request.verdict).toBe('valid');
      expect(JSON.parse(request.body)).toEqual(data);
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['idempotency-key']).toBe(`${job.id}:${execution.scheduledAt}`);
      expect(request.headers['x-chronos-attempt']).toBe('1');

      const logs = (await logsOf(user, execution.id)).map((e: Json) => e.message);
      expect(logs).toEqual(expect.arrayContaining([`POST http://127.0.0.1:${receiver.port}/hook`, expect.stringMatching(/^response 200 in \d+ ms$/)]));
      expect(JSON.stringify(logs)).not.toContain(WEBHOOK_SECRET);
    });

    it('a signature the receiver refuses (401) fails without retrying', async () => {
      const { executions } = await run(user, { type: 'webhook', payload: { url: receiver.url(), data: { x: 1 }, secret: 'the-wrong-secret' }, retryPolicy: { maxAttempts: 3, delayMs: 100 } });
      expect(executions).toHaveLength(1);
      expect(executions[0]).toMatchObject({ status: 'failed', error: 'unexpected status 401', output: { status: 401 } });
    });
  });

  describe('email', () => {
    it('sends over SMTP_URL: received by the SMTP server, message id and recipients in the output', async () => {
      const subject = `Nightly report ${Math.random().toString(36).slice(2, 8)}`;
      const { executions } = await run(user, { type: 'email', payload: { to: ['ops@example.com', 'cto@example.com'], subject, text: 'All green.', html: '<p>All <b>green</b>.</p>' } });
      const [execution] = executions;
      expect(execution).toMatchObject({ status: 'succeeded', output: { messageId: expect.stringMatching(/^<.+@chronos>$/), accepted: ['ops@example.com', 'cto@example.com'], rejected: [] } });
      const mail = await waitFor(() => smtp.messages.find((m) => m.subject === subject), 5000, 'the email');
      expect(mail.to).toEqual(['ops@example.com', 'cto@example.com']);
      expect(mail.messageId).toBe(execution.output.messageId);
      expect(mail.raw).toContain('All green.');
    });

    it('refuses a payload without a body, or with too many recipients (400)', async () => {
      const noBody = await user.post('/api/v1/jobs', { name: 'e', type: 'email', payload: { to: 'ops@example.com', subject: 'x' }, schedule: { kind: 'immediate' } });
      expect(noBody.status).toBe(400);
      expect(JSON.stringify(noBody.body.errors)).toContain('text or html is required');
      const many = Array.from({ length: 51 }, (_, i) => `u${i}@example.com`);
      const tooMany = await user.post('/api/v1/jobs', { name: 'e', type: 'email', payload: { to: many, subject: 'x', text: 'y' }, schedule: { kind: 'immediate' } });
      expect(tooMany.status).toBe(400);
    });
  });
});
