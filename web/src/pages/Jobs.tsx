import { Link, useSearchParams } from 'react-router';
import { api, currentUser } from '../api/client';
import type { paths } from '../api/schema';
import { Pagination, ProblemMessage, StatusBadge, useLoad } from '../components/ui';
import { relative, scheduleInWords, when } from '../format';
import { useLiveReload } from '../live/lifecycle';

type ListQuery = NonNullable<paths['/api/v1/jobs']['get']['parameters']['query']>;
const STATUSES: NonNullable<ListQuery['status']>[] = ['active', 'paused', 'completed', 'failed', 'cancelled'];
const TYPES: NonNullable<ListQuery['type']>[] = ['http', 'webhook', 'script', 'email', 'custom'];
const SORTS: { value: NonNullable<ListQuery['sort']>; label: string }[] = [
  { value: 'createdAt', label: 'Created' },
  { value: 'nextRunAt', label: 'Next run' },
  { value: 'name', label: 'Name' },
  { value: 'updatedAt', label: 'Updated' },
];

const oneOf = <T extends string>(values: readonly T[], value: string | null): T | undefined => values.find((candidate) => candidate === value);

export function Jobs() {
  const [params, setParams] = useSearchParams();
  const query: ListQuery = {
    page: Number(params.get('page') ?? 1) || 1,
    limit: 20,
    status: oneOf(STATUSES, params.get('status')),
    type: oneOf(TYPES, params.get('type')),
    label: params.get('label') || undefined,
    q: params.get('q') || undefined,
    sort: oneOf(SORTS.map((s) => s.value), params.get('sort')) ?? 'createdAt',
    order: params.get('order') === 'asc' ? 'asc' : 'desc',
  };
  const jobs = useLoad(() => api.GET('/api/v1/jobs', { params: { query } }), [params.toString()]);
  useLiveReload(jobs.reload);
  const admin = currentUser()?.role === 'admin';

  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    if (key !== 'page') next.delete('page');
    setParams(next, { replace: true });
  };

  return (
    <section>
      <div className="heading">
        <h1>{admin ? 'All jobs' : 'Jobs'}</h1>
        <Link className="button primary" to="/jobs/new">
          New job
        </Link>
      </div>
      <form className="filters" role="search" aria-label="Filter jobs" onSubmit={(event) => event.preventDefault()}>
        <label>
          Search
          <input type="search" defaultValue={query.q ?? ''} placeholder="name or description" onChange={(event) => set('q', event.target.value)} />
        </label>
        <label>
          Status
          <select value={query.status ?? ''} onChange={(event) => set('status', event.target.value)}>
            <option value="">any</option>
            {STATUSES.map((status) => (
              <option key={status}>{status}</option>
            ))}
          </select>
        </label>
        <label>
          Type
          <select value={query.type ?? ''} onChange={(event) => set('type', event.target.value)}>
            <option value="">any</option>
            {TYPES.map((type) => (
              <option key={type}>{type}</option>
            ))}
          </select>
        </label>
        <label>
          Label
          <input defaultValue={query.label ?? ''} placeholder="team=billing" onChange={(event) => set('label', event.target.value)} />
        </label>
        <label>
          Sort by
          <select value={query.sort} onChange={(event) => set('sort', event.target.value)}>
            {SORTS.map((sort) => (
              <option key={sort.value} value={sort.value}>
                {sort.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Order
          <select value={query.order} onChange={(event) => set('order', event.target.value)}>
            <option value="desc">descending</option>
            <option value="asc">ascending</option>
          </select>
        </label>
      </form>
      <ProblemMessage problem={jobs.problem} />
      {jobs.data && (
        <>
          <table aria-label="Jobs">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Type</th>
                <th scope="col">Schedule</th>
                <th scope="col">Next run</th>
                <th scope="col">Last run</th>
                {admin && <th scope="col">Owner</th>}
              </tr>
            </thead>
            <tbody>
              {jobs.data.items.map((job) => (
                <tr key={job.id}>
                  <td>
                    <Link to={`/jobs/${job.id}`}>{job.name}</Link>
                  </td>
                  <td>
                    <StatusBadge status={job.status} />
                  </td>
                  <td>{job.type}</td>
                  <td>{scheduleInWords(job.schedule)}</td>
                  <td title={when(job.nextRunAt)}>{job.nextRunAt ? relative(job.nextRunAt) : '—'}</td>
                  <td>
                    {job.lastRunAt ? (
                      <>
                        <span title={when(job.lastRunAt)}>{relative(job.lastRunAt)}</span> <StatusBadge status={job.lastRunStatus} />
                      </>
                    ) : (
                      '—'
                    )}
                  </td>
                  {admin && <td className="mono">{job.ownerId.slice(0, 8)}</td>}
                </tr>
              ))}
            </tbody>
          </table>
          {jobs.data.items.length === 0 && <p className="muted">No jobs match.</p>}
          <p className="muted">{jobs.data.total} jobs</p>
          <Pagination label="Jobs" page={jobs.data.page} totalPages={jobs.data.totalPages} onPage={(page) => set('page', String(page))} />
        </>
      )}
    </section>
  );
}
