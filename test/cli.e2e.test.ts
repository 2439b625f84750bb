import { createServer } from 'node:net';
import type { ChronosApp } from '../src/app.js';
import { runCli, RunningCli } from './support/cli.js';
import { HttpSink } from './support/http-sink.js';
import { ApiClient, resetStack, startTestChronos, waitFor } from './support/stack.js';

const ADMIN = { CHRONOS_EMAIL: 'ops@example.com', CHRONOS_PASSWORD: 'Adm1nPassword' };
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** The built CLI (`node dist/cli/main.js`) against a real Chronos: what an operator sees. */
describe('chronos CLI', () => {
  let chronos: ChronosApp;
  let sink: HttpSink;
  let url: string;
  let user: ApiClient;
  let asUser: Record<string, string>;
  let asAdmin: Record<string, string>;
  let fine: { id: string };
  let failing: { id: string };
  let failingCreatedAt: string;
  const tails: RunningCli[] = [];

  beforeAll(async () => {
    await resetStack();
    sink = await new HttpSink().start();
    sink.status = 500;
    chronos = await startTestChronos({ CHRONOS_ADMIN_EMAIL: ADMIN.CHRONOS_EMAIL, CHRONOS_ADMIN_PASSWORD: ADMIN.CHRONOS_PASSWORD });
    url = `http://127.0.0.1:${chronos.port}`;
    user = await new ApiClient(url).signUp();
    asUser = { CHRONOS_URL: url, CHRONOS_TOKEN: user.token! };
    asAdmin = { CHRONOS_URL: url, ...ADMIN };

    fine = (await user.post('/api/v1/jobs', { name: 'cli fine', type: 'custom', payload: { handler: 'echo', data: { hello: 'cli' } }, schedule: { kind: 'immediate' } })).body;
    failingCreatedAt = new Date().toISOString();
    failing = (
      await user.post('/api/v1/jobs', {
        name: 'cli fails',
        type: 'http',
        payload: { url: sink.url('/down') },
        schedule: { kind: 'immediate' },
        retryPolicy: { maxAttempts: 1, backoff: 'fixed', delayMs: 100, maxDelayMs: 100, jitter: false },
      })
    ).body;
    await waitFor(async () => (await user.get(`/api/v1/jobs/${failing.id}`)).body.status === 'failed' && (await user.get(`/api/v1/jobs/${fine.id}`)).body.status === 'completed', 15_000, 'both jobs done');
  });

  afterAll(async () => {
    await Promise.all(tails.map((tail) => tail.stop()));
    await chronos?.close();
    await sink?.stop();
  });

  it('jobs list: a table of the jobs, or their JSON, filtered by status', async () => {
    const table = await runCli(['jobs', 'list'], asUser);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^ID +NAME +TYPE +STATUS +NEXT RUN +LAST RUN$/);
    expect(lines.find((line) => line.startsWith(failing.id))).toMatch(/cli fails +http +failed +- +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ failed$/);
    expect(lines.find((line) => line.startsWith(fine.id))).toMatch(/cli fine +custom +completed +- +\S+ \S+ succeeded$/);
    expect(table.stdout).toContain('page 1 of 1 (2 jobs)');

    const json = await runCli(['jobs', 'list', '--status', 'failed', '--json'], asUser);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ items: [{ id: failing.id, status: 'failed' }], total: 1, page: 1 });
  });

  it('jobs show and executions show: why a job failed', async () => {
    const shown = await runCli(['jobs', 'show', failing.id], asUser);
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    expect(shown.stdout).toMatch(/^cli fails\n/);
    expect(shown.stdout).toMatch(/status +failed/);
    expect(shown.stdout).toMatch(/Recent executions, newest first:\nID .*ERROR\n\S+ +1 +schedule +failed .*unexpected status 500/);
    expect(shown.stdout).toMatch(/Last failure: execution \S+, attempt 1, failed at .*\n {2}error: unexpected status 500\n {2}log:\n {4}\S+Z {2}\w+ /);

    const executionId = (await user.get(`/api/v1/jobs/${failing.id}/executions`)).body.items[0].id as string;
    const execution = await runCli(['executions', 'show', executionId], asUser);
    expect(execution.code).toBe(0);
    expect(execution.stdout).toContain(`Execution ${executionId}\n  job        ${failing.id}\n  status     failed\n`);
    expect(execution.stdout).toMatch(/ {2}error {6}unexpected status 500\n/);
    expect(execution.stdout).toMatch(/\nLog:\n {2}\S+Z/);

    const missing = await runCli(['jobs', 'show', '00000000-0000-4000-8000-000000000000'], asUser);
    expect(missing).toEqual({ code: 1, stdout: '', stderr: expect.stringMatching(/^error JOB_NOT_FOUND: .+\n$/) });
  });

  it('events tail: one line per live event of a job created after it started', async () => {
    const tail = new RunningCli(['events', 'tail'], asUser);
    tails.push(tail);
    await tail.waitForLine('stderr', /^following lifecycle events at /);
    const job = (await user.post('/api/v1/jobs', { name: 'tailed', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'immediate' } })).body;
    const completed = await tail.waitForLine('stdout', /job\.completed/);
    expect(completed).toMatch(new RegExp(`^\\S+Z +job\\.completed +${job.id} "tailed"$`));
    const lines = tail.stdout.filter((line) => line.includes(job.id));
    expect(lines.map((line) => line.split(/ +/)[1])).toEqual(['job.created', 'execution.queued', 'execution.started', 'execution.succeeded', 'job.completed']);
    expect(lines[0]).toMatch(/job\.created +\S+ "tailed" {2}custom job/);
    expect(lines[3]).toMatch(new RegExp(`execution\\.succeeded +${job.id} "tailed" {2}execution ${UUID.source}, took \\d+ ms$`));
    await tail.stop();
  });

  it('events tail --since: the failure from the history, filtered by job and type', async () => {
    const tail = new RunningCli(['events', 'tail', '--since', failingCreatedAt, '--job', failing.id, '--type', 'execution.failed,job.failed'], asUser);
    tails.push(tail);
    const failed = await tail.waitForLine('stdout', /execution\.failed/);
    expect(failed).toMatch(new RegExp(`execution\\.failed +${failing.id} "cli fails" {2}execution ${UUID.source}, took \\d+ ms, error: unexpected status 500$`));
    await tail.waitForLine('stdout', /job\.failed/);
    await tail.stop();
    expect(tail.stdout).toHaveLength(2);
  });

  it('projections list and lifecycle replay for an admin who logs in with email and password', async () => {
    const projections = await runCli(['projections', 'list'], asAdmin);
    expect(projections).toMatchObject({ code: 0, stderr: '' });
    expect(projections.stdout).toMatch(/^NAME +STATUS +POSITION +LAG +PROGRESS +LAST REBUILD\n/);
    expect(projections.stdout).toMatch(/\njobs +live +\d+ +\d+ +- +-\n/);
    expect(projections.stdout).toMatch(/\nexecutions +live /);

    const replay = await runCli(['lifecycle', 'replay', '--job', failing.id], asAdmin);
    expect(replay).toMatchObject({ code: 0, stderr: '' });
    expect(replay.stdout).toMatch(new RegExp(`^replay ${UUID.source} started\n$`));
    const json = await runCli(['lifecycle', 'replay', '--since', failingCreatedAt, '--json'], asAdmin);
    expect(JSON.parse(json.stdout)).toEqual({ replayId: expect.stringMatching(UUID) });

    expect(await runCli(['projections', 'list'], asUser)).toEqual({ code: 1, stdout: '', stderr: 'error ADMIN_ONLY: this route is for admins\n' });
  });

  it('projections rebuild: rebuilds a read model on the real server, then exits 0; an unknown one is exit 1', async () => {
    const before = (await user.get('/api/v1/jobs')).body;
    const rebuilt = await runCli(['projections', 'rebuild', 'jobs'], asAdmin);
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.stdout).toMatch(new RegExp(`^rebuilt jobs in .+ \\(rebuild ${UUID.source}\\)\n$`));
    // Not a terminal: plain progress lines on stderr.
    expect(rebuilt.stderr).toContain('jobs');
    expect((await user.get('/api/v1/jobs')).body).toEqual(before);

    const listed = await runCli(['projections', 'list'], asAdmin);
    expect(listed.stdout).toMatch(/\njobs +live +\d+ +\d+ +- +succeeded/);

    expect(await runCli(['projections', 'rebuild', 'nope'], asAdmin)).toMatchObject({ code: 1, stderr: expect.stringContaining('error PROJECTION_NOT_FOUND') });
  });

  it('fails with one line: the problem code for a bad token or wrong password, a clear message when Chronos is unreachable', async () => {
    expect(await runCli(['jobs', 'list', '--token', 'not-a-token'], { CHRONOS_URL: url })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error UNAUTHENTICATED: a valid bearer access token is required\n',
    });
    expect(await runCli(['jobs', 'list'], { ...asAdmin, CHRONOS_PASSWORD: 'wrong' })).toEqual({ code: 1, stdout: '', stderr: 'error INVALID_CREDENTIALS: email or password is wrong\n' });

    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    expect(await runCli(['jobs', 'list', '--url', `http://127.0.0.1:${closedPort}`], { CHRONOS_TOKEN: 'x' })).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: cannot reach Chronos at http://127.0.0.1:${closedPort} (connection refused)\n`,
    });
  });

  it('exits 2 with usage for an unknown command, a missing argument or a bad option', async () => {
    const unknown = await runCli(['jobz', 'list'], asUser);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^error: unknown command "jobz list"\n\nUsage: chronos <command> \[options\]\n\nCommands:\n {2}jobs list /);

    const missing = await runCli(['jobs', 'show'], asUser);
    expect(missing).toEqual({ code: 2, stdout: '', stderr: 'error: missing <job-id>\n\nUsage: chronos jobs show <job-id> [--json]\nRun "chronos jobs show --help" for details.\n' });
    expect((await runCli(['jobs', 'list', '--limit', 'lots'], asUser)).stderr).toMatch(/^error: --limit must be an integer ≥ 1, got "lots"/);
    expect((await runCli(['events', 'tail', '--type', 'job.exploded'], asUser)).code).toBe(2);

    const help = await runCli(['--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('projections rebuild <name>');
    expect((await runCli(['events', 'tail', '--help'])).stdout).toMatch(/^Usage: chronos events tail \[--job ID\]/);
  });
});
