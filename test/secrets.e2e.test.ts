import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startChronos, type ChronosApp } from '../src/app.js';
import { EVENTS_STREAM } from '../src/events/streams.js';
import type { EventMessage } from '../src/events/stored-event.js';
import type { JobSpec } from '../src/domain/job/job-spec.js';
import { SIGNATURE_HEADER, verifyWebhook } from '../src/executors/webhook-signature.js';
import { deriveMasterKey, JobKeys } from '../src/secrets/job-keys.js';
import { MASK } from '../src/secrets/job-secrets.js';
import { isSealed, open, SEALED_PREFIX } from '../src/secrets/sealed.js';
import { SecretsService } from '../src/secrets/secrets.service.js';
import { createLogger } from '../src/observability/logger.js';
import { HttpSink } from './support/http-sink.js';
import { SmtpSink } from './support/smtp-sink.js';
import { RecordingClient, streamMessages, tableRows } from './support/leaks.js';
import { resetStack, testConfig, waitFor, type Json } from './support/stack.js';

/**
 * Job secrets end to end (crypto-shredding, src/secrets): an `http` job with an Authorization header and a
 * signed notification webhook, and SMTP_URL with credentials. The target echoes the Authorization header back
 * (response header and body: the run's output). The run must get the real values; nothing
 * else may ever show them: API responses, log entries, the event log and every other stream (sealed only),
 * PostgreSQL. Deleting the job destroys its key: the sealed values left in the event log never open again.
 *
 * NEEDS THE WIRING of src/secrets (until then this test fails: secrets are stored and shown in plaintext):
 * - AppModule provides SecretsService (every role) and the data source runs migration JobKeys1764100000000;
 * - JobsController seals on POST/PUT/PATCH (sealForStorage, keepMasked for the placeholder), masks events
 *   (maskEvents), calls forgetJob after DELETE; toJobDto masks the spec (maskForResponse);
 * - WorkerService opens the spec for the run (openForRun; null → not retryable "the job's secrets were
 *   destroyed") and masks what the run logs and reports; NotifierService opens the spec for the webhook
 *   secret and masks its errors (SMTP credentials).
 */
describe('secrets', () => {
  const TOKEN = 'SUPER-SECRET-123';
  const AUTHORIZATION = `Bearer ${TOKEN}`;
  const WEBHOOK_SECRET = 'another-secret-value-456';
  const SMTP_USER = 'chronos-mailer';
  const SMTP_PASSWORD = 'smtp-password-789';
  const SIGN_UP_PASSWORD = 'Sign-up-Passw0rd-321';
  /** What must never appear outside a run (the SMTP user name is not secret in itself, but is part of the credentials). */
  const PLAINTEXT = [TOKEN, WEBHOOK_SECRET, SMTP_PASSWORD, encodeURIComponent(SMTP_PASSWORD)];
  const env = {
    SMTP_URL: '',
    NOTIFY_MAX_DELIVERIES: '2',
    NOTIFY_BACKOFF_MS: '100',
    NOTIFY_MAX_BACKOFF_MS: '200',
    NOTIFY_TIMEOUT_MS: '3000',
  };

  /** Every line the application log writes, at every level: Chronos's own logger, into a list instead of stdout. */
  const logged: string[] = [];
  const logger = createLogger('trace', { write: (line: string) => void logged.push(line) });

  let chronos: ChronosApp | undefined;
  let sink: HttpSink;
  let echo: Server;
  /** Headers of the requests the echoing target received. */
  const targetRequests: IncomingHttpHeaders[] = [];
  let targetUrl = '';
  let smtp: SmtpSink;
  let client: RecordingClient;
  let job: Json;

  beforeAll(async () => {
    await resetStack();
    sink = await new HttpSink().start();
    // The target echoes the credential it got: the run's output then holds it, and must be masked wherever it goes.
    echo = createServer((req, res) => {
      targetRequests.push(req.headers);
      req.resume().on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-echo-authorization': String(req.headers.authorization) });
        res.end(JSON.stringify({ youSent: req.headers.authorization }));
      });
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    targetUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}/target`;
    smtp = await new SmtpSink().start();
    env.SMTP_URL = `smtp://${SMTP_USER}:${encodeURIComponent(SMTP_PASSWORD)}@127.0.0.1:${smtp.port}`;
    chronos = await startChronos(testConfig(env), logger);
    client = await new RecordingClient(`http://127.0.0.1:${chronos.port}`).signUp(undefined, SIGN_UP_PASSWORD);
  });
  afterAll(async () => {
    await chronos?.close();
    await sink?.stop();
    await smtp?.stop();
    await new Promise((resolve) => (echo ? echo.close(resolve) : resolve(undefined)));
  });

  const query = <T = Json>(sql: string, params: unknown[] = []): Promise<T[]> => chronos!.infra.dataSource.query(sql, params);
  const history = async (jobId: string): Promise<Json[]> => (await client.get(`/api/v1/jobs/${jobId}/events?limit=100`)).body.items;
  const executions = async (jobId: string): Promise<Json[]> => (await client.get(`/api/v1/jobs/${jobId}/executions?limit=100`)).body.items;
  /** Waits until every execution of the job succeeded, `count` of them, and their notifications are recorded (both channels). */
  const settled = (jobId: string, count: number) =>
    waitFor(async () => {
      const runs = await executions(jobId);
      const events = await history(jobId);
      const notified = events.filter((e) => e.type === 'NotificationSent' || e.type === 'NotificationFailed').length;
      return runs.length === count && runs.every((r) => r.status === 'succeeded') && notified >= 2 * count;
    }, 30_000, `${count} settled runs of job ${jobId}`);

  /** The specs the event log holds for a job, as written (JobCreated, JobUpdated). */
  async function rawSpecs(jobId: string): Promise<JobSpec[]> {
    const specs: JobSpec[] = [];
    for (const { stream, body } of await streamMessages(chronos!.infra.nats.jsm)) {
      if (stream !== EVENTS_STREAM) continue;
      const message = JSON.parse(body) as EventMessage;
      if (message.aggregateId !== jobId) continue;
      for (const event of message.events) if (event.type === 'JobCreated' || event.type === 'JobUpdated') specs.push((event.data as { spec: JobSpec }).spec);
    }
    return specs;
  }

  const leaks = (text: string) => PLAINTEXT.filter((secret) => text.includes(secret));

  it('creates the job with its secrets masked in the answer', async () => {
    const res = await client.post('/api/v1/jobs', {
      name: 'secret-bearing job',
      type: 'http',
      payload: { url: targetUrl, method: 'POST', headers: { Authorization: AUTHORIZATION, 'X-Trace': 'visible' }, body: { hello: 'world' } },
      // Runs only when triggered.
      schedule: { kind: 'at', runAt: new Date(Date.now() + 3_600_000).toISOString() },
      notifications: { onFailure: true, onSuccess: true, webhookUrl: sink.url('/notify'), webhookSecret: WEBHOOK_SECRET },
    });
    expect(res.status).toBe(201);
    job = res.body;
    expect(job.payload.headers).toEqual({ Authorization: MASK, 'X-Trace': 'visible' });
    expect([undefined, MASK]).toContain(job.notifications.webhookSecret);
    expect(JSON.stringify(job)).not.toContain(SEALED_PREFIX);
    expect(leaks(JSON.stringify(job))).toEqual([]);
  });

  it('runs with the real secrets: the target gets the header, the notification webhook is signed with the real secret', async () => {
    expect((await client.post(`/api/v1/jobs/${job.id}/trigger`, {})).status).toBe(202);
    await waitFor(() => targetRequests.length >= 1, 15_000, 'the run');
    expect(targetRequests[0]!.authorization).toBe(AUTHORIZATION);
    const [hook] = await waitFor(() => sink.to('/notify').length >= 1 && sink.to('/notify'), 15_000, 'the notification webhook');
    const signature = hook!.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    expect(verifyWebhook(WEBHOOK_SECRET, hook!.body, signature, 300, Math.floor(Date.now() / 1000))).toMatchObject({ valid: true });
    await settled(job.id, 1);
  });

  it('keeps the stored secret when a client sends the masked placeholder back (PATCH), and refuses a placeholder with nothing behind it', async () => {
    const read = (await client.get(`/api/v1/jobs/${job.id}`)).body;
    expect(read.payload.headers.Authorization).toBe(MASK);
    const patched = await client.request('PATCH', `/api/v1/jobs/${job.id}`, { name: 'renamed', payload: read.payload });
    expect(patched.status).toBe(200);
    expect(patched.body.payload.headers.Authorization).toBe(MASK);

    const orphan = await client.request('PATCH', `/api/v1/jobs/${job.id}`, { payload: { ...read.payload, headers: { 'X-Api-Key': MASK } } });
    expect(orphan.status).toBe(422);
    expect(orphan.body.code).toBe('SECRET_MASKED');

    expect((await client.post(`/api/v1/jobs/${job.id}/trigger`, {})).status).toBe(202);
    await waitFor(() => targetRequests.length >= 2, 15_000, 'the second run');
    expect(targetRequests[1]!.authorization).toBe(AUTHORIZATION);
    await settled(job.id, 2);
  });

  it('shows no secret, plaintext or sealed, in any API answer', async () => {
    const id = job.id;
    await client.get(`/api/v1/jobs/${id}`);
    await client.get(`/api/v1/jobs/${id}?asOf=${encodeURIComponent(new Date().toISOString())}`);
    await client.get('/api/v1/jobs?limit=100');
    await client.get('/api/v1/jobs/upcoming?withinHours=2');
    await client.get(`/api/v1/jobs/${id}/events?limit=100`);
    await client.get(`/api/v1/jobs/${id}/logs?limit=100`);
    for (const execution of await executions(id)) {
      await client.get(`/api/v1/executions/${execution.id}`);
      await client.get(`/api/v1/executions/${execution.id}/logs?limit=100`);
    }
    await client.get('/api/v1/dead-letters');
    const events = (await client.get(`/api/v1/jobs/${id}/events?limit=100`)).body.items as Json[];
    const created = events.find((e) => e.type === 'JobCreated');
    expect(created.data.spec.payload.headers.Authorization).toBe(MASK);
    // The echoed credential in the run's output is masked, the rest of the output kept.
    const [run] = await executions(id);
    expect(run.output.status).toBe(200);
    expect(JSON.parse(run.output.body)).toEqual({ youSent: MASK });

    const leaking = client.answers.filter((a) => leaks(a.text).length > 0 || a.text.includes(SEALED_PREFIX)).map((a) => a.what);
    expect(leaking).toEqual([]);
  });

  it('writes no secret, access token or password to any log line', () => {
    expect(logged.length).toBeGreaterThan(0);
    const credentials = [client.token!, client.refreshToken!, SIGN_UP_PASSWORD];
    expect(logged.filter((line) => leaks(line).length > 0 || credentials.some((credential) => line.includes(credential)))).toEqual([]);
  });

  it('keeps the secrets only sealed in the event log, and in no stream in plaintext (lifecycle, logs, work, notify…)', async () => {
    const messages = await streamMessages(chronos!.infra.nats.jsm);
    expect(messages.filter((m) => leaks(m.text).length > 0).map((m) => `${m.stream}#${m.seq}`)).toEqual([]);
    const specs = await rawSpecs(job.id);
    expect(specs.length).toBeGreaterThanOrEqual(2); // JobCreated, JobUpdated (the PATCH)
    for (const spec of specs) {
      expect(isSealed((spec.payload.headers as Record<string, string>).Authorization)).toBe(true);
      expect(isSealed(spec.notifications.webhookSecret)).toBe(true);
      expect((spec.payload.headers as Record<string, string>)['X-Trace']).toBe('visible');
    }
  });

  it('keeps no secret in plaintext in PostgreSQL (every table)', async () => {
    const rows = await tableRows(chronos!.infra.dataSource);
    expect([...new Set(rows.map((r) => r.table))]).toEqual(expect.arrayContaining(['jobs', 'executions', 'job_keys']));
    expect(rows.filter(({ row }) => leaks(row).length > 0).map(({ table, row }) => `${table}: ${row.slice(0, 200)}`)).toEqual([]);
    // The read model holds the spec sealed, like the log.
    const [jobRow] = await query<{ state: string }>(`SELECT state::text AS state FROM jobs WHERE id = $1`, [job.id]);
    expect(jobRow!.state).toContain(SEALED_PREFIX);
  });

  it('destroys the key on delete: the sealed values left in the event log never open again', async () => {
    const config = testConfig(env);
    const masterKey = deriveMasterKey({ secretsKey: config.secrets.secretsKey, jwtSecret: config.auth.jwtSecret });
    const [spec] = await rawSpecs(job.id);
    const sealedAuthorization = (spec!.payload.headers as Record<string, string>).Authorization!;
    // Before: the key exists, and opens the value (the test derives the same master key as Chronos).
    const key = await new JobKeys(chronos!.infra.dataSource, masterKey).keyFor(job.id, { create: false });
    expect(key).not.toBeNull();
    expect(open(sealedAuthorization, key!, job.id)).toBe(AUTHORIZATION);

    expect((await client.request('DELETE', `/api/v1/jobs/${job.id}`)).status).toBe(204);
    await waitFor(async () => (await query(`SELECT 1 FROM job_keys WHERE job_id = $1`, [job.id])).length === 0, 10_000, 'the key row to go');
    expect((await client.get(`/api/v1/jobs/${job.id}`)).status).toBe(404);

    // After: no process can get the key back (fresh instances: no cache), so nothing opens the sealed values.
    expect(await new JobKeys(chronos!.infra.dataSource, masterKey).keyFor(job.id, { create: false })).toBeNull();
    expect(await new SecretsService(config, chronos!.infra.dataSource).openForRun(job.id, spec!)).toBeNull();
    // The log still holds them, sealed: deletion shreds the key, not the history.
    expect(isSealed(sealedAuthorization)).toBe(true);
    expect(sealedAuthorization).not.toContain(TOKEN);
  });
});
