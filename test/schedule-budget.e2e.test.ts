import type { ChronosApp } from '../src/app.js';
import { ApiClient, startWithUser, type ApiResponse } from './support/stack.js';

/**
 * Schedule searches run on the event loop, so each has a budget: a cron whose matches all fall in DST gaps,
 * or that never matches, answers 422 INVALID_CRON at once, and the process keeps answering meanwhile.
 * Nothing here measures time: the test's own timeout is the only clock (a freeze lasted minutes).
 */
describe('schedule searches stay within their budget', () => {
  let chronos: ChronosApp;
  let client: ApiClient;

  beforeAll(async () => {
    ({ chronos, client } = await startWithUser());
  });
  afterAll(() => chronos?.close());

  /** Expressions with no real instant: every match falls in a DST gap (with a stepped hour, so gap times do not move), or none exists. */
  const impossible: [string, string][] = [
    ['30 2-2/1 * 3 0L', 'Europe/Berlin'],
    ['0,30 2-2/1 * 3 0L', 'Europe/Berlin'],
    [`${Array.from({ length: 60 }, (_, i) => i).join(',')} 2-2/1 * 3 0L`, 'Europe/Berlin'],
    ['15 2-2/1 * 10 0#1', 'Australia/Lord_Howe'],
    ['0 0 31 2 *', 'UTC'],
    ['0 0 30 2 *', 'America/New_York'],
    ['0 0 31 4,6,9,11 *', 'UTC'],
  ];
  /** Real but sparse: their searches walk years between instants. */
  const sparse: [string, string][] = [
    ['59 23 31 12 1#5', 'Pacific/Chatham'],
    ['0 0 * 2 1#5', 'Australia/Lord_Howe'],
    ['0 0 29 2 *', 'Europe/Berlin'],
  ];
  const pathological = [...impossible, ...sparse];

  const preview = (expression: string, timezone: string, count = 100) => client.post('/api/v1/jobs/preview', { schedule: { kind: 'cron', expression, timezone }, count });

  it.each(impossible)('%s in %s: 422 INVALID_CRON on POST /jobs/preview and POST /jobs', async (expression, timezone) => {
    const previewed = await preview(expression, timezone);
    expect([previewed.status, previewed.body.code]).toEqual([422, 'INVALID_CRON']);
    expect(previewed.body.errors).toEqual([expect.objectContaining({ field: 'schedule.expression' })]);
    const created = await client.post('/api/v1/jobs', { name: 'never', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'cron', expression, timezone } });
    expect([created.status, created.body.code]).toEqual([422, 'INVALID_CRON']);
  });

  it('sparse but real schedules still preview their instants', async () => {
    const fifthMonday = await preview('0 0 * 2 1#5', 'UTC', 3);
    expect(fifthMonday.status).toBe(200);
    expect(fifthMonday.body.items.map((item: { at: string }) => item.at)).toEqual(['2044-02-29T00:00:00.000Z', '2072-02-29T00:00:00.000Z', '2112-02-29T00:00:00.000Z']);
    const lastMinute = await preview('59 23 31 12 1#5', 'UTC', 100);
    expect(lastMinute.status).toBe(200);
    expect(lastMinute.body.items).toHaveLength(100);
  });

  it('many pathological previews at once: every one is answered, and /health/live sent among them answers', async () => {
    const base = client.base;
    const answers: Promise<ApiResponse | { status: number; live: true }>[] = [];
    for (let i = 0; i < 40; i++) {
      const [expression, timezone] = pathological[i % pathological.length]!;
      answers.push(preview(expression, timezone));
      if (i === 20) answers.push(fetch(`${base}/health/live`).then((res) => ({ status: res.status, live: true as const })));
      answers.push(client.post('/api/v1/jobs', { name: `p${i}`, type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'cron', expression, timezone } }));
    }
    const settled = await Promise.all(answers);
    const live = settled.find((answer) => 'live' in answer);
    expect(live?.status).toBe(200);
    for (const answer of settled) expect([200, 201, 422]).toContain(answer.status);
  });
});
