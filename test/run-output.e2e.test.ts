import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { HttpSink } from './support/http-sink.js';
import { startChronosProcess, stopAllProcesses, type ChronosProcess } from './support/processes.js';
import { ApiClient, resetStack, waitFor, type Json } from './support/stack.js';
import { knownBody, NULL_BODY_STATUSES, sinkAnswer, targetResponseArbitrary, type TargetResponse } from './support/target-responses.js';

/**
 * What a run records of what a target, a script or a body bomb produced, through the real pipeline (a
 * Chronos process, NATS, PostgreSQL): every run reaches a final status with an output in the documented form,
 * the read models stay live for everyone, and reading a body is bounded in memory.
 */
/**
 * An SMTP server whose answers hold what no store can keep: it greets and accepts the envelope's sender,
 * then refuses every recipient with a reply holding a NUL and bytes that are not UTF-8.
 */
class HostileSmtpServer {
  static readonly REFUSAL = Buffer.concat([Buffer.from('550 no\u0000such '), Buffer.from([0xff, 0xfe]), Buffer.from(' user\r\n')]);
  private server: Server | undefined;
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.write('220 hostile ESMTP\r\n');
      let pending = '';
      socket.on('data', (chunk: Buffer) => {
        pending += chunk.toString('latin1');
        for (let end = pending.indexOf('\r\n'); end >= 0; end = pending.indexOf('\r\n')) {
          const command = pending.slice(0, end).toUpperCase();
          pending = pending.slice(end + 2);
          if (command.startsWith('EHLO') || command.startsWith('HELO')) socket.write('250 hostile\r\n');
          else if (command.startsWith('MAIL')) socket.write('250 ok\r\n');
          else if (command.startsWith('RCPT')) socket.write(HostileSmtpServer.REFUSAL);
          else if (command.startsWith('QUIT')) socket.end('221 bye\r\n');
          else socket.write('502 no\r\n');
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe('what a run records', () => {
  const ADMIN = { email: 'runs-admin@example.com', password: 'Adm1n-Passw0rd-runs' };
  const KEPT = 4096;
  const READ_CAP = 1024 * 1024;
  let chronos: ChronosProcess;
  let sink: HttpSink;
  let smtp: HostileSmtpServer;
  let user: ApiClient;
  let admin: ApiClient;
  /** The sink answers each job's path with the response generated for it. */
  const answers = new Map<string, TargetResponse>();

  beforeAll(async () => {
    await resetStack();
    sink = await new HttpSink().start();
    smtp = await new HostileSmtpServer().start();
    sink.answer = (request) => {
      const response = answers.get(request.path);
      return response ? sinkAnswer(response) : { status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from('ok') };
    };
    chronos = await startChronosProcess('runs', {
      CHRONOS_ADMIN_EMAIL: ADMIN.email,
      CHRONOS_ADMIN_PASSWORD: ADMIN.password,
      CHRONOS_SCRIPT_ALLOWLIST: '/bin/sh',
      SMTP_URL: smtp.url,
      NOTIFY_MAX_DELIVERIES: '1',
    });
    const base = `http://127.0.0.1:${chronos.logged('chronos started')!.json.port}`;
    user = await new ApiClient(base).signUp();
    admin = new ApiClient(base);
    expect((await admin.signIn(ADMIN.email, ADMIN.password)).status).toBe(200);
  });
  afterAll(async () => {
    await stopAllProcesses();
    await sink?.stop();
    await smtp?.stop();
  });

  const FINAL = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'];

  /** Creates a one-off job (one attempt, no notifications) and waits for its execution to be recorded final. */
  async function runJob(client: ApiClient, type: string, payload: Json, timeoutMs = 30_000): Promise<Json> {
    const created = await client.post('/api/v1/jobs', {
      name: `runs ${type}`,
      type,
      payload,
      schedule: { kind: 'immediate' },
      retryPolicy: { maxAttempts: 1 },
      notifications: { onFailure: false },
    });
    expect(created.status).toBe(201);
    const [listed] = await waitFor(async () => {
      const items: Json[] = (await client.get(`/api/v1/jobs/${created.body.id}/executions`)).body.items;
      return items.length === 1 && FINAL.includes(items[0].status) && items;
    }, timeoutMs, `the run of job ${created.body.id} recorded as final`);
    const read = await client.get(`/api/v1/executions/${listed.id}`);
    expect(read.status).toBe(200);
    expect(read.body.status).toBe(listed.status);
    return read.body;
  }

  /** Whether `bytes` are UTF-8 without NUL; `partialEnd`: they are a prefix, so a sequence cut at the end is fine. */
  function isText(bytes: Buffer, partialEnd: boolean): boolean {
    if (bytes.includes(0)) return false;
    try {
      new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes, { stream: partialEnd });
      return true;
    } catch {
      return false;
    }
  }

  /** The output is the documented form of what the target sent, as far as that is known. */
  function expectRecorded(response: TargetResponse, execution: Json): void {
    const output = execution.output;
    expect(output.status).toBe(response.status);
    expect(['utf8', 'base64']).toContain(output.bodyEncoding);
    const shown = output.bodyEncoding === 'base64' ? Buffer.from(output.body, 'base64') : Buffer.from(output.body, 'utf8');
    if (output.bodyEncoding === 'base64') expect(shown.toString('base64')).toBe(output.body);
    else expect(isText(shown, false)).toBe(true);
    expect(shown.length).toBeLessThanOrEqual(KEPT);
    expect(output.bodyBytes).toBeGreaterThanOrEqual(shown.length);
    expect(output.bodyTruncated).toBe(shown.length < output.bodyBytes || output.bodyIncomplete !== undefined);

    for (const [name, sent] of Object.entries(response.headers)) {
      const bytes = Buffer.from(sent, 'latin1');
      const text = isText(bytes, false) ? bytes.toString('utf8') : sent;
      const recorded: string = output.headers[name];
      if (Buffer.byteLength(text) <= 1024) expect(recorded).toBe(text);
      else {
        expect(recorded.endsWith('…')).toBe(true);
        expect(text.startsWith(recorded.slice(0, -1))).toBe(true);
        expect(Buffer.byteLength(recorded)).toBeLessThanOrEqual(1024);
      }
    }

    const body = knownBody(response);
    if (body === undefined) {
      // A lying or cut coding: what could be read is recorded, and says why it stopped if it did.
      if (response.coding === 'cut-gzip') expect(response.content.subarray(0, shown.length)).toEqual(shown);
      if (output.bodyIncomplete !== undefined) expect(typeof output.bodyIncomplete).toBe('string');
      return;
    }
    expect(body.subarray(0, shown.length)).toEqual(shown);
    if (body.length <= READ_CAP) {
      expect(output.bodyIncomplete).toBeUndefined();
      expect(output.bodyBytes).toBe(body.length);
    } else {
      expect(output.bodyIncomplete).toMatch(/^not read past 1048576 bytes/);
      expect(output.bodyBytes).toBeGreaterThan(KEPT);
    }
    // Text exactly when the kept bytes are text (less a character the 4 KiB cut splits); base64 of exactly those bytes otherwise.
    const head = body.subarray(0, KEPT);
    const truncated = body.length > KEPT;
    expect(output.bodyEncoding).toBe(isText(head, truncated) ? 'utf8' : 'base64');
    if (output.bodyEncoding === 'base64') expect(shown.length).toBe(head.length);
    else expect(shown.length).toBeGreaterThanOrEqual(head.length - 3);
  }

  it('records every generated target response in the documented form, and the pipeline stays live', async () => {
    const seed = process.env.CHRONOS_FC_SEED ? Number(process.env.CHRONOS_FC_SEED) : undefined;
    await fc.assert(
      fc.asyncProperty(fc.array(targetResponseArbitrary, { minLength: 1, maxLength: 6 }), fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), async (responses, expected) => {
        // Several runs at once: the property sees them interleave in the worker, the log shipper and the read models.
        await Promise.all(
          responses.map(async (response, i) => {
            const path = `/target/${randomUUID()}`;
            answers.set(path, response);
            const expectStatus = expected[i] ? response.status : response.status === 200 ? 201 : 200;
            const execution = await runJob(user, 'http', { url: sink.url(path), expectStatus });
            expect(execution.status).toBe(expected[i] ? 'succeeded' : 'failed');
            if (!expected[i]) expect(execution.error).toBe(`unexpected status ${response.status}`);
            expectRecorded(response, execution);
          }),
        );
      }),
      { numRuns: Number(process.env.CHRONOS_FC_RUNS ?? 60), seed, endOnFailure: true },
    );
    await expectPipelineLive();
  }, 300_000);

  /** A fresh job runs and is listed; every read model has applied every event. */
  async function expectPipelineLive(): Promise<void> {
    const execution = await runJob(user, 'custom', { handler: 'echo', data: { alive: true } });
    expect(execution).toMatchObject({ status: 'succeeded', output: { alive: true } });
    const listed = await waitFor(async () => (await user.get('/api/v1/jobs?limit=100')).body.items.some((job: Json) => job.id === execution.jobId), 10_000, 'the fresh job listed');
    expect(listed).toBe(true);
    const projections = await waitFor(async () => {
      const body: Json[] = (await admin.get('/api/v1/admin/projections')).body;
      return body.every((p) => p.lagEvents === 0) && body;
    }, 15_000, 'every read model caught up');
    expect(projections.length).toBeGreaterThan(0);
  }

  it('stores and serves the log of a script whose stderr holds NUL and binary and that fails, and the logs after it', async () => {
    const script = "printf 'before\\n'; printf 'bad\\000line\\377\\376\\n' >&2; printf '\\000\\001\\002' >&2; exit 3";
    const failed = await runJob(admin, 'script', { command: '/bin/sh', args: ['-c', script] });
    expect(failed).toMatchObject({ status: 'failed', output: { exitCode: 3, stderrBytes: 14 } });
    expect(failed.error).toBe('exited with code 3: \uFFFD\u0001\u0002');
    const logs = await waitFor(async () => {
      const res = await admin.get(`/api/v1/executions/${failed.id}/logs?limit=100`);
      return res.status === 200 && res.body.items.some((e: Json) => e.message.startsWith('failed:')) && res.body.items;
    }, 15_000, 'the failed script\'s log');
    const stderr = logs.filter((e: Json) => e.metadata?.stream === 'stderr');
    expect(stderr.map((e: Json) => [e.message, Buffer.from(e.metadata.data, 'base64')])).toEqual([
      ['bad\uFFFDline\uFFFD\uFFFD', Buffer.from('bad\u0000line\u00ff\u00fe', 'latin1')],
      ['\uFFFD\u0001\u0002', Buffer.from([0, 1, 2])],
    ]);
    expect(logs.find((e: Json) => e.metadata?.stream === 'stdout')).toMatchObject({ message: 'before', metadata: { stream: 'stdout', line: 1 } });

    // Another user's run after it: its log lines are stored too.
    const later = await runJob(user, 'http', { url: sink.url('/after-script') });
    const laterLogs = await waitFor(async () => {
      const res = await user.get(`/api/v1/executions/${later.id}/logs?limit=100`);
      return res.body.items?.some((e: Json) => e.message.startsWith('succeeded')) && res.body.items;
    }, 15_000, 'the later run\'s log');
    expect(laterLogs[0].message).toMatch(/^attempt 1 started/);
    await expectPipelineLive();
  });

  it('records what an SMTP server answers, NUL and all, for an email job and for a notification', async () => {
    const email = await runJob(user, 'email', { to: 'someone@example.com', subject: 'hello', text: 'hi' });
    expect(email.status).toBe('failed');
    expect(email.error).toMatch(/^sending email failed \(SMTP 550\): .*550 no\uFFFDsuch .{1,6} user/);

    const created = await user.post('/api/v1/jobs', {
      name: 'notified',
      type: 'custom',
      payload: { handler: 'noop' },
      schedule: { kind: 'immediate' },
      notifications: { onSuccess: true, onFailure: false, email: 'ops@example.com' },
    });
    expect(created.status).toBe(201);
    const failed = await waitFor(async () => {
      const items: Json[] = (await user.get(`/api/v1/jobs/${created.body.id}/events?limit=100`)).body.items;
      return items.find((e) => e.type === 'NotificationFailed');
    }, 20_000, 'the notification recorded as failed');
    expect(failed.data.error).toMatch(/550 no\uFFFDsuch .{1,6} user/);
    await expectPipelineLive();
  });

  /** Resident memory of the Chronos process, and its peak since the last reset, in MiB (Linux /proc). */
  const memory = () => {
    const status = readFileSync(`/proc/${chronos.pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]);
    return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
  };

  it('keeps memory flat while a target answers a gzip bomb (300 MiB of "a" in ~300 KB)', async () => {
    const member = gzipSync(Buffer.alloc(1024 * 1024, 'a'));
    const bomb = Buffer.concat(Array.from({ length: 300 }, () => member));
    const path = `/bomb/${randomUUID()}`;
    // Sent as it is, declared gzip: the bomb is already gzip.
    answers.set(path, { status: 200, headers: {}, content: bomb, coding: 'unknown', codingHeader: 'gzip' });
    await runJob(user, 'http', { url: sink.url('/warm-up') });
    // Linux: writing 5 to clear_refs resets the peak (VmHWM) to the current resident size.
    writeFileSync(`/proc/${chronos.pid}/clear_refs`, '5');
    const before = memory();
    const executions: Json[] = [];
    for (let i = 0; i < 3; i++) executions.push(await runJob(user, 'http', { url: sink.url(path) }));
    const after = memory();
    // Reading the body whole took the process from 128 MiB to over 1 GiB; bounded reading adds little.
    expect(after.peak - before.rss).toBeLessThan(64);
    for (const execution of executions) {
      expect(execution).toMatchObject({
        status: 'succeeded',
        output: { body: 'a'.repeat(KEPT), bodyEncoding: 'utf8', bodyTruncated: true, bodyIncomplete: `not read past ${READ_CAP} bytes` },
      });
    }
  }, 120_000);
});
