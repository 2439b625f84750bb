import fc from 'fast-check';
import type { ChronosApp } from '../src/app.js';
import { startWithUser, type ApiClient, type Json } from './support/stack.js';

/**
 * The lists read pages from indexes and count once per state of the read model (src/projections/
 * read-model-counts.ts): attacked with arbitrary sorts, orders, filters and pages, every answer must be the
 * page of the jobs as GET /jobs/:id (folded from the log, another path) has them, ordered in JavaScript, and
 * the total right after every kind of change (create, pause, delete).
 */
const SORTS = { createdAt: 'createdAt', updatedAt: 'updatedAt', name: 'name', nextRunAt: 'nextRunAt' } as const;
type Sort = keyof typeof SORTS;

interface Job {
  id: string;
  name: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  nextRunAt: string | null;
}

/** The order the API promises: the field, nulls last, ties broken by id in the same direction. */
function ordered(jobs: Job[], sort: Sort, order: 'asc' | 'desc'): Job[] {
  const sign = order === 'asc' ? 1 : -1;
  const compare = (a: string | null, b: string | null) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : sign * (a < b ? -1 : 1));
  return [...jobs].sort((a, b) => compare(a[sort], b[sort]) || sign * (a.id < b.id ? -1 : 1));
}

describe('job and execution lists', () => {
  let chronos: ChronosApp;
  let client: ApiClient;
  const ids = new Set<string>();

  beforeAll(async () => {
    ({ chronos, client } = await startWithUser({ RATE_LIMIT_PER_HOUR: '0' }));
  });
  afterAll(() => chronos?.close());

  // Names from a small alphabet, so that sorting by name has ties; `at` a year away (none fires).
  const create = async (i: number) => {
    const name = ['a', 'b', 'ab', 'b'][i % 4]!;
    const runAt = new Date(Date.now() + 366 * 86_400_000 + i * 60_000).toISOString();
    const res = await client.post('/api/v1/jobs', { name, type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'at', runAt } });
    expect(res.status).toBe(201);
    ids.add(res.body.id);
    return res.body.id as string;
  };
  /** What the log says of every job, through GET /jobs/:id. */
  const truth = async (): Promise<Job[]> =>
    Promise.all([...ids].map(async (id) => (await client.get(`/api/v1/jobs/${id}`)).body as Job)).then((jobs) =>
      jobs.map(({ id, name, status, createdAt, updatedAt, nextRunAt }) => ({ id, name, status, createdAt, updatedAt, nextRunAt: nextRunAt ?? null })),
    );

  const pagesMatch = async () => {
    const jobs = await truth();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...(Object.keys(SORTS) as Sort[])),
        fc.constantFrom('asc' as const, 'desc' as const),
        fc.constantFrom(undefined, 'active', 'paused'),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 8 }),
        async (sort, order, status, limit, page) => {
          const res = await client.get(`/api/v1/jobs?sort=${sort}&order=${order}&limit=${limit}&page=${page}${status ? `&status=${status}` : ''}`);
          expect(res.status).toBe(200);
          const expected = ordered(status ? jobs.filter((job) => job.status === status) : jobs, sort, order);
          expect(res.body.total).toBe(expected.length);
          expect(res.body.totalPages).toBe(Math.ceil(expected.length / limit));
          expect(res.body.items.map((job: Json) => job.id)).toEqual(expected.slice((page - 1) * limit, page * limit).map((job) => job.id));
        },
      ),
      { numRuns: 40 },
    );
  };

  it('answers every sort, order, status and page as the log has the jobs, and the totals after each change', async () => {
    for (let i = 0; i < 16; i++) await create(i);
    await pagesMatch();
    // Each kind of change moves the read model: the counts must follow.
    const [first, second, third] = [...ids];
    expect((await client.post(`/api/v1/jobs/${first}/pause`)).status).toBe(200);
    expect((await client.post(`/api/v1/jobs/${second}/pause`)).status).toBe(200);
    await pagesMatch();
    expect((await client.request('DELETE', `/api/v1/jobs/${third}`)).status).toBe(204);
    ids.delete(third!);
    await create(16);
    await pagesMatch();
  });

  it('pages the executions of a job newest first, each once, with the right total as runs are added', async () => {
    const id = await create(17);
    const seen: string[] = [];
    for (let runs = 1; runs <= 7; runs++) {
      expect((await client.post(`/api/v1/jobs/${id}/trigger`)).status).toBe(202);
      const pages: Json[] = [];
      for (let page = 1; page <= Math.ceil(runs / 3); page++) pages.push((await client.get(`/api/v1/jobs/${id}/executions?limit=3&page=${page}`)).body);
      expect(pages.map((p) => p.total)).toEqual(pages.map(() => runs));
      const listed = pages.flatMap((p) => p.items);
      expect(new Set(listed.map((e: Json) => e.id)).size).toBe(runs);
      const queued = listed.map((e: Json) => e.queuedAt as string);
      expect(queued).toEqual([...queued].sort().reverse());
      seen.push(listed[0].id);
    }
    // The newest run heads the list each time.
    expect(new Set(seen).size).toBe(7);
  });
});
