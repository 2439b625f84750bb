import type { ChronosApp } from '../src/app.js';
import { ApiClient, sleep, startTestChronos, startWithUser, waitFor } from './support/stack.js';

/** Why each instant did or did not run, readable from the API. */
describe('history and scheduling policies over HTTP', () => {
  let chronos: ChronosApp;
  let client: ApiClient;

  beforeAll(async () => {
    ({ chronos, client } = await startWithUser());
  });
  afterAll(() => chronos?.close());

  const create = async (body: Record<string, unknown>) => {
    const res = await client.post('/api/v1/jobs', { name: 'h', type: 'custom', payload: { handler: 'noop' }, ...body });
    expect(res.status).toBe(201);
    return res.body;
  };
  const events = async (id: string) => (await client.get(`/api/v1/jobs/${id}/events?limit=100`)).body;

  it('lists the job events oldest first, with paging, and folds the job as of a time', async () => {
    const job = await create({ schedule: { kind: 'cron', expression: '0 0 1 1 *' } });
    await sleep(20);
    const between = new Date().toISOString();
    await sleep(20);
    await client.post(`/api/v1/jobs/${job.id}/pause`, { note: 'audit' });
    const history = await events(job.id);
    expect(history.items.map((e: { type: string }) => e.type)).toEqual(['JobCreated', 'JobPaused']);
    expect(history.items[1]).toMatchObject({ aggregateType: 'job', aggregateId: job.id, version: 1, actor: `user:${client.user.id}`, data: { note: 'audit' } });
    expect(history.items[0].sequence).toBeLessThan(history.items[1].sequence);
    expect((await client.get(`/api/v1/jobs/${job.id}/events?limit=1&page=2`)).body).toMatchObject({ total: 2, totalPages: 2, items: [{ type: 'JobPaused' }] });

    expect((await client.get(`/api/v1/jobs/${job.id}?asOf=${between}`)).body).toMatchObject({ status: 'active', version: 1 });
    expect((await client.get(`/api/v1/jobs/${job.id}`)).body).toMatchObject({ status: 'paused', version: 2 });
    expect((await client.get(`/api/v1/jobs/${job.id}?asOf=2000-01-01T00:00:00Z`)).body).toMatchObject({ status: 404, code: 'JOB_NOT_FOUND' });
    expect((await client.get(`/api/v1/jobs/${job.id}?asOf=yesterday`)).status).toBe(400);
  });

  it('records the instants that passed while paused as skipped, with the reason', async () => {
    const job = await create({ schedule: { kind: 'cron', expression: '* * * * * *' } });
    await waitFor(async () => (await events(job.id)).items.some((e: { type: string }) => e.type === 'JobFired'), 5000, 'a first fire');
    await client.post(`/api/v1/jobs/${job.id}/pause`, {});
    await sleep(2500);
    await client.post(`/api/v1/jobs/${job.id}/resume`, {});
    await client.post(`/api/v1/jobs/${job.id}/cancel`, {});
    const history = (await events(job.id)).items as { type: string; sequence: number; data: { scheduledAt?: string; reason?: string } }[];
    const skipped = history.filter((e) => e.type === 'ExecutionSkipped');
    expect(skipped.every((e) => e.data.reason === 'paused')).toBe(true);
    // An instant already fired ahead of the pause (FIRE_AHEAD_MS) is cancelled with the same reason instead; one
    // fired ahead after the resume is cancelled by the cancel. Each cancellation is decided with its cause, in one message.
    const cancelled = history.filter((e) => e.type === 'ExecutionCancelled');
    const causeOf = (e: { sequence: number }) => history.find((other) => other.sequence === e.sequence && (other.type === 'JobPaused' || other.type === 'JobCancelled'))?.type;
    expect(cancelled.map((e) => [e.data.reason, causeOf(e)]).filter(([reason, cause]) => !((reason === 'paused' && cause === 'JobPaused') || (reason === 'cancelled' && cause === 'JobCancelled')))).toEqual([]);
    expect(skipped.length + cancelled.filter((e) => e.data.reason === 'paused').length).toBeGreaterThanOrEqual(2);
    // Every instant from the first to the last has exactly one outcome.
    const instants = history.filter((e) => e.data.scheduledAt && (e.type === 'JobFired' || e.type === 'ExecutionSkipped')).map((e) => Date.parse(e.data.scheduledAt!));
    expect(new Set(instants).size).toBe(instants.length);
    instants.forEach((at, i) => i > 0 && expect(at - instants[i - 1]!).toBe(1000));
    const rows = await waitFor(async () => {
      const items = (await client.get(`/api/v1/jobs/${job.id}/executions?status=skipped&limit=100`)).body.items;
      return items.length === skipped.length && items;
    }, 5000, 'skipped executions in the read model');
    expect(rows[0]).toMatchObject({ status: 'skipped', output: { reason: 'paused' }, error: 'the job was paused at this instant' });
  });

  it('forbid records an overlapping instant as skipped; replace cancels the running execution', async () => {
    const forbid = await create({ payload: { handler: 'sleep', data: { ms: 2500 } }, schedule: { kind: 'cron', expression: '* * * * * *' }, concurrencyPolicy: 'forbid' });
    await waitFor(async () => (await events(forbid.id)).items.some((e: { type: string; data: { reason?: string } }) => e.data.reason === 'overlap'), 8000, 'an overlap skip');
    await client.post(`/api/v1/jobs/${forbid.id}/cancel`, {});

    const replace = await create({ payload: { handler: 'sleep', data: { ms: 5000 } }, schedule: { kind: 'cron', expression: '* * * * * *' }, concurrencyPolicy: 'replace' });
    const cancelled = await waitFor(async () => {
      const items = (await client.get(`/api/v1/jobs/${replace.id}/executions?status=cancelled`)).body.items;
      return items.length > 0 && items[0];
    }, 8000, 'a replaced execution');
    expect(cancelled.error).toMatch(/replaced by the fire of/);
    await client.post(`/api/v1/jobs/${replace.id}/cancel`, {});
  });

  it('lists upcoming jobs soonest first', async () => {
    const soon = await create({ name: 'soon', schedule: { kind: 'at', runAt: new Date(Date.now() + 3_600_000).toISOString() } });
    await create({ name: 'later', schedule: { kind: 'at', runAt: new Date(Date.now() + 48 * 3_600_000).toISOString() } });
    const upcoming = await waitFor(async () => {
      const items = (await client.get('/api/v1/jobs/upcoming?withinHours=24')).body.items;
      return items.some((i: { id: string }) => i.id === soon.id) && items;
    });
    expect(upcoming.map((i: { name: string }) => i.name)).not.toContain('later');
    expect(upcoming.find((i: { id: string }) => i.id === soon.id)).toMatchObject({ name: 'soon', scheduleKind: 'at', nextRunAt: soon.nextRunAt });
    expect((await client.get('/api/v1/jobs/upcoming?withinHours=0')).status).toBe(400);
  });
});

describe('preview over HTTP', () => {
  let chronos: ChronosApp;
  let client: ApiClient;

  beforeAll(async () => {
    chronos = await startTestChronos({ CHRONOS_ROLES: 'api' });
    client = await new ApiClient(`http://127.0.0.1:${chronos.port}`).signUp();
  });
  afterAll(() => chronos?.close());

  it('dry-runs a schedule not yet saved, with a note on the instant a DST transition moves', async () => {
    // Sundays of March at 02:30 in Berlin: on the last one (2027-03-28) clocks jump from 02:00 to 03:00.
    const res = await client.post('/api/v1/jobs/preview', { schedule: { kind: 'cron', expression: '30 2 * 3 0', timezone: 'Europe/Berlin' }, count: 4 });
    expect(res.status).toBe(200);
    expect(res.body.items.map((i: { at: string }) => i.at)).toEqual([
      '2027-03-07T01:30:00.000Z',
      '2027-03-14T01:30:00.000Z',
      '2027-03-21T01:30:00.000Z',
      '2027-03-28T01:00:00.000Z', // 03:00 CEST, the first instant after the jump
    ]);
    expect(res.body.items.slice(0, 3).every((i: { note?: string }) => i.note === undefined)).toBe(true);
    expect(res.body.items[3].note).toMatch(/Europe\/Berlin skips 02:00–03:00 on 2027-03-28/);
  });

  it("previews a saved job's next instants, and validates", async () => {
    const job = (await client.post('/api/v1/jobs', { name: 'p', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'interval', everyMs: 60_000, startAt: '2030-01-01T00:00:00Z' } })).body;
    const preview = await client.get(`/api/v1/jobs/${job.id}/preview?count=3`);
    expect(preview.body.items.map((i: { at: string }) => i.at)).toEqual(['2030-01-01T00:00:00.000Z', '2030-01-01T00:01:00.000Z', '2030-01-01T00:02:00.000Z']);
    expect((await client.get(`/api/v1/jobs/${job.id}/preview?count=101`)).status).toBe(400);
    expect((await client.post('/api/v1/jobs/preview', { schedule: { kind: 'cron', expression: '0 0 30 2 *' } })).body).toMatchObject({ status: 422, code: 'INVALID_CRON' });
    expect((await client.post('/api/v1/jobs/preview', { schedule: { kind: 'cron', expression: '0 9 * * *', zone: 'UTC' } })).status).toBe(400);
  });
});
