import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCli } from './support/cli.js';

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * A stand-in for Chronos answering only the two routes of the projection-rebuild contract
 * (POST /admin/projections/:name/rebuild, GET /admin/projections), whose server side is built elsewhere: the
 * CLI's side of the contract is tested here, the real server in the integration tests.
 */
class FakeRebuildApi {
  readonly requests: { method: string; path: string; authorization?: string }[] = [];
  private server: Server | undefined;
  private polls = 0;
  url = '';

  constructor(
    private readonly rebuild: (name: string) => Answer,
    /** The answer to the n-th GET /admin/projections (the last one repeats). */
    private readonly projections: Answer[],
  ) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.requests.push({ method: req.method!, path: req.url!, authorization: req.headers.authorization });
      const rebuild = /^\/api\/v1\/admin\/projections\/([^/]+)\/rebuild$/.exec(req.url!);
      const answer: Answer =
        req.method === 'POST' && rebuild
          ? this.rebuild(decodeURIComponent(rebuild[1]!))
          : req.method === 'GET' && req.url === '/api/v1/admin/projections'
            ? this.projections[Math.min(this.polls++, this.projections.length - 1)]!
            : problem(404, 'ROUTE_NOT_FOUND', `no route ${req.method} ${req.url}`);
      const type = answer.status >= 400 ? 'application/problem+json' : 'application/json';
      res.writeHead(answer.status, { 'content-type': type, ...answer.headers }).end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server!.close(() => resolve()));
  }
}

const problem = (status: number, code: string, detail: string): Answer => ({ status, body: { type: 'about:blank', title: 'Error', status, detail, instance: '/', code } });

const STARTED_AT = '2026-11-22T09:00:00.000Z';
const progress = (rebuildId: string, position: number, target: number, eventsPerSecond: number, etaSeconds: number | null) => ({
  rebuildId,
  position,
  target,
  percent: (100 * position) / target,
  eventsPerSecond,
  etaSeconds,
  startedAt: STARTED_AT,
});
const rebuilding = (name: string, p: ReturnType<typeof progress>): Answer => ({
  status: 200,
  body: [{ name, position: 10, lagEvents: 0, status: 'rebuilding', progress: p }, { name: 'timers', position: 10, lagEvents: 0, status: 'live' }],
});
const live = (name: string, lastRebuild: Record<string, unknown>): Answer => ({
  status: 200,
  body: [{ name, position: 1200, lagEvents: 0, status: 'live', lastRebuild: { startedAt: STARTED_AT, ...lastRebuild } }],
});
const accepted = (name: string, rebuildId: string): Answer => ({ status: 202, body: { name, status: 'rebuilding', progress: progress(rebuildId, 0, 1000, 0, null) } });

describe('chronos projections rebuild (against the contract)', () => {
  let api: FakeRebuildApi | undefined;
  afterEach(() => api?.stop());
  const rebuildCli = (name: string) => runCli(['projections', 'rebuild', name, '--url', api!.url], { CHRONOS_TOKEN: 'test-token' });

  it('starts the rebuild, shows its progress while it runs, and exits 0 once its read model is live with this rebuild succeeded', async () => {
    api = await new FakeRebuildApi(
      (name) => accepted(name, 'r1'),
      [
        { ...problem(429, 'RATE_LIMITED', 'too many requests'), headers: { 'retry-after': '1' } },
        rebuilding('jobs', progress('r1', 500, 1000, 250, 2)),
        rebuilding('jobs', progress('r1', 1100, 1200, 300, null)),
        live('jobs', { rebuildId: 'r1', status: 'succeeded', finishedAt: '2026-11-22T09:01:05.000Z' }),
      ],
    ).start();
    const result = await rebuildCli('jobs');
    expect(result).toMatchObject({ code: 0, stdout: 'rebuilt jobs in 1m 05s (rebuild r1)\n' });
    // Not a TTY: plain lines, the first at once, then one every few seconds.
    expect(result.stderr).toContain('jobs: 0.0% (0/1,000 events, 0 events/s, ETA unknown)\n');
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /api/v1/admin/projections/jobs/rebuild',
      ...Array(4).fill('GET /api/v1/admin/projections'),
    ]);
    expect(new Set(api.requests.map((r) => r.authorization))).toEqual(new Set(['Bearer test-token']));
  });

  it("exits 1 with the server's reason when the rebuild fails, not mistaking an older rebuild's outcome for its own", async () => {
    api = await new FakeRebuildApi(
      (name) => accepted(name, 'r2'),
      [
        live('executions', { rebuildId: 'r-older', status: 'succeeded', finishedAt: STARTED_AT }),
        rebuilding('executions', progress('r2', 10, 1000, 100, 9.9)),
        live('executions', { rebuildId: 'r2', status: 'failed', finishedAt: STARTED_AT, error: 'relation "executions_rebuild" is full' }),
      ],
    ).start();
    const result = await rebuildCli('executions');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('error REBUILD_FAILED: the rebuild of executions failed: relation "executions_rebuild" is full\n');
  });

  it('exits 1 with the problem code for an unknown read model or a rebuild already running', async () => {
    api = await new FakeRebuildApi(
      (name) => (name === 'jobs' ? problem(409, 'REBUILD_IN_PROGRESS', 'jobs is being rebuilt already') : problem(404, 'PROJECTION_NOT_FOUND', `no read model named ${name}`)),
      [],
    ).start();
    expect(await rebuildCli('nope')).toEqual({ code: 1, stdout: '', stderr: 'error PROJECTION_NOT_FOUND: no read model named nope\n' });
    expect(await rebuildCli('jobs')).toEqual({ code: 1, stdout: '', stderr: 'error REBUILD_IN_PROGRESS: jobs is being rebuilt already\n' });
  });

  it('lists a rebuild in progress and how the last one ended', async () => {
    api = await new FakeRebuildApi(() => accepted('jobs', 'r3'), [
      {
        status: 200,
        body: [
          { name: 'jobs', position: 10, lagEvents: 5, status: 'rebuilding', progress: progress('r3', 500, 1000, 250, 2) },
          { name: 'timers', position: 15, lagEvents: 0, status: 'live', lastRebuild: { rebuildId: 'r0', status: 'failed', startedAt: STARTED_AT, finishedAt: STARTED_AT, error: 'boom' } },
        ],
      },
    ]).start();
    const result = await runCli(['projections', 'list', '--url', api.url], { CHRONOS_TOKEN: 'test-token' });
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'NAME    STATUS      POSITION  LAG  PROGRESS       LAST REBUILD',
      'jobs    rebuilding  10        5    50.0%, ETA 2s  -',
      'timers  live        15        0    -              failed 2026-11-22 09:00:00Z: boom',
      '',
    ]);
  });
});
