import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startChronos, type ChronosApp } from '../src/app.js';
import { createLogger } from '../src/observability/logger.js';
import { MASK } from '../src/secrets/job-secrets.js';
import { RecordingClient, streamMessages, tableRows } from './support/leaks.js';
import { SseStream } from './support/sse.js';
import { resetStack, testConfig, waitFor, type Json } from './support/stack.js';

/**
 * Credentials written in a URL are secrets: an `http` job whose URL carries `user:password@` and
 * `?api_key=…`, and a notification webhook whose URL carries `?token=…`, against a local target that
 * echoes everything it got (the URL, and the `Authorization: Basic` header the client derives from the
 * userinfo). The runs must authenticate; then the password, the key, the token and every form derived from
 * them are grepped for in every API answer, SSE event, application log line, stream message and
 * PostgreSQL row: none may be there.
 */
describe('credentials in a job URL', () => {
  const USER = 'alice';
  const PASSWORD = 'Url-Passw0rd-in-the-URL!';
  const API_KEY = 'url-api-key-0123456789';
  const HOOK_TOKEN = 'webhook-url-token-9876';
  const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
  /** The secrets and what a client or a target derives from them. */
  const FORMS = [PASSWORD, encodeURIComponent(PASSWORD), `${USER}:${PASSWORD}`, BASIC, API_KEY, HOOK_TOKEN];
  const leaks = (text: string) => FORMS.filter((form) => text.includes(form));

  const logged: string[] = [];
  const logger = createLogger('trace', { write: (line: string) => void logged.push(line) });
  let chronos: ChronosApp | undefined;
  let echo: Server;
  let port = 0;
  /** What the target received: the path with its query, and the headers. */
  const received: { path: string; headers: IncomingHttpHeaders }[] = [];
  let client: RecordingClient;
  let stream: SseStream;
  let job: Json;

  beforeAll(async () => {
    await resetStack();
    echo = createServer((req, res) => {
      received.push({ path: req.url!, headers: req.headers });
      req.resume().on('end', () => {
        // Echoes everything, as a careless or hostile target would: the output of the run holds it all.
        res.writeHead(200, { 'content-type': 'application/json', 'x-echo-authorization': String(req.headers.authorization), 'x-echo-url': req.url! });
        res.end(JSON.stringify({ url: req.url, headers: req.headers, decoded: Buffer.from(String(req.headers.authorization).replace(/^Basic /, ''), 'base64').toString() }));
      });
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    port = (echo.address() as AddressInfo).port;
    chronos = await startChronos(testConfig(), logger);
    client = await new RecordingClient(`http://127.0.0.1:${chronos.port}`).signUp();
    stream = await SseStream.open(`http://127.0.0.1:${chronos.port}`, client.token!);
  });
  afterAll(async () => {
    stream?.close();
    await chronos?.close();
    await new Promise((resolve) => (echo ? echo.close(resolve) : resolve(undefined)));
  });

  const runs = async (jobId: string): Promise<Json[]> => (await client.get(`/api/v1/jobs/${jobId}/executions?limit=100`)).body.items;
  const settled = (jobId: string, count: number) =>
    waitFor(async () => {
      const items = await runs(jobId);
      const history = (await client.get(`/api/v1/jobs/${jobId}/events?limit=100`)).body.items as Json[];
      return items.length === count && items.every((r) => r.status === 'succeeded') && history.filter((e) => e.type === 'NotificationSent').length >= count;
    }, 30_000, `${count} runs of job ${jobId} and their notifications`);

  it('runs with the credentials of the URL: Basic authorization from the userinfo, the key in the query', async () => {
    const url = `http://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/echo?page=2&api_key=${API_KEY}`;
    const res = await client.post('/api/v1/jobs', {
      name: 'credentials in the URL',
      type: 'http',
      payload: { url },
      schedule: { kind: 'at', runAt: new Date(Date.now() + 3_600_000).toISOString() },
      notifications: { onFailure: true, onSuccess: true, webhookUrl: `http://127.0.0.1:${port}/notify?token=${HOOK_TOKEN}` },
    });
    expect(res.status).toBe(201);
    job = res.body;
    expect(job.payload.url).toBe(`http://${MASK}@127.0.0.1:${port}/echo?page=2&api_key=${MASK}`);
    expect(job.notifications.webhookUrl).toBe(`http://127.0.0.1:${port}/notify?token=${MASK}`);

    expect((await client.post(`/api/v1/jobs/${job.id}/trigger`)).status).toBe(202);
    await settled(job.id, 1);
    const run = received.find((r) => r.path.startsWith('/echo'))!;
    expect(run.headers.authorization).toBe(`Basic ${BASIC}`);
    expect(run.path).toBe(`/echo?page=2&api_key=${API_KEY}`);
    expect(received.find((r) => r.path.startsWith('/notify'))!.path).toBe(`/notify?token=${HOOK_TOKEN}`);
  });

  it('keeps the credentials when the job is sent back as it was read (PUT), and runs with them', async () => {
    const read = (await client.get(`/api/v1/jobs/${job.id}`)).body;
    const { name, type, payload, schedule, notifications } = read;
    const { webhookSigned: _signed, ...sendable } = notifications;
    const replaced = await client.request('PUT', `/api/v1/jobs/${job.id}`, { name, type, payload, schedule, notifications: sendable });
    expect(replaced.status).toBe(200);
    expect(replaced.body.payload.url).toBe(read.payload.url);
    expect((await client.post(`/api/v1/jobs/${job.id}/trigger`)).status).toBe(202);
    await settled(job.id, 2);
    const runs = received.filter((r) => r.path.startsWith('/echo'));
    expect(runs).toHaveLength(2);
    expect(runs[1]!.headers.authorization).toBe(`Basic ${BASIC}`);
    expect(runs[1]!.path).toBe(`/echo?page=2&api_key=${API_KEY}`);
  });

  it('shows them in no API answer: jobs, lists, history, executions and their output, logs, admin-free routes', async () => {
    const id = job.id;
    await client.get(`/api/v1/jobs/${id}`);
    await client.get(`/api/v1/jobs/${id}?asOf=${encodeURIComponent(new Date().toISOString())}`);
    await client.get('/api/v1/jobs?limit=100');
    await client.get(`/api/v1/jobs?q=${encodeURIComponent('credentials')}`);
    await client.get('/api/v1/jobs/upcoming?withinHours=2');
    await client.get(`/api/v1/jobs/${id}/events?limit=100`);
    await client.get(`/api/v1/jobs/${id}/logs?limit=100`);
    await client.get('/api/v1/dashboard/stats');
    for (const execution of await runs(id)) {
      await client.get(`/api/v1/executions/${execution.id}`);
      await client.get(`/api/v1/executions/${execution.id}/logs?limit=100`);
    }
    // The target's echo is in the output, with the credentials masked and the rest kept.
    const [latest] = await runs(id);
    expect(latest.output.headers['x-echo-url']).toBe(`/echo?page=2&api_key=${MASK}`);
    expect(JSON.parse(latest.output.body).headers.authorization).toBe(`Basic ${MASK}`);
    expect(client.answers.length).toBeGreaterThan(10);
    expect(client.answers.filter((a) => leaks(a.text).length > 0).map((a) => `${a.what}: ${leaks(a.text)}`)).toEqual([]);
  });

  it('sends them in no server-sent event (lifecycle CloudEvents, SSE)', async () => {
    await stream.waitFor((events) => events.filter((e) => e.event === 'chronos.notification.sent').length >= 2);
    expect(stream.events.some((e) => e.event === 'chronos.job.created' && e.data.data.spec.payload.url.includes(MASK))).toBe(true);
    expect(stream.events.filter((e) => leaks(JSON.stringify(e)).length > 0).map((e) => e.event)).toEqual([]);
  });

  it('writes them to no log line', () => {
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.filter((line) => leaks(line).length > 0)).toEqual([]);
  });

  it('keeps them in no stream message and no PostgreSQL row in plaintext (sealed in the log and the read model)', async () => {
    const messages = await streamMessages(chronos!.infra.nats.jsm);
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.filter((m) => leaks(m.text).length > 0).map((m) => `${m.stream}#${m.seq}: ${leaks(m.text)}`)).toEqual([]);
    const rows = await tableRows(chronos!.infra.dataSource);
    expect(rows.filter(({ row }) => leaks(row).length > 0).map(({ table, row }) => `${table}: ${row.slice(0, 300)}`)).toEqual([]);
    const [jobRow] = await chronos!.infra.dataSource.query(`SELECT state->'spec'->'payload'->>'url' AS url FROM jobs WHERE id = $1`, [job.id]);
    expect(jobRow.url).toMatch(new RegExp(`^http://sealed%3Av1%3A[\\w-]+@127\\.0\\.0\\.1:${port}/echo\\?page=2&api_key=sealed%3Av1%3A[\\w-]+$`));
  });

  it('lets admins read the history and replay lifecycle events without them', async () => {
    // The admin routes mask as the job routes do: an admin made for this check.
    await chronos!.infra.dataSource.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [client.user.id]);
    await client.signIn(client.user.email, 'Passw0rd!');
    const history = await client.get(`/api/v1/admin/events?aggregateId=${job.id}&limit=100`);
    expect(history.status).toBe(200);
    expect(history.body.items.length).toBeGreaterThan(0);
    expect((await client.post('/api/v1/admin/lifecycle/replay', { jobId: job.id })).status).toBe(202);
    await waitFor(async () => (await streamMessages(chronos!.infra.nats.jsm)).some((m) => m.text.includes('chronosreplay')), 15_000, 'the replay');
    expect(client.answers.filter((a) => leaks(a.text).length > 0).map((a) => a.what)).toEqual([]);
    expect((await streamMessages(chronos!.infra.nats.jsm)).filter((m) => leaks(m.text).length > 0).map((m) => m.stream)).toEqual([]);
  });
});
